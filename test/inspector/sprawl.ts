/**
 * A generated machine of more than 50 states, for the statechart's tests: compound
 * states three deep, a parallel state of three regions (one with a compound state of
 * its own), shallow and deep history, final states, named and inline guards, delays,
 * and transitions that cross the hierarchy both ways. It does nothing when run: it is
 * there to be drawn.
 */
import { Schema } from "effect"
import { setup } from "xstate"
import { defineConfig, defineWorkflow } from "orrery"
import { shippedDomains } from "../../orrery.config.js"

type Config = Record<string, any>

/** `count` states `prefix0`…, each going on to the next on NEXT; the last one's NEXT is left to the caller. */
const chain = (prefix: string, count: number, extra: (index: number) => Config = () => ({})): Config =>
  Object.fromEntries(
    Array.from({ length: count }, (_, index) => {
      const own = extra(index)
      const on = { ...(index < count - 1 ? { NEXT: `${prefix}${index + 1}` } : {}), ...(own.on ?? {}) }
      return [`${prefix}${index}`, { ...own, on }]
    })
  )

const machine = setup({
  types: {} as { context: { n: number }; events: { type: string } },
  guards: { isReady: () => true, hasStock: () => true, isVip: () => false }
}).createMachine({
  id: "sprawl",
  context: { n: 0 },
  initial: "intake",
  states: {
    intake: {
      initial: "received0",
      states: {
        ...chain("received", 5, (index) => (index === 2 ? { on: { BACK: "received0" } } : {})),
        screening: {
          initial: "auto",
          states: {
            auto: { on: { FLAG: "manual", PASS: "#sprawl.intake.cleared" } },
            manual: { on: { PASS: { target: "#sprawl.intake.cleared", guard: ({ context }) => context.n > 2 }, FAIL: "#sprawl.rejected" } },
            hist: { type: "history", history: "shallow" }
          }
        },
        cleared: { type: "final" }
      },
      on: { CANCEL: "cancelled" },
      onDone: "review"
    },
    review: {
      type: "parallel",
      states: {
        legal: {
          initial: "drafting",
          states: {
            drafting: { on: { SUBMIT: "checking" } },
            checking: { on: { APPROVE: { target: "signed", guard: "isReady" }, REJECT: "drafting" } },
            signed: { type: "final" }
          }
        },
        finance: {
          initial: "quote",
          states: {
            quote: { on: { PRICE: "audit" } },
            audit: {
              initial: "sample",
              states: {
                sample: { on: { NEXT: "verify" } },
                verify: { on: { NEXT: "report", REDO: "sample" } },
                report: { type: "final" }
              },
              onDone: "settled"
            },
            settled: { type: "final" },
            hist: { type: "history", history: "deep" }
          }
        },
        ops: {
          initial: "plan",
          states: {
            plan: { on: { BOOK: { target: "booked", guard: "hasStock" } } },
            booked: { after: { 30000: "plan" }, on: { CONFIRM: "confirmed" } },
            confirmed: { type: "final" }
          }
        }
      },
      on: { ESCALATE: "escalated" },
      onDone: "fulfilment"
    },
    fulfilment: {
      initial: "packing",
      states: {
        packing: { initial: "pick0", states: { ...chain("pick", 4, (index) => (index === 3 ? { on: { NEXT: "#sprawl.fulfilment.shipping" } } : {})) } },
        shipping: {
          initial: "leg0",
          states: {
            ...chain("leg", 4, (index) => (index === 1 ? { after: { 120000: "#sprawl.escalated" } } : index === 3 ? { on: { NEXT: "#sprawl.fulfilment.delivered" } } : {})),
            hist: { type: "history", history: "deep" }
          },
          on: { LOST: { target: "#sprawl.escalated", guard: ({ context }) => context.n === 0 } }
        },
        returns: { initial: "ret0", states: chain("ret", 3, (index) => (index === 2 ? { on: { NEXT: "#sprawl.refunded" } } : {})) },
        delivered: { on: { RETURN: "returns" } },
        hist: { type: "history", history: "shallow" }
      },
      on: { PAUSE: "paused" }
    },
    paused: { on: { RESUME: "fulfilment.hist", RESUME_SHIPPING: "fulfilment.shipping.hist", AUDIT: "review.finance.hist" } },
    escalated: {
      initial: "triage",
      states: {
        triage: { on: { ASSIGN: { target: "assigned", guard: "isVip" }, QUEUE: "queued" } },
        queued: { after: { 3600000: "assigned" } },
        assigned: { on: { SOLVE: "#sprawl.fulfilment", GIVE_UP: "#sprawl.cancelled" } }
      }
    },
    refunded: { type: "final" },
    rejected: { type: "final" },
    cancelled: { type: "final" }
  }
})

const events = ["NEXT", "BACK", "FLAG", "PASS", "FAIL", "CANCEL", "SUBMIT", "APPROVE", "REJECT", "PRICE", "REDO", "BOOK", "CONFIRM", "ESCALATE", "LOST", "RETURN", "PAUSE", "RESUME", "RESUME_SHIPPING", "AUDIT", "ASSIGN", "QUEUE", "SOLVE", "GIVE_UP"]

export const sprawlWorkflow = defineWorkflow({
  type: "sprawl",
  version: 1,
  kind: "aggregate",
  machine,
  events: { input: Schema.Struct({}), accepts: Object.fromEntries(events.map((event) => [event, Schema.Struct({})])), emits: [] }
})

/** The shipped domains and the sprawl: what the statechart's browser tests serve. */
export default defineConfig({ workflows: [sprawlWorkflow], domains: shippedDomains() })

/**
 * A user's own workflow, as a project outside this repository's machines/ and sagas/
 * would write it (importing only "orrery", effect and xstate): a support ticket with
 * nested states (open → triage, or assigned → working ⇄ paused) and parallel regions
 * (review: code and docs, each pending → approved), for the inspector's suites.
 */
import { Schema } from "effect"
import { defineWorkflow } from "orrery"
import { assign, setup } from "xstate"

const none = Schema.Struct({})

export const ticketWorkflow = defineWorkflow({
  type: "ticket",
  version: 1,
  kind: "aggregate",
  machine: setup({
    types: {} as {
      context: { title: string; moves: number }
      input: { title?: string }
      events: { type: "ASSIGN" } | { type: "PAUSE" } | { type: "RESUME" } | { type: "SUBMIT" } | { type: "APPROVE_CODE" } | { type: "APPROVE_DOCS" } | { type: "CLOSE" }
    }
  }).createMachine({
    id: "ticket",
    initial: "open",
    context: ({ input }) => ({ title: input.title ?? "untitled", moves: 0 }),
    states: {
      open: {
        initial: "triage",
        states: {
          triage: { on: { ASSIGN: "assigned" } },
          assigned: {
            initial: "working",
            states: {
              working: { on: { PAUSE: "paused" } },
              paused: { on: { RESUME: "working" } }
            }
          }
        },
        on: { SUBMIT: { target: "review", actions: assign({ moves: ({ context }) => context.moves + 1 }) }, CLOSE: "closed" }
      },
      review: {
        type: "parallel",
        states: {
          code: { initial: "pending", states: { pending: { on: { APPROVE_CODE: "approved" } }, approved: { type: "final" } } },
          docs: { initial: "pending", states: { pending: { on: { APPROVE_DOCS: "approved" } }, approved: { type: "final" } } }
        },
        onDone: "closed"
      },
      closed: { type: "final" }
    }
  }),
  events: {
    input: Schema.Struct({ title: Schema.optional(Schema.String) }),
    accepts: { ASSIGN: none, PAUSE: none, RESUME: none, SUBMIT: none, APPROVE_CODE: none, APPROVE_DOCS: none, CLOSE: none },
    emits: []
  }
})

/** Where each fixture instance is driven to, by the events that take it there. */
export const ticketPaths = {
  triage: [],
  working: ["ASSIGN"],
  paused: ["ASSIGN", "PAUSE"],
  reviewing: ["ASSIGN", "SUBMIT"],
  codeApproved: ["SUBMIT", "APPROVE_CODE"],
  closed: ["SUBMIT", "APPROVE_CODE", "APPROVE_DOCS"]
} as const satisfies Record<string, ReadonlyArray<string>>

/** A second type of the project's, for finding an instance by id across types. */
export const reminderWorkflow = defineWorkflow({
  type: "reminder",
  version: 1,
  kind: "aggregate",
  machine: setup({ types: {} as { context: Record<string, never>; events: { type: "SEND" } } }).createMachine({
    id: "reminder",
    initial: "pending",
    context: {},
    states: { pending: { on: { SEND: "sent" } }, sent: { type: "final" } }
  }),
  events: { input: Schema.Struct({}), accepts: { SEND: none }, emits: [] }
})

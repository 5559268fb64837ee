/**
 * A user's own workflow in a project of its own: an invoice waits for payment;
 * paid, it sends a receipt; unpaid after 24 hours, it sends a reminder and is
 * overdue. It imports only "orrery", "effect" and "xstate", as any project does.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { activityLogic, defineActivity, defineEvent, defineWorkflow } from "orrery"

export interface NotifierShape {
  /** Sends one message per key (a retry with the same key sends nothing new). */
  readonly notify: (to: string, text: string, key: string) => Effect.Effect<{ readonly messageId: string }>
}

export class Notifier extends Context.Service<Notifier, NotifierShape>()("fresh-app/Notifier") {
  /** Keeps what it sent, by key: the test reads it back. */
  static readonly inMemory = () => {
    const sent = new Map<string, { to: string; text: string }>()
    const layer = Layer.succeed(Notifier, {
      notify: (to, text, key) =>
        Effect.sync(() => {
          if (!sent.has(key)) sent.set(key, { to, text })
          return { messageId: `m${[...sent.keys()].indexOf(key) + 1}` }
        })
    })
    return { layer, sent }
  }
}

export const InvoicePaid = defineEvent("invoice.paid", Schema.Struct({ invoiceId: Schema.String, amount: Schema.String }))
export const InvoiceOverdue = defineEvent("invoice.overdue", Schema.Struct({ invoiceId: Schema.String }))

interface Context_ {
  readonly invoiceId: string
  readonly customer: string
  readonly amount: string
  readonly paidWith: string | null
  readonly messageId: string | null
}

const machine = setup({
  types: {} as {
    context: Context_
    input: { invoiceId: string; customer: string; amount: string }
    events: { type: "PAY"; method: string }
    output: { invoiceId: string; paid: boolean; messageId: string | null }
  },
  actors: { notify: activityLogic<{ to: string; text: string }, { messageId: string }>() }
}).createMachine({
  id: "invoice",
  context: ({ input }) => ({ ...input, paidWith: null, messageId: null }),
  initial: "open",
  states: {
    open: {
      after: { 86_400_000: { target: "reminding", actions: emit(({ context }) => ({ type: "invoice.overdue", invoiceId: context.invoiceId })) } },
      on: {
        PAY: {
          target: "thanking",
          actions: [
            assign({ paidWith: ({ event }) => event.method }),
            emit(({ context }) => ({ type: "invoice.paid", invoiceId: context.invoiceId, amount: context.amount }))
          ]
        }
      }
    },
    thanking: {
      invoke: {
        id: "receipt",
        src: "notify",
        input: ({ context }) => ({ to: context.customer, text: `Thank you for paying ${context.amount}` }),
        onDone: { target: "paid", actions: assign({ messageId: ({ event }) => event.output.messageId }) }
      }
    },
    reminding: {
      invoke: {
        id: "reminder",
        src: "notify",
        input: ({ context }) => ({ to: context.customer, text: `Invoice ${context.invoiceId} is overdue` }),
        onDone: { target: "overdue", actions: assign({ messageId: ({ event }) => event.output.messageId }) }
      }
    },
    paid: { type: "final" },
    overdue: { type: "final" }
  },
  output: ({ context }) => ({ invoiceId: context.invoiceId, paid: context.paidWith !== null, messageId: context.messageId })
})

export const invoiceWorkflow = defineWorkflow({
  type: "invoice",
  version: 1,
  kind: "saga",
  machine,
  events: {
    input: Schema.Struct({ invoiceId: Schema.String, customer: Schema.String, amount: Schema.String }),
    accepts: { PAY: Schema.Struct({ method: Schema.String }) },
    emits: [InvoicePaid, InvoiceOverdue]
  },
  activities: {
    notify: defineActivity({
      run: (input: { to: string; text: string }, run) => Notifier.use((notifier) => notifier.notify(input.to, input.text, run.idempotencyKey))
    })
  }
})

export const workflows = [invoiceWorkflow] as const

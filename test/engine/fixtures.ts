/** Small workflows that exercise the engine: activities, timers, children, errors. */
import { Effect, Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "../../src/engine/index.js"
import { defineEvent } from "../../src/log/index.js"

const activity = activityLogic<any, any>()

export const Charged = defineEvent("test.charged", Schema.Struct({ amount: Schema.Number, chargeId: Schema.String }))
export const Shipped = defineEvent("test.shipped", Schema.Struct({ trackingId: Schema.String }))
export const Cancelled = defineEvent("test.cancelled", Schema.Struct({ reason: Schema.String }))

export class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String }) {}

/** `variant` makes the changed machines replay tests need: another charge event, or no delivery. */
export const makePaymentMachine = (paymentWindowMs = 60_000, variant: "as-recorded" | "charges-zero" | "never-delivers" = "as-recorded") => setup({
  types: {} as {
    context: { amount: number; chargeId?: string; trackingId?: string; reason?: string }
    input: { amount: number }
    events: { type: "CANCEL"; reason: string } | { type: "DELIVERED" }
    emitted:
      | { type: "test.charged"; amount: number; chargeId: string }
      | { type: "test.shipped"; trackingId: string }
      | { type: "test.cancelled"; reason: string }
  },
  actors: { charge: activity, ship: activity },
  delays: { paymentWindow: paymentWindowMs }
}).createMachine({
  id: "payment",
  initial: "charging",
  context: ({ input }) => ({ amount: input.amount }),
  output: ({ context }) => ({ trackingId: context.trackingId }),
  states: {
    charging: {
      invoke: {
        id: "charge",
        src: "charge",
        input: ({ context }: { context: { amount: number } }) => ({ amount: context.amount }),
        onDone: {
          target: "shipping",
          actions: [
            assign({ chargeId: ({ event }) => (event.output as { chargeId: string }).chargeId }),
            emit(({ context, event }) => ({
              type: "test.charged",
              amount: variant === "charges-zero" ? 0 : context.amount,
              chargeId: (event.output as { chargeId: string }).chargeId
            }))
          ]
        },
        onError: {
          target: "cancelled",
          actions: [
            assign({ reason: ({ event }) => (event.error as { reason?: string }).reason ?? "failed" }),
            emit(({ event }) => ({ type: "test.cancelled", reason: (event.error as { reason?: string }).reason ?? "failed" }))
          ]
        }
      },
      after: { paymentWindow: { target: "cancelled", actions: emit({ type: "test.cancelled", reason: "timeout" }) } },
      on: { CANCEL: { target: "cancelled", actions: emit(({ event }) => ({ type: "test.cancelled", reason: event.reason })) } }
    },
    shipping: {
      invoke: {
        id: "ship",
        src: "ship",
        input: ({ context }: { context: { chargeId?: string } }) => ({ chargeId: context.chargeId }),
        onDone: {
          target: "shipped",
          actions: [
            assign({ trackingId: ({ event }) => (event.output as { trackingId: string }).trackingId }),
            emit(({ event }) => ({ type: "test.shipped", trackingId: (event.output as { trackingId: string }).trackingId }))
          ]
        }
      }
    },
    shipped: { on: variant === "never-delivers" ? {} : { DELIVERED: "delivered" } },
    delivered: { type: "final" },
    cancelled: { type: "final" }
  }
})

/** A payment gateway that counts side effects by idempotency key. */
export class Gateway {
  readonly charges = new Map<string, number>()
  charge(key: string, amount: number) {
    this.charges.set(key, (this.charges.get(key) ?? 0) + 1)
    return { chargeId: `ch_${key.length}_${amount}` }
  }
}

export const paymentMachine = makePaymentMachine()

export const paymentWorkflow = (
  gateway: Gateway,
  options: { declineOver?: number; slowMs?: number; paymentWindowMs?: number; version?: number; snapshotEvery?: number } = {}
) =>
  defineWorkflow({
    type: "payment",
    version: options.version ?? 1,
    ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
    kind: "saga",
    machine: options.paymentWindowMs === undefined ? paymentMachine : makePaymentMachine(options.paymentWindowMs),
    events: {
      input: Schema.Struct({ amount: Schema.Number.check(Schema.isGreaterThan(0)) }),
      accepts: { CANCEL: Schema.Struct({ reason: Schema.String }), DELIVERED: Schema.Struct({}) },
      emits: [Charged, Shipped, Cancelled]
    },
    activities: {
      charge: defineActivity({
        run: (input: { amount: number }, run) =>
          Effect.gen(function*() {
            if (options.slowMs !== undefined) yield* Effect.sleep(`${options.slowMs} millis`)
            if (options.declineOver !== undefined && input.amount > options.declineOver) {
              return yield* new Declined({ reason: "insufficient funds" })
            }
            return gateway.charge(run.idempotencyKey, input.amount)
          }),
        error: Declined,
        nonRetryable: ["Declined"]
      }),
      ship: defineActivity({ run: (input: { chargeId: string }) => Effect.succeed({ trackingId: `trk-${input.chargeId}` }) })
    }
  })

/** A parent that runs a payment as a child saga and finishes with the child's output. */
export const Checkout = defineEvent("test.checkout_done", Schema.Struct({ trackingId: Schema.String }))

export const checkoutMachine = setup({
  types: {} as { context: { amount: number; trackingId?: string }; input: { amount: number } },
  actors: { payment: paymentMachine }
}).createMachine({
  id: "checkout",
  initial: "paying",
  context: ({ input }) => ({ amount: input.amount }),
  states: {
    paying: {
      invoke: {
        id: "pay",
        src: "payment",
        input: ({ context }: { context: { amount: number } }) => ({ amount: context.amount }),
        onDone: {
          target: "done",
          actions: [
            assign({ trackingId: ({ event }) => (event.output as { trackingId: string }).trackingId }),
            emit(({ event }) => ({ type: "test.checkout_done", trackingId: (event.output as { trackingId: string }).trackingId }))
          ]
        },
        onError: "failed"
      }
    },
    done: { type: "final" },
    failed: { type: "final" }
  }
})

export const checkoutWorkflow = defineWorkflow({
  type: "checkout",
  version: 1,
  kind: "saga",
  machine: checkoutMachine,
  events: { input: Schema.Struct({ amount: Schema.Number }), accepts: {}, emits: [Checkout] },
  activities: {}
})

/** An activity with no onError: its failure fails the instance, and `retry` runs it again. */
export class Outage extends Schema.TaggedError<Outage>()("Outage", { service: Schema.String }) {}

export const fragileWorkflow = (state: { failuresLeft: number; calls: number }) =>
  defineWorkflow({
    type: "fragile",
    version: 1,
    kind: "saga",
    machine: setup({ actors: { call: activityLogic<unknown, { ok: boolean }>() } }).createMachine({
      id: "fragile",
      initial: "calling",
      states: { calling: { invoke: { id: "call", src: "call", onDone: "done" } }, done: { type: "final" } }
    }),
    events: { input: Schema.Struct({}), accepts: {}, emits: [] },
    activities: {
      call: defineActivity({
        run: () =>
          Effect.suspend(() => {
            state.calls++
            if (state.failuresLeft > 0) {
              state.failuresLeft--
              return Effect.fail(new Outage({ service: "upstream" }))
            }
            return Effect.succeed({ ok: true })
          }),
        error: Outage,
        nonRetryable: ["Outage"]
      })
    }
  })

/** An aggregate that takes the same event again and again: concurrent senders race on its stream. */
export const Bumped = defineEvent("test.bumped", Schema.Struct({ by: Schema.String, count: Schema.Number }))

export const tallyWorkflow = defineWorkflow({
  type: "tally",
  version: 1,
  kind: "aggregate",
  machine: setup({
    types: {} as { context: { count: number }; events: { type: "BUMP"; by: string } | { type: "CLOSE" }; emitted: { type: "test.bumped"; by: string; count: number } }
  }).createMachine({
    id: "tally",
    initial: "open",
    context: { count: 0 },
    states: {
      open: {
        on: {
          BUMP: {
            actions: [
              assign({ count: ({ context }) => context.count + 1 }),
              emit(({ context, event }) => ({ type: "test.bumped" as const, by: event.by, count: context.count }))
            ]
          },
          CLOSE: "closed"
        }
      },
      closed: { type: "final" }
    }
  }),
  events: { input: Schema.Struct({}), accepts: { BUMP: Schema.Struct({ by: Schema.String }), CLOSE: Schema.Struct({}) }, emits: [Bumped] },
  activities: {}
})

/**
 * A small workflow for the HTTP suites, besides the engine's `payment`
 * fixture: its activity fails (with no onError, so the instance fails) while
 * `control.failing` is set, which is what `retry` needs (and takes
 * `control.delayMs`, for requests that must be in flight); and it carries
 * secret-named fields (`paymentToken`, `apiKey`) for the redaction tests.
 */
import { Effect, Schema } from "effect"
import { assign, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "../../src/engine/index.js"

export class Broken extends Schema.TaggedError<Broken>()("Broken", { reason: Schema.String }) {}

export const control = { failing: false, runs: 0, delayMs: 0 }

const machine = setup({
  types: {} as {
    context: { paymentToken: string; apiKey?: string; note?: string }
    input: { paymentToken: string }
    events: { type: "CONFIGURE"; apiKey: string; note?: string } | { type: "GO" }
  },
  actors: { work: activityLogic<{ paymentToken: string }, { ok: boolean }>() }
}).createMachine({
  id: "flaky",
  initial: "idle",
  context: ({ input }) => ({ paymentToken: input.paymentToken }),
  states: {
    idle: {
      on: {
        CONFIGURE: { actions: assign({ apiKey: ({ event }) => event.apiKey, note: ({ event }) => event.note }) },
        GO: "working"
      }
    },
    working: { invoke: { id: "work", src: "work", input: ({ context }) => ({ paymentToken: context.paymentToken }), onDone: "done" } },
    done: { type: "final" }
  }
})

export const flakyWorkflow = defineWorkflow({
  type: "flaky",
  version: 1,
  kind: "saga",
  machine,
  events: {
    input: Schema.Struct({ paymentToken: Schema.String }),
    accepts: {
      CONFIGURE: Schema.Struct({ apiKey: Schema.String.check(Schema.isMinLength(4)), note: Schema.optional(Schema.String) }),
      GO: Schema.Struct({})
    },
    emits: []
  },
  activities: {
    work: defineActivity({
      run: () =>
        Effect.suspend(() => {
          control.runs++
          const outcome = control.failing ? Effect.fail(new Broken({ reason: "switched off" })) : Effect.succeed({ ok: true })
          return control.delayMs > 0 ? Effect.delay(outcome, control.delayMs) : outcome
        }),
      error: Broken,
      nonRetryable: ["Broken"]
    })
  }
})

/**
 * Three activities in a row, each a few milliseconds of waiting (as a call to
 * another service would be): enough for several workers to overlap. It imports
 * only "orrery", "effect" and "xstate", as a user's project does.
 */
import { Effect, Schema } from "effect"
import { setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "orrery"

const call = defineActivity({ run: (input: { n: number }) => Effect.as(Effect.sleep("3 millis"), { n: input.n + 1 }) })

const machine = setup({
  types: {} as { context: { n: number }; input: { n: number } },
  actors: { first: activityLogic<{ n: number }, { n: number }>(), second: activityLogic<{ n: number }, { n: number }>(), third: activityLogic<{ n: number }, { n: number }>() }
}).createMachine({
  id: "spread",
  context: ({ input }) => ({ n: input.n }),
  initial: "first",
  states: {
    first: { invoke: { id: "first", src: "first", input: ({ context }) => context, onDone: "second" } },
    second: { invoke: { id: "second", src: "second", input: ({ context }) => context, onDone: "third" } },
    third: { invoke: { id: "third", src: "third", input: ({ context }) => context, onDone: "done" } },
    done: { type: "final" }
  }
})

export const spreadWorkflow = defineWorkflow({
  type: "spread",
  version: 1,
  kind: "saga",
  machine,
  events: { input: Schema.Struct({ n: Schema.Number }), accepts: {}, emits: [] },
  activities: { first: call, second: call, third: call }
})

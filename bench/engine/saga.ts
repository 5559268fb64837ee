/** The benchmark's saga: three activities in a row, each instant. */
import { Effect, Schema } from "effect"
import { assign, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "../../src/engine/index.js"

const instant = defineActivity({ run: (input: { n: number }) => Effect.succeed({ n: input.n + 1 }) })

export const threeStepMachine = setup({
  types: {} as { context: { n: number }; input: { n: number } },
  actors: { first: activityLogic<{ n: number }, { n: number }>(), second: activityLogic<{ n: number }, { n: number }>(), third: activityLogic<{ n: number }, { n: number }>() }
}).createMachine({
  id: "three",
  initial: "first",
  context: ({ input }) => ({ n: input.n }),
  states: {
    first: { invoke: { id: "first", src: "first", input: ({ context }) => ({ n: context.n }), onDone: { target: "second", actions: assign({ n: ({ event }) => event.output.n }) } } },
    second: { invoke: { id: "second", src: "second", input: ({ context }) => ({ n: context.n }), onDone: { target: "third", actions: assign({ n: ({ event }) => event.output.n }) } } },
    third: { invoke: { id: "third", src: "third", input: ({ context }) => ({ n: context.n }), onDone: { target: "done", actions: assign({ n: ({ event }) => event.output.n }) } } },
    done: { type: "final" }
  }
})

export const threeStepWorkflow = defineWorkflow({
  type: "three-step",
  version: 1,
  kind: "saga",
  machine: threeStepMachine,
  events: { input: Schema.Struct({ n: Schema.Number }), accepts: {}, emits: [] },
  activities: { first: instant, second: instant, third: instant },
  snapshotEvery: 1_000_000
})

/**
 * A small workflow made of the transitions that leave XState's snapshot object
 * as it was while still doing something: a targetless transition whose only
 * action is an `emit`, a state that re-enters itself (restarting its `after`
 * timer, as chapter-generation's `submitting` does), and an `after` timer that
 * re-arms itself. The shipped domains use some of these; this keeps them
 * covered whatever the domains do next.
 */
import { Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { defineWorkflow } from "../../../src/engine/index.js"
import { defineEvent } from "../../../src/log/index.js"

export const Pong = defineEvent("differential.pong", Schema.Struct({ n: Schema.Number }))
export const Tick = defineEvent("differential.tick", Schema.Struct({}))

const machine = setup({
  types: {} as { context: { n: number }; events: { type: "PING" } | { type: "TOUCH" } | { type: "GO" } | { type: "COUNT" } | { type: "STOP" } },
  delays: { tick: 5_000 }
}).createMachine({
  id: "edges",
  context: { n: 0 },
  initial: "idle",
  states: {
    idle: {
      on: {
        // Emits and stays: nothing in the snapshot changes.
        PING: { actions: emit(({ context }) => ({ type: "differential.pong", n: context.n })) },
        // Changes the context and stays.
        COUNT: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        GO: "waiting"
      }
    },
    waiting: {
      // Re-arms itself until STOP.
      after: { tick: { target: "waiting", reenter: true, actions: emit({ type: "differential.tick" }) } },
      on: {
        // Restarts the timer: exit and entry, nothing else.
        TOUCH: { target: "waiting", reenter: true },
        STOP: "done"
      }
    },
    done: { type: "final" }
  }
})

export const edgesWorkflow = defineWorkflow({
  type: "differential-edges",
  version: 1,
  kind: "aggregate",
  machine,
  events: {
    input: Schema.Struct({}),
    accepts: { PING: Schema.Struct({}), TOUCH: Schema.Struct({}), GO: Schema.Struct({}), COUNT: Schema.Struct({}), STOP: Schema.Struct({}) },
    emits: [Pong, Tick]
  },
  activities: {}
})

/** One activity that never answers, as a call to a service that hangs would. */
import { Effect, Schema } from "effect"
import { setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "orrery"

const hang = defineActivity({ run: (_input: {}) => Effect.never })

const machine = setup({ actors: { hang: activityLogic<{}, never>() } }).createMachine({
  id: "stuck",
  initial: "calling",
  states: {
    calling: { invoke: { id: "hang", src: "hang", input: {}, onDone: "done" } },
    done: { type: "final" }
  }
})

export const stuckWorkflow = defineWorkflow({
  type: "stuck",
  version: 1,
  kind: "saga",
  machine,
  events: { input: Schema.Struct({}), accepts: {}, emits: [] },
  activities: { hang }
})

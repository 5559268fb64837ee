/**
 * A user's workflow whose one activity fails while a gate file exists, for the inspector's
 * retry test: started shut, the instance fails; the test removes the file and retries it
 * from the page. The file's path is the instance's input, so parallel runs never share one.
 */
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import { activityLogic, defineActivity, defineWorkflow } from "orrery"
import { setup } from "xstate"

export class GateShut extends Schema.TaggedError<GateShut>()("GateShut", { file: Schema.String }) {}

export const gateWorkflow = defineWorkflow({
  type: "gate",
  version: 1,
  kind: "saga",
  machine: setup({
    types: {} as { context: { file: string }; input: { file: string } },
    actors: { pass: activityLogic<{ file: string }, { passed: boolean }>() }
  }).createMachine({
    id: "gate",
    initial: "passing",
    context: ({ input }) => ({ file: input.file }),
    states: {
      passing: { invoke: { id: "pass", src: "pass", input: ({ context }) => ({ file: context.file }), onDone: "passed" } },
      passed: { type: "final" }
    }
  }),
  events: { input: Schema.Struct({ file: Schema.String }), accepts: {}, emits: [] },
  activities: {
    pass: defineActivity({
      // Reading a file is idempotent: running it again after a retry changes nothing but the answer.
      run: (input: { file: string }) => (fs.existsSync(input.file) ? Effect.fail(new GateShut({ file: input.file })) : Effect.succeed({ passed: true })),
      error: GateShut,
      nonRetryable: ["GateShut"]
    })
  }
})

/**
 * A three-step saga whose activities call a fake outside service over HTTP,
 * handing it their idempotency keys: the crash and scale-out tests count
 * effects on the service's side.
 */
import { Effect, Schema } from "effect"
import { emit, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "../../../src/engine/index.js"
import { defineEvent } from "../../../src/log/index.js"

export const StepDone = defineEvent("relay.step_done", Schema.Struct({ step: Schema.String, receipt: Schema.String }))

export const relayMachine = setup({
  types: {} as { emitted: { type: "relay.step_done"; step: string; receipt: string } },
  actors: { reserve: activityLogic(), charge: activityLogic(), ship: activityLogic() }
}).createMachine({
  id: "relay",
  initial: "reserve",
  states: {
    reserve: {
      invoke: {
        id: "reserve",
        src: "reserve",
        onDone: {
          target: "charge",
          actions: emit(({ event }) => ({ type: "relay.step_done" as const, step: "reserve", receipt: (event.output as { receipt: string }).receipt }))
        }
      }
    },
    charge: {
      invoke: {
        id: "charge",
        src: "charge",
        onDone: {
          target: "ship",
          actions: emit(({ event }) => ({ type: "relay.step_done" as const, step: "charge", receipt: (event.output as { receipt: string }).receipt }))
        }
      }
    },
    ship: {
      invoke: {
        id: "ship",
        src: "ship",
        onDone: {
          target: "done",
          actions: emit(({ event }) => ({ type: "relay.step_done" as const, step: "ship", receipt: (event.output as { receipt: string }).receipt }))
        }
      }
    },
    done: { type: "final" }
  }
})

const callService = (serviceUrl: string) =>
  defineActivity({
    run: (_input: unknown, run) =>
      Effect.tryPromise(async () => {
        const response = await fetch(`${serviceUrl}/effects`, { method: "POST", headers: { "content-type": "application/json", "x-worker": process.env.WORKER_ID ?? "in-process" }, body: JSON.stringify({ key: run.idempotencyKey }) })
        if (!response.ok) throw new Error(`service answered ${response.status}`)
        return (await response.json()) as { receipt: string }
      }),
    timeout: "5 seconds"
  })

export const relayWorkflow = (serviceUrl: string) =>
  defineWorkflow({
    type: "relay",
    version: 1,
    kind: "saga",
    machine: relayMachine,
    events: { input: Schema.Struct({ n: Schema.Number }), accepts: {}, emits: [StepDone] },
    activities: { reserve: callService(serviceUrl), charge: callService(serviceUrl), ship: callService(serviceUrl) }
  })

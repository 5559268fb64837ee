/** Helpers for the domains' demos: start once (idempotently), wait for a state, send ignoring refusals. */
import { Effect, Schema } from "effect"
import { Engine, type InstanceView } from "orrery"

export class DemoTimeout extends Schema.TaggedError<DemoTimeout>()("DemoTimeout", {
  workflowType: Schema.String,
  instanceId: Schema.String,
  message: Schema.String
}) {}

/** Starts the instance unless a previous demo run did (the instance id doubles as the idempotency key). */
export const startOnce = (workflowType: string, instanceId: string, input: unknown) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const { instance } = yield* engine.start(workflowType, input, { id: instanceId, idempotencyKey: `demo:${workflowType}:${instanceId}`, actor: "demo" })
    return instance
  })

/** The instance as `engine.list` sees it (see `waitFor`). */
const find = (workflowType: string, instanceId: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    let cursor: string | undefined
    while (true) {
      const page = yield* engine.list({ type: workflowType, limit: 500, ...(cursor === undefined ? {} : { cursor }) })
      const found = page.items.find((item) => item.id === instanceId)
      if (found !== undefined || page.nextCursor === null) return found
      cursor = page.nextCursor
    }
  })

/**
 * Polls the instance until `done` holds or it is final; fails with DemoTimeout
 * after `timeoutMs`. Polls `engine.list`, not `engine.get`: a `get` racing an
 * input can leave a stale snapshot in the engine's cache, which then drops the
 * instance's next activity result
 * (test/domains/backoffice/ENGINE_BUG_stale-cache-drops-activity-result.md).
 */
export const waitFor = (workflowType: string, instanceId: string, done: (instance: InstanceView) => boolean, timeoutMs = 60_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const instance = yield* find(workflowType, instanceId)
      if (instance !== undefined && (done(instance) || instance.status !== "running")) return instance
      if (Date.now() > deadline) {
        return yield* new DemoTimeout({ workflowType, instanceId, message: `${workflowType} ${instanceId} is still in ${JSON.stringify(instance?.state)} after ${timeoutMs} ms` })
      }
      yield* Effect.sleep("50 millis")
    }
  })

export const inState = (state: string) => (instance: InstanceView) => instance.state === state

/**
 * Waiting for an instance, and saying why it is stuck when it never gets there.
 *
 * Polls `engine.list`, not `engine.get`: a `get` racing an input can leave an
 * older snapshot in the engine's cache and make it drop the next activity
 * result (test/domains/backoffice/ENGINE_BUG_stale-cache-drops-activity-result.md).
 */
import { Effect } from "effect"
import { Engine, type InstanceView } from "../../../src/engine/index.js"

const find = (type: string, id: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    let cursor: string | undefined
    while (true) {
      const page = yield* engine.list({ type, limit: 500, ...(cursor === undefined ? {} : { cursor }) })
      const found = page.items.find((item) => item.id === id)
      if (found !== undefined) return found
      if (page.nextCursor === null) return undefined
      cursor = page.nextCursor
    }
  })

export const waitInstance = (type: string, id: string, done: (instance: InstanceView) => boolean, timeoutMs: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const deadline = Date.now() + timeoutMs
    while (true) {
      const instance = yield* find(type, id)
      if (instance !== undefined && done(instance)) return instance
      if (Date.now() > deadline) {
        const pending = yield* engine.pending(type, id)
        const history = yield* engine.history(type, id)
        const tail = history.slice(-6).map((entry) => `${entry.streamVersion} ${entry.kind} ${entry.type} ${entry.time.toISOString()} ${JSON.stringify(entry.data).slice(0, 160)}`)
        return yield* Effect.die(new Error(
          `${type} ${id} still in ${JSON.stringify(instance?.state)} (${instance?.status}) after ${timeoutMs} ms at ${new Date().toISOString()}\n` +
            `pending: ${JSON.stringify(pending)}\nlast entries:\n${tail.join("\n")}`
        ))
      }
      yield* Effect.sleep("15 millis")
    }
  })

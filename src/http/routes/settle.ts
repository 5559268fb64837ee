/**
 * `?wait=settled`: after an event, wait until the instance has nothing in
 * flight — no activity, message or child start pending (timers do not count:
 * they may be hours away) — or it is final. Polls `engine.pending` with a
 * short backoff; the answer says whether it settled before the deadline.
 */
import { Effect } from "effect"
import { Engine } from "../../engine/index.js"
import { httpError } from "../errors.js"

export const parseTimeout = (text: string | undefined, maxMs: number): number => {
  if (text === undefined) return Math.min(5_000, maxMs)
  const match = /^(\d+)(ms|s)?$/.exec(text)
  const ms = match === null ? NaN : Number(match[1]) * (match[2] === "s" ? 1000 : 1)
  if (!Number.isFinite(ms) || ms > maxMs) {
    throw httpError(400, "ValidationError", `querystring timeout must be at most ${maxMs} ms`, { in: "querystring", field: "timeout", reason: `must be at most ${maxMs} ms` })
  }
  return ms
}

export const settle = (workflowType: string, instanceId: string, timeoutMs: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const deadline = Date.now() + timeoutMs
    let pause = 5
    while (true) {
      const tasks = yield* engine.pending(workflowType, instanceId)
      if (!tasks.some((task) => task.kind !== "timer")) break
      const current = yield* engine.get(workflowType, instanceId)
      if (current.status !== "running") return { settled: true, instance: current }
      if (Date.now() >= deadline) return { settled: false, instance: current }
      yield* Effect.sleep(Math.min(pause, Math.max(1, deadline - Date.now())))
      pause = Math.min(pause * 2, 50)
    }
    return { settled: true, instance: yield* engine.get(workflowType, instanceId) }
  })

/**
 * `GET /workflows/{type}/{id}/result`: a long poll that answers once the
 * instance is final, or with the instance as it is when the wait runs out.
 *
 * While it waits it follows the instance the way the event stream does: one
 * indexed lookup of the stream's version per tick (every few milliseconds at
 * first, then every `pollMs`), and reads the instance again only when its
 * stream moved. The engine offers no change notification the HTTP layer could
 * wait on, so this is the cheapest honest wait there is today.
 */
import { Clock, Effect } from "effect"
import { Engine, type InstanceView, streamOf } from "../../engine/index.js"
import { EventLog } from "../../log/index.js"

/** `30s`, `500ms`, `1200` (milliseconds); default and ceiling `maxMs`: a longer wait is cut to it, and the client asks again. */
export const waitTimeout = (text: string | undefined, maxMs: number): number => {
  if (text === undefined) return maxMs
  const match = /^(\d+)(ms|s)?$/.exec(text)
  const ms = match === null ? maxMs : Number(match[1]) * (match[2] === "s" ? 1000 : 1)
  return Math.min(ms, maxMs)
}

export interface Waited {
  /** False when the wait ran out (or was stopped) with the instance still running. */
  readonly final: boolean
  readonly instance: InstanceView
}

/** Resolves when `signal` aborts: the client went away, or the server is shutting down. */
const aborted = (signal: AbortSignal) =>
  Effect.callback<void>((resume) => {
    if (signal.aborted) return resume(Effect.void)
    signal.addEventListener("abort", () => resume(Effect.void), { once: true })
  })

/** Waits up to `timeoutMs` for the instance to be done, failed or cancelled. */
export const awaitFinal = (workflowType: string, instanceId: string, options: { readonly timeoutMs: number; readonly pollMs: number; readonly signal: AbortSignal }) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const log = yield* EventLog
    const stream = streamOf(workflowType, instanceId)
    const deadline = (yield* Clock.currentTimeMillis) + options.timeoutMs
    let instance = yield* engine.get(workflowType, instanceId)
    let pause = 5
    while (instance.status === "running") {
      const left = deadline - (yield* Clock.currentTimeMillis)
      if (left <= 0 || options.signal.aborted) return { final: false, instance } satisfies Waited
      yield* Effect.raceFirst(Effect.sleep(Math.min(pause, left)), aborted(options.signal))
      pause = Math.min(pause * 2, options.pollMs)
      if ((yield* log.streamVersion(stream)) !== instance.streamVersion) instance = yield* engine.get(workflowType, instanceId)
    }
    return { final: true, instance } satisfies Waited
  })

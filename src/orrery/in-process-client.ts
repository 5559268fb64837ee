/**
 * The client interface over an engine in this process: the same calls, types
 * and typed errors as the HTTP client, without a server in between. What
 * `createOrrery` and the test kit hand their callers.
 */
import { Effect } from "effect"
import type { CallOptions, InstancePage, OrreryClient, ResultOptions, StartedHandle, StartOptions, WorkflowHandle, WorkflowView } from "../client/types.js"
import { ResultTimeout, WorkflowCancelled, WorkflowFailed } from "../client/errors.js"
import { Engine } from "../engine/engine.js"
import type { HistoryEntry } from "../engine/views.js"
import { kindOf } from "../engine/records.js"
import type { RecordedEvent } from "../log/index.js"
import type { AnyWorkflow } from "../engine/workflow.js"
import { parseDuration } from "../kit/duration.js"

/** Runs an engine call; a typed failure rejects the promise with the error itself. */
export type EngineCall = <A, E>(effect: Effect.Effect<A, E, Engine>) => Promise<A>

const defaultResultTimeoutMs = 30_000

/** Milliseconds from `30000`, `"30s"`, `"5m"`; a bad value is the caller's mistake, said at once. */
export const timeoutMs = (timeout: ResultOptions["timeout"]): number => {
  if (timeout === undefined) return defaultResultTimeoutMs
  const ms = typeof timeout === "number" ? timeout : parseDuration(timeout)
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) throw new RangeError(`timeout must be milliseconds or a duration like "30s", got ${JSON.stringify(timeout)}`)
  return ms
}

/** A recorded input as `history()` lists it. */
const historyEntryOf = (event: RecordedEvent): HistoryEntry => ({
  eventId: event.eventId,
  position: event.position,
  streamVersion: event.streamVersion,
  kind: kindOf(event),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  time: event.recordedAt
})

const typeNameOf = (workflow: string | AnyWorkflow): string => (typeof workflow === "string" ? workflow : workflow.type)

/** The output of a final instance, or the typed error of one that did not end well; undefined while it runs. */
export const outcomeOf = (view: WorkflowView): { readonly output: unknown } | { readonly error: Error } | undefined => {
  switch (view.status) {
    case "done":
      return { output: view.output }
    case "failed":
      return { error: new WorkflowFailed({ workflowType: view.type, instanceId: view.id, failure: view.failure ?? null }) }
    case "cancelled": {
      const reason = (view.failure as { reason?: unknown } | undefined)?.reason
      return { error: new WorkflowCancelled({ workflowType: view.type, instanceId: view.id, reason: typeof reason === "string" ? reason : "cancelled" }) }
    }
    default:
      return undefined
  }
}

/**
 * A client whose calls go straight to the engine `call` runs them on.
 *
 * @example
 * ```ts
 * const client = makeInProcessClient((effect) => runtime.runPromise(effect))
 * const order = await client.start("order", { customerId: "c1", items })
 * ```
 */
export const makeInProcessClient = <W = AnyWorkflow>(call: EngineCall): OrreryClient<W> => {
  const engine = <A, E>(use: (engine: Engine["Service"]) => Effect.Effect<A, E>) => call(Engine.use(use))

  const handle = (type: string, id: string): WorkflowHandle<any> => ({
    type,
    id,
    send: (event, options: CallOptions = {}) => engine((e) => e.send(type, id, event, options)) as Promise<WorkflowView<any>>,
    get: () => engine((e) => e.get(type, id)) as Promise<WorkflowView<any>>,
    cancel: (reason = "cancelled by a client", options: CallOptions = {}) => engine((e) => e.cancel(type, id, reason, options)) as Promise<WorkflowView<any>>,
    retry: (options: CallOptions = {}) => engine((e) => e.retry(type, id, options)) as Promise<WorkflowView<any>>,
    verify: () => engine((e) => e.verify(type, id)) as Promise<WorkflowView<any>>,
    history: () => engine((e) => e.history(type, id)),
    pending: () => engine((e) => e.pending(type, id)),
    replay: async (options = {}) => {
      const replayed = await engine((e) => e.replay(type, id, options.version === undefined ? {} : { version: options.version }))
      return { ...replayed, steps: replayed.steps.map((step) => ({ ...step, input: historyEntryOf(step.input) })) }
    },
    result: async (options = {}) => {
      const limit = timeoutMs(options.timeout)
      const deadline = Date.now() + limit
      let pause = 5
      while (true) {
        const view = (await engine((e) => e.get(type, id))) as WorkflowView
        const outcome = outcomeOf(view)
        if (outcome !== undefined) {
          if ("error" in outcome) throw outcome.error
          return outcome.output
        }
        const left = deadline - Date.now()
        if (left <= 0) throw new ResultTimeout({ workflowType: type, instanceId: id, timeoutMs: limit })
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)))
        pause = Math.min(pause * 2, 100)
      }
    }
  })

  const client = {
    start: async (workflow: string | AnyWorkflow, input: unknown, options: StartOptions = {}) => {
      const type = typeNameOf(workflow)
      const { instance, created } = await engine((e) => e.start(type, input, options))
      return { ...handle(type, instance.id), created, instance } as StartedHandle<any>
    },
    handle: (workflow: string | AnyWorkflow, id: string) => handle(typeNameOf(workflow), id),
    list: (filter = {}) => engine((e) => e.list(filter)) as Promise<InstancePage>
  }
  return client as unknown as OrreryClient<W>
}

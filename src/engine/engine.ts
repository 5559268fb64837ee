/**
 * The public engine: start, send, get, list, history, cancel, retry, replay
 * and the counts behind metrics, as the `Engine` service. Every call that
 * changes an instance is one step through the stepper (load, plan, write with
 * the expected version, again on conflict); reads come from the instance
 * store and the log. `layer` builds this service and the `EngineRuntime` the
 * workers use, over one store and one stepper.
 */
import { Clock, Context, Effect, Layer, Result } from "effect"
import { EventLog, IntegrityError, InvalidCursor, InvalidEvent, timeOrderedId, type RecordedEvent } from "../log/index.js"
import { EventNotAccepted, InstanceFinal, InstanceNotFound, NothingToRetry, type InstanceExists, type WorkflowNotFound } from "./errors.js"
import { makeInstanceStore, type InstanceStore } from "./instance-store.js"
import { cancelPlan, finalStatuses, normalize, retryPlan } from "./plan.js"
import { WorkflowRegistry } from "./registry.js"
import { replaySteps } from "./replay.js"
import { EngineRuntime, makeRuntime } from "./runtime.js"
import { acceptedEvents } from "./step.js"
import { type EngineError, makeStepper, refuseCorrupted, type Stepper } from "./stepper.js"
import {
  type CallOptions,
  type HistoryEntry,
  type InstanceReplay,
  type InstanceView,
  type ListFilter,
  type PendingTask,
  type StartOptions,
  type StateCount,
  type TaskCount,
  type WorkerView,
  historyEntryOf,
  viewOf
} from "./views.js"
import { type WorkflowDefinition, isIdentifier, streamOf } from "./workflow.js"

export interface EngineShape {
  readonly start: (
    workflowType: string,
    input: unknown,
    options?: StartOptions
  ) => Effect.Effect<{ readonly instance: InstanceView; readonly created: boolean }, WorkflowNotFound | InvalidEvent | InstanceExists | EngineError>
  readonly send: (
    workflowType: string,
    instanceId: string,
    event: unknown,
    options?: CallOptions
  ) => Effect.Effect<InstanceView, WorkflowNotFound | InstanceNotFound | InstanceFinal | EventNotAccepted | InvalidEvent | EngineError>
  readonly get: (workflowType: string, instanceId: string) => Effect.Effect<InstanceView, WorkflowNotFound | InstanceNotFound | EngineError>
  readonly cancel: (
    workflowType: string,
    instanceId: string,
    reason: string,
    options?: CallOptions
  ) => Effect.Effect<InstanceView, WorkflowNotFound | InstanceNotFound | InstanceFinal | EngineError>
  readonly retry: (
    workflowType: string,
    instanceId: string,
    options?: CallOptions
  ) => Effect.Effect<InstanceView, WorkflowNotFound | InstanceNotFound | NothingToRetry | EngineError>
  readonly list: (filter?: ListFilter) => Effect.Effect<{ readonly items: ReadonlyArray<InstanceView>; readonly nextCursor: string | null }, EngineError | InvalidEvent | InvalidCursor>
  readonly history: (workflowType: string, instanceId: string) => Effect.Effect<ReadonlyArray<HistoryEntry>, InstanceNotFound | EngineError | InvalidEvent | IntegrityError>
  /**
   * Reads the instance's whole history back against its hash chain and its instance row. Whole,
   * it clears a `corrupted` mark (an operator repaired the rows) and answers the instance; broken,
   * it marks the instance and fails with the `IntegrityError` naming where.
   */
  readonly verify: (workflowType: string, instanceId: string) => Effect.Effect<InstanceView, WorkflowNotFound | InstanceNotFound | EngineError | InvalidEvent>
  /** Every instance's tasks, counted by kind and state (metrics). */
  readonly taskCounts: Effect.Effect<ReadonlyArray<TaskCount>, EngineError>
  /** Every worker on this database, from any process (metrics). */
  readonly workers: Effect.Effect<ReadonlyArray<WorkerView>, EngineError>
  /** Tasks still to do for an instance (activities in flight, timers pending): "why is this stuck". */
  readonly pending: (workflowType: string, instanceId: string) => Effect.Effect<ReadonlyArray<PendingTask>, EngineError>
  /** How many instances of a type stand in each state, by version and status. */
  readonly census: (workflowType: string) => Effect.Effect<ReadonlyArray<StateCount>, EngineError>
  /**
   * Folds an instance's recorded inputs through its machine, or through another
   * registered version of its type (a changed machine, before it is deployed),
   * keeping every step: the state and context after each input and what it emitted.
   */
  readonly replay: (
    workflowType: string,
    instanceId: string,
    options?: {
      readonly version?: number
      /** A definition of the type that is not registered: a changed machine, before it is deployed. */
      readonly definition?: WorkflowDefinition<any>
    }
  ) => Effect.Effect<InstanceReplay, WorkflowNotFound | InstanceNotFound | EngineError | InvalidEvent | IntegrityError>
}

export class Engine extends Context.Service<Engine, EngineShape>()("orrery/engine/Engine") {}

export interface EngineOptions {
  readonly schema?: string
  /** How long a worker's claim holds before another may take the task over. */
  readonly leaseMs?: number
  /** Instances kept live in memory (checked by version on every write); 0 reloads every input from the database. */
  readonly cacheSize?: number
}

/**
 * The engine over a store, a stepper, the registry and the log.
 *
 * @example
 * const engine = makeEngine(store, steps, registry, log)
 * const { instance } = yield* engine.start("order", { items: [] }, { id: "o-1" })
 */
export const makeEngine = (store: InstanceStore, steps: Stepper, registry: WorkflowRegistry["Service"], log: EventLog["Service"]): EngineShape => {
  /** The instance as the database has it now: another process may have moved it since we cached it. */
  const loadFresh = (workflowType: string, instanceId: string) => {
    store.forget(workflowType, instanceId)
    return store.load(workflowType, instanceId)
  }

  const start: EngineShape["start"] = (workflowType, input, call = {}) =>
    Effect.gen(function*() {
      const definition = yield* registry.newest(workflowType)
      if (call.idempotencyKey !== undefined) {
        const existing = yield* store.findByIdempotencyKey(workflowType, call.idempotencyKey)
        if (existing !== undefined) return { instance: viewOf(existing, undefined), created: false }
      }
      if (call.id !== undefined && !isIdentifier(call.id)) {
        return yield* new InvalidEvent({ eventType: `${workflowType} id`, field: "id", reason: "must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit" })
      }
      const normalized = yield* Effect.fromResult(normalize(`${workflowType} input`, definition.events.input, input))
      // Time-ordered (UUIDv7), as event ids are: a new instance's keys land on the newest index pages.
      const instanceId = call.id ?? timeOrderedId()
      const started = yield* steps.start(definition, instanceId, normalized, call, null).pipe(
        Effect.catchTag("TaskGone", Effect.die),
        Effect.catchTag("InstanceExists", (error) =>
          // Two starts with one idempotency key raced: the loser answers the winner's instance.
          call.idempotencyKey === undefined
            ? Effect.fail(error)
            : store.findByIdempotencyKey(workflowType, call.idempotencyKey).pipe(
                Effect.flatMap((existing) => (existing === undefined ? Effect.fail(error) : Effect.succeed(existing)))
              )
        )
      )
      if ("definition" in started) return { instance: viewOf(started.row, started.snapshot), created: true }
      return { instance: viewOf(started, undefined), created: false }
    })

  const send: EngineShape["send"] = (workflowType, instanceId, raw, call = {}) =>
    Effect.gen(function*() {
      yield* registry.newest(workflowType)
      const loaded = yield* Effect.flatMap(store.load(workflowType, instanceId), refuseCorrupted)
      if (finalStatuses.has(loaded.row.status)) return yield* new InstanceFinal({ workflowType, instanceId, status: loaded.row.status })
      const { type, ...payload } = (typeof raw === "object" && raw !== null ? raw : {}) as { type?: unknown }
      if (typeof type !== "string" || type === "") {
        return yield* new InvalidEvent({ eventType: "event", field: "type", reason: "is missing: an event needs a string type" })
      }
      // hasOwn: an event named "toString" must not find Object.prototype's.
      const schema = Object.hasOwn(loaded.definition.events.accepts, type) ? loaded.definition.events.accepts[type] : undefined
      if (schema === undefined || type.startsWith("xstate.")) {
        return yield* new EventNotAccepted({ eventType: type, state: loaded.row.state, accepted: acceptedEvents(loaded.snapshot) })
      }
      const data = (yield* Effect.fromResult(normalize(type, schema, payload))) as Record<string, unknown>
      const outcome = yield* steps.apply(workflowType, instanceId, { kind: "event", event: { ...data, type } }, call)
      switch (outcome._tag) {
        case "Final":
          return yield* new InstanceFinal({ workflowType, instanceId, status: outcome.loaded.row.status })
        case "NotAccepted":
          return yield* new EventNotAccepted({ eventType: type, state: outcome.loaded.row.state, accepted: acceptedEvents(outcome.loaded.snapshot) })
        case "Gone":
          return yield* new InstanceNotFound({ workflowType, instanceId })
        case "Applied": {
          const current = yield* store.load(workflowType, instanceId)
          return viewOf(current.row, current.snapshot)
        }
      }
    })

  const get: EngineShape["get"] = (workflowType, instanceId) =>
    Effect.gen(function*() {
      yield* registry.newest(workflowType)
      const loaded = yield* loadFresh(workflowType, instanceId)
      return viewOf(loaded.row, loaded.snapshot)
    })

  const cancel: EngineShape["cancel"] = (workflowType, instanceId, reason, call = {}) =>
    Effect.gen(function*() {
      yield* registry.newest(workflowType)
      const current = yield* loadFresh(workflowType, instanceId)
      if (finalStatuses.has(current.row.status)) return yield* new InstanceFinal({ workflowType, instanceId, status: current.row.status })
      const cancelled = yield* steps.record(workflowType, instanceId, (loaded) => Result.succeed(cancelPlan(loaded, reason, call))).pipe(Effect.catchTag("TaskGone", Effect.die))
      return viewOf(cancelled.row, cancelled.snapshot)
    })

  const retry: EngineShape["retry"] = (workflowType, instanceId, call = {}) =>
    Effect.gen(function*() {
      yield* registry.newest(workflowType)
      const current = yield* loadFresh(workflowType, instanceId)
      if (retryPlan(current, call) === undefined) return yield* new NothingToRetry({ workflowType, instanceId })
      const retried = yield* steps
        .record(workflowType, instanceId, (loaded) => {
          const plan = retryPlan(loaded, call)
          return plan === undefined ? Result.fail(new NothingToRetry({ workflowType, instanceId })) : Result.succeed(plan)
        })
        .pipe(Effect.catchTag("TaskGone", Effect.die))
      return viewOf(retried.row, retried.snapshot)
    })

  const list: EngineShape["list"] = (filter = {}) =>
    store.list(filter).pipe(Effect.map(({ rows, nextCursor }) => ({ items: rows.map((row) => viewOf(row, undefined)), nextCursor })))

  /**
   * The instance's recorded history, checked: a row that fails its hash (read by the log) or a
   * log that ends before the instance row's version (rows deleted) marks the instance corrupted
   * and fails with the `IntegrityError` naming where it breaks. The row is read first: it is
   * written in the same transaction as its events, so the log can only be ahead of it, never behind.
   */
  const checkedHistory = (workflowType: string, instanceId: string) =>
    Effect.gen(function*() {
      const row = yield* store.findRow(workflowType, instanceId)
      const stream = streamOf(workflowType, instanceId)
      const broken = (error: IntegrityError) =>
        row === undefined
          ? Effect.fail(error)
          : Clock.currentTimeMillis.pipe(
              Effect.flatMap((now) => store.markCorrupted(workflowType, instanceId, error, now)),
              Effect.andThen(Effect.fail(error))
            )
      const events: ReadonlyArray<RecordedEvent> = yield* log.readStream(stream).pipe(Effect.catchTag("IntegrityError", broken))
      const head = events.at(-1)?.streamVersion ?? 0
      if (row !== undefined && head < row.stream_version) {
        return yield* broken(new IntegrityError({ stream, version: head + 1, reason: "missing" }))
      }
      return { row, events }
    })

  const history: EngineShape["history"] = (workflowType, instanceId) =>
    Effect.gen(function*() {
      const { events } = yield* checkedHistory(workflowType, instanceId)
      if (events.length === 0) return yield* new InstanceNotFound({ workflowType, instanceId })
      return events.map(historyEntryOf)
    })

  const replay: EngineShape["replay"] = (workflowType, instanceId, options = {}) =>
    Effect.gen(function*() {
      const { row, events } = yield* checkedHistory(workflowType, instanceId)
      if (row === undefined) return yield* new InstanceNotFound({ workflowType, instanceId })
      const definition = options.definition ?? (yield* registry.version(workflowType, options.version ?? row.machine_version))
      return { recordedVersion: row.machine_version, machineVersion: definition.version, ...replaySteps(events, definition.machine, { invocables: steps.invocablesOf(definition) }) }
    })

  const verify: EngineShape["verify"] = (workflowType, instanceId) =>
    Effect.gen(function*() {
      yield* registry.newest(workflowType)
      const { row } = yield* checkedHistory(workflowType, instanceId)
      if (row === undefined) return yield* new InstanceNotFound({ workflowType, instanceId })
      if (row.corrupted !== null) yield* store.clearCorrupted(workflowType, instanceId)
      const loaded = yield* loadFresh(workflowType, instanceId)
      return viewOf(loaded.row, loaded.snapshot)
    })

  return {
    start,
    send,
    get,
    cancel,
    retry,
    list,
    history,
    replay,
    verify,
    taskCounts: store.taskCounts,
    workers: store.workers,
    census: store.census,
    pending: (workflowType, instanceId) => store.pending(streamOf(workflowType, instanceId))
  }
}

/**
 * Engine and EngineRuntime over the log, its database and the registry.
 *
 * @example
 * const core = layer({ schema: "orrery" }).pipe(Layer.provideMerge(eventLogLayer({ schema: "orrery" })))
 */
export const layer = (options: EngineOptions = {}) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const registry = yield* WorkflowRegistry
      const log = yield* EventLog
      const store = yield* makeInstanceStore({ schema: options.schema ?? "orrery", cacheSize: options.cacheSize ?? 10_000 })
      const steps = makeStepper(store, registry, options.leaseMs ?? 30_000)
      return Context.make(Engine, makeEngine(store, steps, registry, log)).pipe(Context.add(EngineRuntime, makeRuntime(store, steps, registry)))
    })
  )

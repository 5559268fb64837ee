/**
 * Durable actors. Every input to an instance is one transaction: load its
 * state, take the pure step, and record — with the expected stream version —
 * the input, the domain events the step emitted, and the effects it asked for
 * (tasks for the workers). A concurrent writer makes the append conflict; the
 * input is then re-run on the fresh state.
 */
import { Clock, Context, Duration, Effect, Layer, Random, Result, Schema } from "effect"
import type { AnyMachineSnapshot } from "xstate"
import {
  Database,
  EventLog,
  InvalidCursor,
  InvalidEvent,
  type IntegrityError,
  type EventMetadata,
  type NewEvent,
  type RecordedEvent,
  type StoreUnavailable,
  migrate,
  describeIssue,
  encodeBatch,
  encodePayload,
  fromDriver
} from "../log/index.js"
import {
  type DeterminismError,
  EventNotAccepted,
  InstanceBusy,
  InstanceExists,
  InstanceFinal,
  InstanceNotFound,
  NothingToRetry,
  WorkflowNotFound
} from "./errors.js"
import { persistSnapshot, restoreSnapshot } from "./pure.js"
import { makeStepBatcher } from "./step-batcher.js"
import * as R from "./records.js"
import { WorkflowRegistry } from "./registry.js"
import { type ReplayedStep, replaySteps } from "./replay.js"
import { type MachineEvent, type Step, type StepEffect, UnsupportedAction, acceptedEvents, nextStep, startStep } from "./step.js"
import {
  type EngineStatements,
  type InstanceRow,
  type InstanceStatus,
  type ParentLink,
  type TaskRow,
  engineMigrations,
  engineStatements,
  workerLiveMs
} from "./store.js"
import { type WorkflowDefinition, isIdentifier, streamOf } from "./workflow.js"

// ---------------------------------------------------------------------------
// Public shapes

export interface InstanceView {
  readonly id: string
  readonly type: string
  readonly machineVersion: number
  readonly status: InstanceStatus
  readonly state: unknown
  readonly context: unknown
  readonly streamVersion: number
  readonly output?: unknown
  readonly failure?: unknown
  readonly children: InstanceRow["children"]
  readonly parent?: ParentLink
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface HistoryEntry {
  readonly eventId: string
  readonly position: number
  readonly streamVersion: number
  readonly kind: R.EntryKind
  readonly type: string
  readonly data: unknown
  readonly metadata: EventMetadata
  readonly time: Date
  /** The worker that ran an activity attempt (activity results and failed attempts); absent in older histories. */
  readonly worker?: string
}

/** A worker as the workers table knows it: alive or not, and what it has run. */
export interface WorkerView {
  readonly id: string
  readonly startedAt: Date
  readonly lastSeen: Date
  /** It beat lately and has not stopped. */
  readonly up: boolean
  /** Tasks it ran, by kind and outcome ("activity:completed", "timer:done", …), as of its last beat. */
  readonly counts: Readonly<Record<string, number>>
}

export interface ListFilter {
  readonly type?: string
  readonly status?: InstanceStatus
  readonly state?: string
  readonly limit?: number
  readonly cursor?: string
}

export interface CallOptions {
  readonly correlationId?: string
  readonly actor?: string
}

export interface StartOptions extends CallOptions {
  readonly id?: string
  readonly idempotencyKey?: string
}

export type EngineError = StoreUnavailable | InstanceBusy

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

export interface StateCount {
  readonly machineVersion: number
  readonly status: InstanceStatus
  readonly state: unknown
  readonly count: number
}

export interface InstanceReplay {
  /** The version the instance runs on, and the one it was replayed against. */
  readonly recordedVersion: number
  readonly machineVersion: number
  /** Every step that replayed as recorded; with a divergence, the steps before it. */
  readonly steps: ReadonlyArray<ReplayedStep>
  readonly divergence: DeterminismError | null
}

export interface TaskCount {
  readonly kind: TaskRow["kind"]
  readonly scheduled: number
  readonly due: number
  readonly late: number
  readonly leased: number
}

export interface PendingTask {
  readonly kind: TaskRow["kind"]
  readonly key: string
  readonly payload: unknown
  readonly dueAt: Date
  /** The worker holding it now, and until when; null when nobody does. */
  readonly lockedBy: string | null
  readonly leasedUntil: Date | null
  readonly attempts: number
}

export class Engine extends Context.Service<Engine, EngineShape>()("orrery/engine/Engine") {}

/** What workers call: the results of the work they claimed. */
export interface RuntimeShape {
  readonly schema: string
  readonly statements: EngineStatements
  readonly completeActivity: (
    task: TaskRow,
    workerId: string,
    outcome: { readonly ok: boolean; readonly value: unknown; readonly attempts: number; readonly durationMs: number }
  ) => Effect.Effect<void, EngineError>
  readonly recordAttemptFailure: (task: TaskRow, attempt: Omit<typeof R.ActivityAttemptFailed.schema.Type, "activityId" | "src">) => Effect.Effect<void, EngineError>
  readonly fireTimer: (task: TaskRow, workerId: string) => Effect.Effect<void, EngineError>
  readonly deliverMessage: (task: TaskRow, workerId: string) => Effect.Effect<void, EngineError>
  readonly startChild: (task: TaskRow, workerId: string) => Effect.Effect<void, EngineError>
  /**
   * A worker in this process takes the tasks this process schedules, leased to it at once — those
   * for which `keep` says yes (one in N when N workers are live; the rest go to every worker's claims).
   */
  readonly attachLocalWorker: (worker: LocalWorker) => Effect.Effect<void>
  readonly definitionOf: (workflowType: string, instanceId: string) => Effect.Effect<WorkflowDefinition<any> | undefined, EngineError>
}

/** The worker in this process, as the engine sees it. */
export interface LocalWorker {
  readonly id: string
  /** Whether to lease the next task to this worker at once rather than leave it for a claim. */
  readonly keep: () => boolean
  readonly take: (tasks: ReadonlyArray<TaskRow>) => void
}

export class EngineRuntime extends Context.Service<EngineRuntime, RuntimeShape>()("orrery/engine/EngineRuntime") {}

export interface EngineOptions {
  readonly schema?: string
  /** How long a worker's claim holds before another may take the task over. */
  readonly leaseMs?: number
  /** Instances kept live in memory (checked by version on every write); 0 reloads every input from the database. */
  readonly cacheSize?: number
}

// ---------------------------------------------------------------------------
// Inputs and the loaded instance

type Input =
  | { readonly kind: "event"; readonly event: MachineEvent }
  | {
      readonly kind: "activity"
      readonly activityId: string
      readonly src: string
      readonly ok: boolean
      readonly value: unknown
      readonly attempts: number
      readonly durationMs: number
      readonly worker: string
    }
  | { readonly kind: "timer"; readonly timerId: string; readonly event: MachineEvent; readonly dueAt: string }
  | { readonly kind: "message"; readonly from: string; readonly event: MachineEvent }

interface Loaded {
  readonly row: InstanceRow
  readonly definition: WorkflowDefinition<any>
  readonly snapshot: AnyMachineSnapshot
}

/** A claimed task that the write consumes; its row must still be leased to the worker. */
interface Consume {
  readonly taskId: number
  readonly workerId: string
  /** An activity's input, kept with a failure so that `retry` can run it again. */
  readonly activityInput?: unknown
}

/** The instance changed under us (append conflict or version-guarded update): load again and re-run. */
class Conflict {
  readonly _tag = "Conflict"
}
/** The claimed task is gone: cancelled, or another worker took it over after our lease ran out. */
class TaskGone {
  readonly _tag = "TaskGone"
}

interface TaskInsert {
  readonly kind: TaskRow["kind"]
  readonly stream_id: string
  readonly workflow_type: string
  readonly instance_id: string
  readonly key: string
  readonly payload: unknown
  readonly due_at: string | null
  readonly locked_by: string | null
  readonly lease_ms: number | null
}

interface Plan {
  readonly events: ReadonlyArray<NewEvent>
  readonly status: InstanceStatus
  readonly snapshot: AnyMachineSnapshot
  readonly failure: unknown
  readonly children: InstanceRow["children"]
  readonly inputs: number
  readonly cancel: ReadonlyArray<{ readonly kind: string; readonly key: string }>
  readonly tasks: ReadonlyArray<TaskInsert>
  readonly dropAllTasks: boolean
}

const finalStatuses: ReadonlySet<InstanceStatus> = new Set(["done", "failed", "cancelled"])
const maxConflictRetries = 25

const viewOf = (row: InstanceRow, snapshot: AnyMachineSnapshot | undefined): InstanceView => ({
  id: row.instance_id,
  type: row.workflow_type,
  machineVersion: row.machine_version,
  status: row.status,
  state: row.state,
  context: snapshot?.context ?? row.snapshot?.context,
  streamVersion: row.stream_version,
  ...(snapshot?.status === "done" || row.snapshot?.status === "done" ? { output: snapshot?.output ?? row.snapshot?.output } : {}),
  ...(row.failure === null || row.failure === undefined ? {} : { failure: row.failure }),
  children: row.children ?? {},
  ...(row.parent === null ? {} : { parent: row.parent }),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

// ---------------------------------------------------------------------------

const make = Effect.fnUntraced(function*(options: EngineOptions) {
  const db = yield* Database
  const log = yield* EventLog
  const registry = yield* WorkflowRegistry
  const schema = options.schema ?? "orrery"
  const leaseMs = options.leaseMs ?? 30_000
  const sql = engineStatements(schema)
  yield* fromDriver(db, () => migrate(db, schema, engineMigrations))

  const tasksChannel = `orrery_tasks_${schema}`
  let localWorker: LocalWorker | undefined
  /** Live snapshots of recently used instances, keyed by stream; checked against the version on every write. */
  const cache = new Map<string, Loaded>()
  const recordStep = makeStepBatcher(db, sql)
  const cacheSize = options.cacheSize ?? 10_000
  const remember = (loaded: Loaded) => {
    if (cacheSize === 0) return
    const stream = streamOf(loaded.row.workflow_type, loaded.row.instance_id)
    // A read that started before a write may finish after it: never replace a newer state with an older one.
    const known = cache.get(stream)
    if (known !== undefined && known.row.stream_version > loaded.row.stream_version) return
    cache.delete(stream)
    cache.set(stream, loaded)
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!)
  }
  const forget = (workflowType: string, instanceId: string) => cache.delete(streamOf(workflowType, instanceId))

  const invocablesOf = (definition: WorkflowDefinition<any>) => ({
    isActivity: (src: string) => src in definition.activities,
    isWorkflow: (src: string) => registry.isWorkflowType(src)
  })

  // -- loading ---------------------------------------------------------------

  const load = (workflowType: string, instanceId: string) =>
    Effect.gen(function*() {
      const cached = cache.get(streamOf(workflowType, instanceId))
      if (cached !== undefined) return cached
      const [row] = yield* fromDriver(db, () => db.query<InstanceRow>(sql.loadInstance, [workflowType, instanceId]))
      if (row === undefined) return yield* new InstanceNotFound({ workflowType, instanceId })
      const definition = yield* registry.version(workflowType, row.machine_version)
      const loaded: Loaded = { row, definition, snapshot: restoreSnapshot(definition.machine, row.snapshot) }
      remember(loaded)
      return loaded
    })

  // -- turning a step into rows ----------------------------------------------

  const meta = (kind: R.EntryKind, call: CallOptions, extra: EventMetadata = {}): EventMetadata => ({
    kind,
    ...(call.correlationId === undefined ? {} : { correlationId: call.correlationId }),
    ...(call.actor === undefined ? {} : { actor: call.actor }),
    ...extra
  })

  const domainEvents = (definition: WorkflowDefinition<any>, emitted: ReadonlyArray<MachineEvent>, causationId: string, call: CallOptions) =>
    emitted.map((event) => {
      const eventType = definition.events.emits.find((candidate) => candidate.type === event.type)
      if (eventType === undefined) {
        throw new UnsupportedAction({ reason: `the machine emitted ${event.type}, which is not among the workflow's declared events` })
      }
      const { type: _type, ...data } = event
      const made = eventType.make(data, { metadata: meta("domain", call, { causationId }) })
      const valid = encodePayload(made)
      if (Result.isFailure(valid)) {
        throw new UnsupportedAction({ reason: `the machine emitted an invalid ${event.type}: ${valid.failure.message}` })
      }
      return made
    })

  /**
   * Everything a step writes besides the input: domain events, records of the
   * effects, the tasks themselves and the instance's new row.
   */
  const plan = (
    loaded: { readonly row: Pick<InstanceRow, "workflow_type" | "instance_id" | "stream_version" | "inputs" | "children" | "parent">; readonly definition: WorkflowDefinition<any> },
    step: Step,
    input: NewEvent,
    call: CallOptions,
    firedTimer: string | undefined,
    now: number
  ): Plan => {
    const { workflow_type: workflowType, instance_id: instanceId } = loaded.row
    const stream = streamOf(workflowType, instanceId)
    const inputVersion = loaded.row.stream_version + 1
    const cause = { causationId: input.eventId }
    const records: Array<NewEvent> = []
    const tasks: Array<TaskInsert> = []
    const cancel: Array<{ kind: string; key: string }> = []
    const children = { ...loaded.row.children }
    const task = (kind: TaskRow["kind"], key: string, payload: unknown, dueAt: number | null, local: boolean): TaskInsert => {
      const kept = local && localWorker !== undefined && localWorker.keep()
      return {
        kind,
        stream_id: stream,
        workflow_type: workflowType,
        instance_id: instanceId,
        key,
        payload,
        due_at: dueAt === null ? null : new Date(dueAt).toISOString(),
        locked_by: kept ? localWorker!.id : null,
        lease_ms: kept ? leaseMs : null
      }
    }
    // XState lists a state's entry actions before its invokes: name this step's children
    // first, so that a send in the same entry reaches the child it starts.
    const started = new Map<string, string>()
    for (const effect of step.effects) {
      if (effect.kind !== "child") continue
      const childId = children[effect.invokeId] === undefined ? `${instanceId}.${effect.invokeId}` : `${instanceId}.${effect.invokeId}.${inputVersion}`
      started.set(effect.invokeId, childId)
      children[effect.invokeId] = { workflowType: effect.workflowType, instanceId: childId }
    }
    const targetOf = (to: Extract<StepEffect, { kind: "send" }>["to"]) => {
      if (to === "parent") return loaded.row.parent === null ? undefined : { workflowType: loaded.row.parent.workflowType, instanceId: loaded.row.parent.instanceId }
      return children[to.child]
    }

    step.effects.forEach((effect, index) => {
      switch (effect.kind) {
        case "activity": {
          const activityId = R.activityIdOf(effect.invokeId, inputVersion)
          // JSON has no undefined: an invoke without input records null.
          const input = effect.input ?? null
          records.push(R.ActivityScheduled.make({ activityId, invokeId: effect.invokeId, src: effect.src, input }, { metadata: meta("record", call, cause) }))
          tasks.push(task("activity", effect.invokeId, { activityId, src: effect.src, input }, null, true))
          break
        }
        case "child": {
          const childId = started.get(effect.invokeId)!
          const input = effect.input ?? null
          records.push(R.ChildStarted.make({ invokeId: effect.invokeId, workflowType: effect.workflowType, instanceId: childId, input }, { metadata: meta("record", call, cause) }))
          tasks.push(task("start", childId, { workflowType: effect.workflowType, instanceId: childId, input, parent: { workflowType, instanceId, invokeId: effect.invokeId } }, null, true))
          break
        }
        case "stop": {
          cancel.push({ kind: "activity", key: effect.invokeId })
          const child = children[effect.invokeId]
          if (child !== undefined && step.snapshot.status === "active") {
            tasks.push(task("message", `stop:${effect.invokeId}:${inputVersion}`, { to: child, from: stream, event: { type: "orrery.cancel", reason: `stopped by ${stream}` } }, null, true))
          }
          break
        }
        case "timer": {
          const dueAt = new Date(now + effect.delay).toISOString()
          records.push(R.TimerScheduled.make({ timerId: effect.timerId, event: effect.event, dueAt }, { metadata: meta("record", call, cause) }))
          tasks.push(task("timer", effect.timerId, { timerId: effect.timerId, event: effect.event, dueAt }, now + effect.delay, false))
          break
        }
        case "cancel": {
          cancel.push({ kind: "timer", key: effect.sendId }, { kind: "message", key: effect.sendId })
          if (effect.sendId !== firedTimer) records.push(R.TimerCancelled.make({ timerId: effect.sendId }, { metadata: meta("record", call, cause) }))
          break
        }
        case "send": {
          const target = targetOf(effect.to)
          if (target === undefined) break
          const key = effect.sendId ?? `msg:${inputVersion}:${index}`
          const dueAt = effect.delay === undefined ? null : now + effect.delay
          records.push(R.MessageSent.make({ to: streamOf(target.workflowType, target.instanceId), event: effect.event, ...(dueAt === null ? {} : { dueAt: new Date(dueAt).toISOString() }) }, { metadata: meta("record", call, cause) }))
          tasks.push(task("message", key, { to: target, from: stream, event: effect.event }, dueAt, dueAt === null))
          break
        }
      }
    })

    const snapshot = step.snapshot
    const status: InstanceStatus = snapshot.status === "done" ? "done" : "running"
    if (status === "done" && loaded.row.parent !== null) {
      const parent = loaded.row.parent
      tasks.push(task("message", `done:${inputVersion}`, { to: parent, from: stream, event: { type: `xstate.done.actor.${parent.invokeId}`, output: snapshot.output ?? null, actorId: parent.invokeId } }, null, true))
    }
    return {
      events: [input, ...domainEvents(loaded.definition, step.emitted, input.eventId, call), ...records],
      status,
      snapshot,
      failure: null,
      children,
      inputs: loaded.row.inputs + 1,
      cancel,
      tasks,
      dropAllTasks: status === "done"
    }
  }

  // -- writing ----------------------------------------------------------------

  /** One transaction: consume the task, append, move the instance row, cancel and add tasks, maybe snapshot. */
  const write = (
    row: Pick<InstanceRow, "workflow_type" | "instance_id" | "stream_version" | "machine_version">,
    definition: WorkflowDefinition<any>,
    planned: Plan,
    consume: Consume | undefined,
    insert: { readonly parent: ParentLink | null; readonly idempotencyKey: string | null } | undefined
  ): Effect.Effect<void, Conflict | TaskGone | InstanceExists | StoreUnavailable> => {
    const stream = streamOf(row.workflow_type, row.instance_id)
    const batch = encodeBatch(planned.events, undefined)
    // Domain events were validated when planned; engine records take any JSON. A failure here is a bug.
    if (Result.isFailure(batch)) return Effect.die(batch.failure)
    const persisted = persistSnapshot(definition.machine, planned.snapshot)
    const snapshotEvery = definition.snapshotEvery ?? 50
    const instanceRow = {
      machine_version: row.machine_version,
      status: planned.status,
      state: planned.snapshot.value,
      snapshot: persisted,
      inputs: planned.inputs,
      parent: insert?.parent ?? null,
      children: planned.children,
      failure: planned.failure,
      idempotency_key: insert?.idempotencyKey ?? null
    }
    const taskIds = new Map<string, number>()
    return Effect.tryPromise({
      try: () =>
        recordStep([
          row.workflow_type,
          row.instance_id,
          stream,
          insert === undefined ? row.stream_version : 0,
          batch.success,
          JSON.stringify(instanceRow),
          consume?.taskId ?? null,
          consume?.workerId ?? null,
          JSON.stringify(planned.cancel),
          planned.dropAllTasks,
          JSON.stringify(planned.tasks),
          planned.inputs % snapshotEvery === 0 && insert === undefined ? JSON.stringify(persisted) : null,
          // Tasks nobody in this process took: wake the other processes' workers (PGlite has no others).
          db.driver === "postgres" && planned.tasks.some((t) => t.locked_by === null) ? tasksChannel : null
        ]),
      catch: (error) => error
    }).pipe(
      Effect.tap((result) =>
        Effect.sync(() => {
          for (const inserted of result.tasks) taskIds.set(`${inserted.kind}:${inserted.key}`, inserted.id)
        })
      ),
      Effect.catch((error): Effect.Effect<never, Conflict | TaskGone | InstanceExists | StoreUnavailable> => {
        const code = (error as { code?: string }).code
        if (code === "OR002") return Effect.fail(new TaskGone())
        if ((code === "23505" || code === "OR001") && insert !== undefined) {
          return Effect.fail(new InstanceExists({ workflowType: row.workflow_type, instanceId: row.instance_id }))
        }
        if (code === "23505" || code === "OR001") return Effect.fail(new Conflict())
        return fromDriver(db, () => Promise.reject(error))
      }),
      Effect.tap(() =>
        Effect.sync(() => {
          const local = planned.tasks.filter((t) => t.locked_by !== null)
          if (local.length > 0 && localWorker !== undefined) {
            localWorker.take(
              local.map((t) => ({ id: taskIds.get(`${t.kind}:${t.key}`)!, kind: t.kind, stream_id: t.stream_id, workflow_type: t.workflow_type, instance_id: t.instance_id, key: t.key, payload: t.payload, due_at: new Date(), attempts: t.kind === "activity" ? 1 : 0 }))
            )
          }
        })
      ),
      Effect.asVoid
    )
  }

  // -- applying an input ------------------------------------------------------

  const inputEventOf = (input: Input, call: CallOptions, extra: EventMetadata, now: number): NewEvent => {
    const metadata = meta("input", call, extra)
    switch (input.kind) {
      case "event":
        return R.EventReceived.make({ event: input.event }, { metadata })
      case "activity":
        return input.ok
          ? R.ActivityCompleted.make({ activityId: input.activityId, src: input.src, output: input.value, attempts: input.attempts, durationMs: input.durationMs, worker: input.worker }, { metadata })
          : R.ActivityFailed.make({ activityId: input.activityId, src: input.src, error: input.value, attempts: input.attempts, durationMs: input.durationMs, worker: input.worker }, { metadata })
      case "timer":
        return R.TimerFired.make({ timerId: input.timerId, event: input.event, dueAt: input.dueAt, firedAt: new Date(now).toISOString() }, { metadata })
      case "message":
        return R.MessageReceived.make({ from: input.from, event: input.event }, { metadata })
    }
  }

  const machineEventOf = (input: Input): MachineEvent => {
    switch (input.kind) {
      case "event":
      case "timer":
      case "message":
        return input.event
      case "activity":
        return R.activityResultEvent(input.activityId, input.ok, input.value)
    }
  }

  type ApplyOutcome =
    | { readonly _tag: "Applied"; readonly loaded: Loaded }
    | { readonly _tag: "NotAccepted"; readonly loaded: Loaded }
    | { readonly _tag: "Final"; readonly loaded: Loaded }
    | { readonly _tag: "Gone" }

  /** Records the input and its consequences, re-running on conflicts. */
  const apply = (
    workflowType: string,
    instanceId: string,
    input: Input,
    call: CallOptions,
    consume?: Consume
  ): Effect.Effect<ApplyOutcome, WorkflowNotFound | InstanceNotFound | EngineError> => {
    let checkedFresh = false
    const once = Effect.gen(function*() {
      const fromCache = cache.has(streamOf(workflowType, instanceId))
      const loaded = yield* load(workflowType, instanceId)
      if (finalStatuses.has(loaded.row.status)) return { _tag: "Final", loaded } as const
      const event = machineEventOf(input)
      let step: Step | undefined
      let thrown: unknown
      try {
        step = nextStep(loaded.definition.machine, loaded.snapshot, event, invocablesOf(loaded.definition))
      } catch (error) {
        thrown = error
      }
      if (thrown === undefined && step === undefined) {
        // Refusing on a cached state that another process has moved past would drop the input for good.
        if (fromCache && !checkedFresh) {
          checkedFresh = true
          forget(workflowType, instanceId)
          return yield* Effect.fail(new Conflict())
        }
        return { _tag: "NotAccepted", loaded } as const
      }
      // The engine's time is Effect's Clock: a test clock moves timers without waiting for them.
      const now = yield* Clock.currentTimeMillis
      const inputEvent = inputEventOf(input, call, step === undefined ? {} : { state: step.snapshot.value as never }, now)
      if (thrown !== undefined || step!.snapshot.status === "error") {
        yield* failInstance(loaded, input, inputEvent, thrown ?? step!.snapshot.error, call, consume)
        return { _tag: "Applied", loaded } as const
      }
      let planned: Plan
      try {
        planned = plan(loaded, step!, inputEvent, call, input.kind === "timer" ? input.timerId : undefined, now)
      } catch (error) {
        yield* failInstance(loaded, input, inputEvent, error, call, consume)
        return { _tag: "Applied", loaded } as const
      }
      yield* write(loaded.row, loaded.definition, planned, consume, undefined).pipe(Effect.catchTag("InstanceExists", Effect.die))
      const next: Loaded = {
        definition: loaded.definition,
        snapshot: planned.snapshot,
        row: {
          ...loaded.row,
          status: planned.status,
          state: planned.snapshot.value,
          stream_version: loaded.row.stream_version + planned.events.length,
          inputs: planned.inputs,
          children: planned.children,
          updated_at: new Date(now)
        }
      }
      remember(next)
      return { _tag: "Applied", loaded: next } as const
    })
    return retryOnConflict(workflowType, instanceId, once).pipe(
      Effect.catchTag("TaskGone", () => Effect.succeed({ _tag: "Gone" } as const)),
      Effect.withSpan("orrery.step", { attributes: { "orrery.workflow": workflowType, "orrery.instance": instanceId, "orrery.input": input.kind } })
    )
  }

  const retryOnConflict = <A, E, Rq>(workflowType: string, instanceId: string, once: Effect.Effect<A, E | Conflict, Rq>) => {
    const attempt = (left: number): Effect.Effect<A, Exclude<E, Conflict> | InstanceBusy, Rq> =>
      once.pipe(
        Effect.catch((error) => {
          if (!(error instanceof Conflict)) return Effect.fail(error as Exclude<E, Conflict>)
          forget(workflowType, instanceId)
          return left > 0
            ? Random.nextIntBetween(0, 5 * (maxConflictRetries - left + 1)).pipe(
                Effect.flatMap((jitter) => Effect.sleep(Duration.millis(jitter))),
                Effect.andThen(attempt(left - 1))
              )
            : Effect.fail(new InstanceBusy({ workflowType, instanceId }))
        })
      )
    return attempt(maxConflictRetries)
  }

  /**
   * A step that cannot be taken: an activity error with no onError, a machine
   * that threw, an undeclared emit. The state stays where it was, so that
   * `retry` can run the activity again; the failure is recorded, not the input.
   */
  const failInstance = (loaded: Loaded, input: Input, inputEvent: NewEvent, cause: unknown, call: CallOptions, consume: Consume | undefined) => {
    const reason = cause instanceof UnsupportedAction ? cause.reason : input.kind === "activity" && !input.ok ? `activity ${input.src} failed and the machine has no onError for it` : `the machine threw: ${cause instanceof Error ? cause.message : String(cause)}`
    const failure = {
      reason,
      ...(input.kind === "activity" ? { activity: { activityId: input.activityId, invokeId: R.invokeIdOf(input.activityId), src: input.src, error: input.value, input: consume?.activityInput } } : {})
    }
    const events = [
      R.WorkflowFailed.make({ reason, ...(input.kind === "activity" ? { activityId: input.activityId, error: input.value } : {}) }, { metadata: meta("record", call, { causationId: inputEvent.eventId }) })
    ]
    // The input is kept as a record: it happened, but replay must not fold it.
    const recorded = { ...inputEvent, metadata: { ...inputEvent.metadata, kind: "record" } }
    return write(loaded.row, loaded.definition, {
      events: [recorded, ...events],
      status: "failed",
      snapshot: loaded.snapshot,
      failure,
      children: loaded.row.children,
      inputs: loaded.row.inputs,
      cancel: [],
      tasks: [],
      dropAllTasks: false
    }, consume, undefined).pipe(
      Effect.catchTag("InstanceExists", Effect.die),
      Effect.tap(() => Effect.sync(() => forget(loaded.row.workflow_type, loaded.row.instance_id)))
    )
  }

  /** Appends records that are no step (attempts, cancellations, retries), moving the instance row along. */
  const recordOnly = (
    workflowType: string,
    instanceId: string,
    events: (loaded: Loaded) => ReadonlyArray<NewEvent>,
    change: (loaded: Loaded) => { readonly status: InstanceStatus; readonly failure: unknown; readonly tasks?: ReadonlyArray<TaskInsert>; readonly dropAllTasks?: boolean },
    consume?: Consume
  ) =>
    retryOnConflict(
      workflowType,
      instanceId,
      Effect.gen(function*() {
        const loaded = yield* load(workflowType, instanceId)
        const { status, failure, tasks = [], dropAllTasks = false } = change(loaded)
        const written = events(loaded)
        yield* write(loaded.row, loaded.definition, { events: written, status, snapshot: loaded.snapshot, failure, children: loaded.row.children, inputs: loaded.row.inputs, cancel: [], tasks, dropAllTasks }, consume, undefined).pipe(
          Effect.catchTag("InstanceExists", Effect.die)
        )
        const next: Loaded = { ...loaded, row: { ...loaded.row, status, failure, stream_version: loaded.row.stream_version + written.length, updated_at: new Date() } }
        remember(next)
        return next
      })
    )

  // -- the public API -----------------------------------------------------------

  const decodeInput = (label: string, schema: Schema.Codec<any, any, never, never>, value: unknown): Effect.Effect<unknown, InvalidEvent> => {
    const decoded = Schema.decodeUnknownResult(schema)(value)
    if (Result.isFailure(decoded)) return Effect.fail(new InvalidEvent({ eventType: label, ...describeIssue(decoded.failure.issue) }))
    const encoded = Schema.encodeUnknownResult(schema)(decoded.success)
    return Result.isFailure(encoded)
      ? Effect.fail(new InvalidEvent({ eventType: label, ...describeIssue(encoded.failure.issue) }))
      : Effect.succeed(encoded.success as unknown)
  }

  const startInstance = (
    definition: WorkflowDefinition<any>,
    instanceId: string,
    input: unknown,
    call: StartOptions,
    parent: ParentLink | null,
    consume?: Consume
  ) =>
    Effect.gen(function*() {
      const row = { workflow_type: definition.type, instance_id: instanceId, stream_version: 0, machine_version: definition.version, inputs: 0, children: {}, parent }
      let step: Step
      try {
        step = startStep(definition.machine, input, invocablesOf(definition))
      } catch (error) {
        return yield* new InvalidEvent({ eventType: `${definition.type} input`, field: "", reason: `the machine could not start: ${error instanceof Error ? error.message : String(error)}` })
      }
      if (step.snapshot.status === "error") {
        const error = step.snapshot.error
        return yield* new InvalidEvent({ eventType: `${definition.type} input`, field: "", reason: `the machine could not start: ${error instanceof Error ? error.message : String(error)}` })
      }
      const started = R.WorkflowStarted.make(
        { workflowType: definition.type, instanceId, machineVersion: definition.version, input: input ?? null, ...(parent === null ? {} : { parent }) },
        { metadata: meta("input", call, { state: step.snapshot.value as never }) }
      )
      const startedAt = yield* Clock.currentTimeMillis
      const planned = yield* Effect.try({ try: () => plan({ definition, row }, step, started, call, undefined, startedAt), catch: (error) => error as UnsupportedAction }).pipe(
        Effect.catch((error) => Effect.fail(new InvalidEvent({ eventType: `${definition.type} input`, field: "", reason: error instanceof UnsupportedAction ? error.reason : String(error) })))
      )
      yield* write(row, definition, planned, consume, { parent, idempotencyKey: call.idempotencyKey ?? null }).pipe(
        Effect.catch((error) => (error instanceof Conflict ? Effect.fail(new InstanceExists({ workflowType: definition.type, instanceId })) : Effect.fail(error)))
      )
      const now = new Date(startedAt)
      const loaded: Loaded = {
        definition,
        snapshot: planned.snapshot,
        row: { ...row, status: planned.status, state: planned.snapshot.value, snapshot: null, stream_version: planned.events.length, inputs: 1, children: planned.children, failure: null, created_at: now, updated_at: now }
      }
      remember(loaded)
      return loaded
    })

  const engine: EngineShape = {
    start: (workflowType, input, call = {}) =>
      Effect.gen(function*() {
        const definition = yield* registry.newest(workflowType)
        if (call.idempotencyKey !== undefined) {
          const [existing] = yield* fromDriver(db, () => db.query<InstanceRow>(sql.findByIdempotencyKey, [workflowType, call.idempotencyKey]))
          if (existing !== undefined) return { instance: viewOf(existing, undefined), created: false }
        }
        if (call.id !== undefined && !isIdentifier(call.id)) {
          return yield* new InvalidEvent({ eventType: `${workflowType} id`, field: "id", reason: "must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit" })
        }
        const normalized = yield* decodeInput(`${workflowType} input`, definition.events.input, input)
        const instanceId = call.id ?? crypto.randomUUID()
        const started = yield* startInstance(definition, instanceId, normalized, call, null).pipe(
          Effect.catchTag("TaskGone", Effect.die),
          Effect.catchTag("InstanceExists", (error) =>
            call.idempotencyKey === undefined
              ? Effect.fail(error)
              : fromDriver(db, () => db.query<InstanceRow>(sql.findByIdempotencyKey, [workflowType, call.idempotencyKey])).pipe(
                  Effect.flatMap(([existing]) => (existing === undefined ? Effect.fail(error) : Effect.succeed(existing)))
                )
          )
        )
        if ("definition" in started) return { instance: viewOf(started.row, started.snapshot), created: true }
        return { instance: viewOf(started, undefined), created: false }
      }),

    send: (workflowType, instanceId, raw, call = {}) =>
      Effect.gen(function*() {
        yield* registry.newest(workflowType)
        const loaded = yield* load(workflowType, instanceId)
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
        const data = (yield* decodeInput(type, schema, payload)) as Record<string, unknown>
        const outcome = yield* apply(workflowType, instanceId, { kind: "event", event: { ...data, type } }, call)
        switch (outcome._tag) {
          case "Final":
            return yield* new InstanceFinal({ workflowType, instanceId, status: outcome.loaded.row.status })
          case "NotAccepted":
            return yield* new EventNotAccepted({ eventType: type, state: outcome.loaded.row.state, accepted: acceptedEvents(outcome.loaded.snapshot) })
          case "Gone":
            return yield* new InstanceNotFound({ workflowType, instanceId })
          case "Applied": {
            const current = yield* load(workflowType, instanceId)
            return viewOf(current.row, current.snapshot)
          }
        }
      }),

    get: (workflowType, instanceId) =>
      Effect.gen(function*() {
        yield* registry.newest(workflowType)
        // Always from the database: another process may have moved the instance.
        forget(workflowType, instanceId)
        const loaded = yield* load(workflowType, instanceId)
        return viewOf(loaded.row, loaded.snapshot)
      }),

    cancel: (workflowType, instanceId, reason, call = {}) =>
      Effect.gen(function*() {
        yield* registry.newest(workflowType)
        forget(workflowType, instanceId)
        const current = yield* load(workflowType, instanceId)
        if (finalStatuses.has(current.row.status)) return yield* new InstanceFinal({ workflowType, instanceId, status: current.row.status })
        const cancelled = yield* cancelInstance(workflowType, instanceId, reason, call).pipe(Effect.catchTag("TaskGone", Effect.die))
        return viewOf(cancelled.row, cancelled.snapshot)
      }),

    retry: (workflowType, instanceId, call = {}) =>
      Effect.gen(function*() {
        yield* registry.newest(workflowType)
        forget(workflowType, instanceId)
        const current = yield* load(workflowType, instanceId)
        const activity = current.row.status === "failed" ? (current.row.failure as { activity?: { activityId: string; invokeId: string; src: string; input: unknown } } | null)?.activity : undefined
        if (activity === undefined) return yield* new NothingToRetry({ workflowType, instanceId })
        const input = activity.input
        const stream = streamOf(workflowType, instanceId)
        const retried = yield* recordOnly(
          workflowType,
          instanceId,
          () => [R.WorkflowRetried.make({ activityId: activity.activityId }, { metadata: meta("record", call) })],
          () => ({
            status: "running",
            failure: null,
            tasks: [{ kind: "activity", stream_id: stream, workflow_type: workflowType, instance_id: instanceId, key: activity.invokeId, payload: { activityId: activity.activityId, src: activity.src, input }, due_at: null, locked_by: null, lease_ms: null }]
          })
        ).pipe(Effect.catchTag("TaskGone", Effect.die))
        return viewOf(retried.row, retried.snapshot)
      }),

    list: (filter = {}) =>
      Effect.gen(function*() {
        const limit = Math.max(1, Math.min(filter.limit ?? 50, 500))
        let after: [string, string, string] | [null, null, null] = [null, null, null]
        if (filter.cursor !== undefined) {
          const parsed = parseCursor(filter.cursor)
          if (parsed === undefined) return yield* new InvalidCursor({ cursor: filter.cursor })
          after = parsed
        }
        for (const [field, value] of [["type", filter.type], ["status", filter.status], ["state", filter.state]] as const) {
          // Postgres text cannot hold NUL: refuse it as bad input rather than fail in the driver.
          if (value !== undefined && value.includes("\u0000")) {
            return yield* new InvalidEvent({ eventType: "list", field, reason: "must not contain a NUL character" })
          }
        }
        const rows = yield* fromDriver(db, () => db.query<InstanceRow>(sql.list, [filter.type ?? null, filter.status ?? null, filter.state ?? null, ...after, limit + 1]))
        const items = rows.slice(0, limit).map((row) => viewOf(row, undefined))
        const last = rows.length > limit ? rows[limit - 1] : undefined
        return { items, nextCursor: last === undefined ? null : formatCursor(last) }
      }),

    history: (workflowType, instanceId) =>
      Effect.gen(function*() {
        const events = yield* log.readStream(streamOf(workflowType, instanceId))
        if (events.length === 0) return yield* new InstanceNotFound({ workflowType, instanceId })
        return events.map(historyEntryOf)
      }),

    taskCounts: fromDriver(db, () => db.query<TaskCount>(sql.taskCounts)),

    workers: fromDriver(db, () => db.query<{ id: string; started_at: Date; last_seen: Date; up: boolean; counts: Record<string, number> }>(sql.workers, [workerLiveMs])).pipe(
      Effect.map((rows) => rows.map((row) => ({ id: row.id, startedAt: row.started_at, lastSeen: row.last_seen, up: row.up, counts: row.counts })))
    ),

    census: (workflowType) =>
      fromDriver(db, () => db.query<{ machine_version: number; status: InstanceStatus; state: unknown; count: number }>(sql.census, [workflowType])).pipe(
        Effect.map((rows) => rows.map((row) => ({ machineVersion: row.machine_version, status: row.status, state: row.state, count: row.count })))
      ),

    replay: (workflowType, instanceId, options = {}) =>
      Effect.gen(function*() {
        const [row] = yield* fromDriver(db, () => db.query<InstanceRow>(sql.loadInstance, [workflowType, instanceId]))
        if (row === undefined) return yield* new InstanceNotFound({ workflowType, instanceId })
        const definition = options.definition ?? (yield* registry.version(workflowType, options.version ?? row.machine_version))
        const history = yield* log.readStream(streamOf(workflowType, instanceId))
        return { recordedVersion: row.machine_version, machineVersion: definition.version, ...replaySteps(history, definition.machine, { invocables: invocablesOf(definition) }) }
      }),

    pending: (workflowType, instanceId) =>
      fromDriver(db, () => db.query<{ kind: TaskRow["kind"]; key: string; payload: unknown; due_at: Date; locked_by: string | null; leased_until: Date | null; attempts: number }>(sql.pendingTasks, [streamOf(workflowType, instanceId)])).pipe(
        Effect.map((rows) =>
          rows.map((row) => ({ kind: row.kind, key: row.key, payload: row.payload, dueAt: row.due_at, lockedBy: row.locked_by, leasedUntil: row.leased_until, attempts: row.attempts }))
        )
      )
  }

  const cancelInstance = (workflowType: string, instanceId: string, reason: string, call: CallOptions, consume?: Consume) =>
    recordOnly(
      workflowType,
      instanceId,
      () => [R.WorkflowCancelled.make({ reason }, { metadata: meta("record", call) })],
      (loaded) => {
        const stream = streamOf(workflowType, instanceId)
        const tasks: Array<TaskInsert> = []
        const message = (to: { workflowType: string; instanceId: string }, key: string, event: MachineEvent): TaskInsert => ({
          kind: "message", stream_id: stream, workflow_type: workflowType, instance_id: instanceId, key, payload: { to, from: stream, event }, due_at: null, locked_by: null, lease_ms: null
        })
        for (const [invokeId, child] of Object.entries(loaded.row.children)) {
          tasks.push(message(child, `cancel:${invokeId}`, { type: "orrery.cancel", reason: `parent ${stream} cancelled: ${reason}` }))
        }
        if (loaded.row.parent !== null) {
          const parent = loaded.row.parent
          tasks.push(message(parent, `cancelled:${instanceId}`, { type: `xstate.error.actor.${parent.invokeId}`, error: { _tag: "Cancelled", reason }, actorId: parent.invokeId }))
        }
        return { status: "cancelled", failure: { reason }, tasks, dropAllTasks: true }
      },
      consume
    )

  // -- what workers call ----------------------------------------------------------

  const consumeOf = (task: TaskRow, workerId: string): Consume => ({ taskId: task.id, workerId, activityInput: task.payload?.input })

  /** A task nobody wants any more (its instance is final, or gone): drop it, recording why. */
  const drop = (task: TaskRow, workerId: string) =>
    fromDriver(db, () => db.query(sql.consumeTask, [task.id, workerId])).pipe(Effect.asVoid)

  const runtime: RuntimeShape = {
    schema,
    statements: sql,
    completeActivity: (task, workerId, outcome) =>
      apply(task.workflow_type, task.instance_id, { kind: "activity", activityId: task.payload.activityId, src: task.payload.src, ok: outcome.ok, value: outcome.value, attempts: outcome.attempts, durationMs: outcome.durationMs, worker: workerId }, {}, consumeOf(task, workerId)).pipe(
        Effect.flatMap((outcome2) => {
          if (outcome2._tag === "Applied") return Effect.void
          const reason = outcome2._tag === "Gone" ? "the activity was stopped or taken over before its result arrived" : outcome2._tag === "Final" ? `the instance is ${outcome2.loaded.row.status}` : "the current state does not take this result"
          const ignored = recordOnly(task.workflow_type, task.instance_id, () => [R.ActivityIgnored.make({ activityId: task.payload.activityId, src: task.payload.src, outcome: outcome.ok ? "completed" : "failed", reason }, { metadata: { kind: "record" } })], (loaded) => ({ status: loaded.row.status, failure: loaded.row.failure })).pipe(Effect.catchTag("TaskGone", Effect.die))
          return (outcome2._tag === "Gone" ? ignored : drop(task, workerId).pipe(Effect.andThen(ignored))).pipe(Effect.asVoid)
        }),
        Effect.catchTags({ InstanceNotFound: () => drop(task, workerId), WorkflowNotFound: () => drop(task, workerId) })
      ),
    recordAttemptFailure: (task, attempt) =>
      recordOnly(
        task.workflow_type,
        task.instance_id,
        () => [R.ActivityAttemptFailed.make({ activityId: task.payload.activityId, src: task.payload.src, ...attempt }, { metadata: { kind: "record" } })],
        (loaded) => ({ status: loaded.row.status, failure: loaded.row.failure })
      ).pipe(
        Effect.asVoid,
        Effect.catchTags({ InstanceNotFound: () => Effect.void, WorkflowNotFound: () => Effect.void, TaskGone: () => Effect.void })
      ),
    fireTimer: (task, workerId) =>
      apply(task.workflow_type, task.instance_id, { kind: "timer", timerId: task.payload.timerId, event: task.payload.event, dueAt: task.payload.dueAt }, {}, consumeOf(task, workerId)).pipe(
        Effect.flatMap((outcome) => (outcome._tag === "Applied" || outcome._tag === "Gone" ? Effect.void : drop(task, workerId))),
        Effect.catchTags({ InstanceNotFound: () => drop(task, workerId), WorkflowNotFound: () => drop(task, workerId) })
      ),
    deliverMessage: (task, workerId) => {
      const { to, from, event } = task.payload as { to: { workflowType: string; instanceId: string }; from: string; event: MachineEvent }
      const delivered =
        event.type === "orrery.cancel"
          ? load(to.workflowType, to.instanceId).pipe(
              Effect.flatMap((target) =>
                finalStatuses.has(target.row.status)
                  ? drop(task, workerId)
                  : cancelInstance(to.workflowType, to.instanceId, String(event.reason ?? "cancelled"), {}, consumeOf(task, workerId)).pipe(Effect.asVoid)
              )
            )
          : apply(to.workflowType, to.instanceId, { kind: "message", from, event }, {}, consumeOf(task, workerId)).pipe(
              Effect.flatMap((outcome) => (outcome._tag === "Applied" || outcome._tag === "Gone" ? Effect.void : drop(task, workerId)))
            )
      return (delivered as Effect.Effect<void, WorkflowNotFound | InstanceNotFound | EngineError | TaskGone>).pipe(
        Effect.catchTags({
          // The target may be a child whose start is still on its way: try again shortly, for a while.
          InstanceNotFound: () =>
            task.attempts < 150
              ? Effect.flatMap(Clock.currentTimeMillis, (now) => fromDriver(db, () => db.query(sql.retryLater, [task.id, workerId, 200, new Date(now).toISOString()]))).pipe(Effect.asVoid)
              : drop(task, workerId),
          WorkflowNotFound: () => drop(task, workerId),
          TaskGone: () => Effect.void
        })
      )
    },
    startChild: (task, workerId) => {
      const { workflowType, instanceId, input, parent } = task.payload as { workflowType: string; instanceId: string; input: unknown; parent: ParentLink }
      return registry.newest(workflowType).pipe(
        Effect.flatMap((definition) =>
          decodeInput(`${workflowType} input`, definition.events.input, input).pipe(
            Effect.flatMap((normalized) => startInstance(definition, instanceId, normalized, {}, parent, consumeOf(task, workerId)))
          )
        ),
        Effect.asVoid,
        Effect.catchTag("TaskGone", () => Effect.void),
        Effect.catchTag("InstanceExists", () => drop(task, workerId)),
        Effect.catchTags({
          // A child that cannot start fails its invoke in the parent.
          InvalidEvent: (error) => apply(parent.workflowType, parent.instanceId, { kind: "message", from: streamOf(workflowType, instanceId), event: { type: `xstate.error.actor.${parent.invokeId}`, error: { _tag: "InvalidEvent", message: error.message }, actorId: parent.invokeId } }, {}, consumeOf(task, workerId)).pipe(Effect.asVoid, Effect.catch(() => drop(task, workerId))),
          WorkflowNotFound: () => drop(task, workerId)
        })
      )
    },
    attachLocalWorker: (worker) =>
      Effect.sync(() => {
        localWorker = worker
      }),
    definitionOf: (workflowType, instanceId) =>
      load(workflowType, instanceId).pipe(
        Effect.map((loaded) => loaded.definition as WorkflowDefinition<any> | undefined),
        Effect.catchTags({ InstanceNotFound: () => Effect.succeed(undefined), WorkflowNotFound: () => Effect.succeed(undefined) })
      )
  }

  return { engine, runtime }
})

/** An event of an instance's stream as its history shows it: the worker of an activity attempt named beside its data. */
export const historyEntryOf = (event: RecordedEvent): HistoryEntry => {
  const worker = R.workerOf(event)
  return {
    eventId: event.eventId,
    position: event.position,
    streamVersion: event.streamVersion,
    kind: R.kindOf(event),
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    time: event.recordedAt,
    ...(worker === undefined ? {} : { worker })
  }
}

const formatCursor = (row: InstanceRow) =>
  Buffer.from(JSON.stringify([row.created_at.toISOString(), row.workflow_type, row.instance_id])).toString("base64url")

const parseCursor = (cursor: string): [string, string, string] | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    return Array.isArray(parsed) && parsed.length === 3 && parsed.every((part) => typeof part === "string" && !part.includes("\u0000")) && !Number.isNaN(Date.parse(String(parsed[0])))
      ? (parsed as [string, string, string])
      : undefined
  } catch {
    return undefined
  }
}

/** Engine and EngineRuntime over the log, its database and the registry. */
export const layer = (options: EngineOptions = {}) =>
  Layer.effectContext(
    make(options).pipe(
      Effect.map(({ engine, runtime }) => Context.make(Engine, engine).pipe(Context.add(EngineRuntime, runtime)))
    )
  )

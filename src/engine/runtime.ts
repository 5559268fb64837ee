/**
 * The engine as workers see it: the results of the work they claimed. An
 * activity's outcome, a timer's firing, a message's delivery and a child's
 * start each come back here and are recorded as the input they stand for, in
 * the transaction that consumes the task. A task that no longer fits (its
 * instance is final or gone, its result comes too late) is dropped, and the
 * history says why. A claimed row that does not decode is parked as a
 * `MalformedTask` before anything runs it.
 */
import { Clock, Context, Effect, Result } from "effect"
import type { InstanceNotFound, MalformedTask, WorkflowNotFound } from "./errors.js"
import type { Consume, InstanceStore, TaskGone } from "./instance-store.js"
import { type Input, cancelPlan, finalStatuses, normalize, recordPlan } from "./plan.js"
import * as R from "./records.js"
import type { WorkflowRegistry } from "./registry.js"
import { type EngineError, type LocalWorker, refuseCorrupted, type Stepper } from "./stepper.js"
import type { EngineStatements, TaskRow } from "./store.js"
import { type ActivityTask, type MessageTask, type StartTask, type Task, type TimerTask, decodeTask } from "./task-payloads.js"
import { type WorkflowDefinition, streamOf } from "./workflow.js"

export type { LocalWorker } from "./stepper.js"

/** What workers call: the results of the work they claimed. */
export interface RuntimeShape {
  readonly schema: string
  readonly statements: EngineStatements
  /**
   * Claimed rows, decoded: the tasks to run. A row whose kind or payload does not decode is parked
   * (recorded in its instance's history as a `MalformedTask`, its instance failed, the row removed) and left out.
   */
  readonly admit: (rows: ReadonlyArray<TaskRow>, workerId: string) => Effect.Effect<ReadonlyArray<Task>>
  readonly completeActivity: (
    task: ActivityTask,
    workerId: string,
    outcome: { readonly ok: boolean; readonly value: unknown; readonly attempts: number; readonly durationMs: number }
  ) => Effect.Effect<void, EngineError>
  readonly recordAttemptFailure: (task: ActivityTask, attempt: Omit<typeof R.ActivityAttemptFailed.schema.Type, "activityId" | "src">) => Effect.Effect<void, EngineError>
  readonly fireTimer: (task: TimerTask, workerId: string) => Effect.Effect<void, EngineError>
  readonly deliverMessage: (task: MessageTask, workerId: string) => Effect.Effect<void, EngineError>
  readonly startChild: (task: StartTask, workerId: string) => Effect.Effect<void, EngineError>
  /**
   * A worker in this process takes the tasks this process schedules, leased to it at once — those
   * for which `keep` says yes (one in N when N workers are live; the rest go to every worker's claims).
   */
  readonly attachLocalWorker: (worker: LocalWorker) => Effect.Effect<void>
  readonly definitionOf: (workflowType: string, instanceId: string) => Effect.Effect<WorkflowDefinition<any> | undefined, EngineError>
  /** Folds the census's pending changes into its counts (a worker does on each beat). */
  readonly foldCounts: Effect.Effect<void, EngineError>
  /** Analyzes the engine's tables that have outgrown their statistics (a worker does on each beat); answers which. */
  readonly refreshStatistics: Effect.Effect<ReadonlyArray<string>, EngineError>
  /** One page of the instances in key order, naming those whose row is ahead of their log (`orrery doctor`). */
  readonly instancesAheadOfLog: InstanceStore["instancesAheadOfLog"]
}

export class EngineRuntime extends Context.Service<EngineRuntime, RuntimeShape>()("orrery/engine/EngineRuntime") {}

/** How long a message waits for a target that has not started yet, and how often it looks again. */
const messageRetries = 150
const messageRetryMs = 200

/**
 * The runtime over the stepper, the store and the registry.
 *
 * @example
 * const runtime = makeRuntime(store, steps, registry)
 * yield* runtime.fireTimer(claimedTimer, "worker-1")
 */
export const makeRuntime = (store: InstanceStore, steps: Stepper, registry: WorkflowRegistry["Service"]): RuntimeShape => {
  const consumeOf = (task: Pick<TaskRow, "id">, workerId: string): Consume => ({ taskId: task.id, workerId })

  /** A task nobody wants any more (its instance is final, or gone): drop it. */
  const drop = (task: Pick<TaskRow, "id">, workerId: string) => store.consumeTask(task.id, workerId)

  /**
   * A row that does not decode can never run: take it off the table in a step that records it, and
   * fail its instance (still running, it would wait for this task forever). With no instance to
   * tell, the row is dropped and the log says so. Should the parking itself fail, the row stays
   * leased and comes back once, decoded and parked again, after its lease: never a tight loop.
   */
  const park = (row: TaskRow, error: MalformedTask, workerId: string) => {
    const malformedTask = { _tag: error._tag, taskId: error.taskId, kind: error.kind, key: error.key, stream: error.stream, reason: error.reason }
    const recorded = R.TaskMalformed.make({ taskId: row.id, kind: row.kind, key: row.key, payload: row.payload ?? null, reason: error.reason }, { metadata: { kind: "record" } })
    return Effect.logWarning(`worker ${workerId}: ${error.message}; parked`).pipe(
      Effect.andThen(
        steps.record(row.workflow_type, row.instance_id, (loaded) =>
          Result.succeed(
            recordPlan(loaded, [recorded], finalStatuses.has(loaded.row.status) ? { status: loaded.row.status, failure: loaded.row.failure } : { status: "failed", failure: { reason: error.message, malformedTask } })
          ), consumeOf(row, workerId))
      ),
      Effect.asVoid,
      Effect.catchTags({ InstanceNotFound: () => drop(row, workerId), WorkflowNotFound: () => drop(row, workerId), TaskGone: () => Effect.void }),
      Effect.catchCause((cause) => Effect.logWarning(`worker ${workerId}: could not park malformed task ${row.id}; it comes back after its lease`, cause))
    )
  }

  const admit: RuntimeShape["admit"] = (rows, workerId) =>
    Effect.gen(function*() {
      const tasks: Array<Task> = []
      for (const row of rows) {
        const decoded = decodeTask(row)
        if (Result.isSuccess(decoded)) tasks.push(decoded.success)
        else yield* park(row, decoded.failure, workerId)
      }
      // Each activity's result and each timer steps its own instance: load them all now, in one statement.
      yield* store.preload(tasks.filter((task) => task.kind === "activity" || task.kind === "timer").map((task) => ({ workflowType: task.workflow_type, instanceId: task.instance_id })))
      return tasks
    })

  const completeActivity: RuntimeShape["completeActivity"] = (task, workerId, outcome) => {
    const input: Input = { kind: "activity", activityId: task.payload.activityId, src: task.payload.src, ok: outcome.ok, value: outcome.value, attempts: outcome.attempts, durationMs: outcome.durationMs, worker: workerId, activityInput: task.payload.input }
    return steps.apply(task.workflow_type, task.instance_id, input, {}, consumeOf(task, workerId)).pipe(
      Effect.flatMap((applied) => {
        if (applied._tag === "Applied") return Effect.void
        const reason = applied._tag === "Gone" ? "the activity was stopped or taken over before its result arrived" : applied._tag === "Final" ? `the instance is ${applied.loaded.row.status}` : "the current state does not take this result"
        const ignored = steps
          .note(task.workflow_type, task.instance_id, () => [R.ActivityIgnored.make({ activityId: task.payload.activityId, src: task.payload.src, outcome: outcome.ok ? "completed" : "failed", reason }, { metadata: { kind: "record" } })])
          .pipe(Effect.catchTag("TaskGone", Effect.die))
        return (applied._tag === "Gone" ? ignored : drop(task, workerId).pipe(Effect.andThen(ignored))).pipe(Effect.asVoid)
      }),
      Effect.catchTags({ InstanceNotFound: () => drop(task, workerId), WorkflowNotFound: () => drop(task, workerId) })
    )
  }

  const recordAttemptFailure: RuntimeShape["recordAttemptFailure"] = (task, attempt) =>
    steps
      .note(task.workflow_type, task.instance_id, () => [R.ActivityAttemptFailed.make({ activityId: task.payload.activityId, src: task.payload.src, ...attempt }, { metadata: { kind: "record" } })])
      .pipe(
        Effect.asVoid,
        Effect.catchTags({ InstanceNotFound: () => Effect.void, WorkflowNotFound: () => Effect.void, TaskGone: () => Effect.void })
      )

  const fireTimer: RuntimeShape["fireTimer"] = (task, workerId) =>
    steps.apply(task.workflow_type, task.instance_id, { kind: "timer", timerId: task.payload.timerId, event: task.payload.event, dueAt: task.payload.dueAt }, {}, consumeOf(task, workerId)).pipe(
      Effect.flatMap((outcome) => (outcome._tag === "Applied" || outcome._tag === "Gone" ? Effect.void : drop(task, workerId))),
      Effect.catchTags({ InstanceNotFound: () => drop(task, workerId), WorkflowNotFound: () => drop(task, workerId) })
    )

  const deliverMessage: RuntimeShape["deliverMessage"] = (task, workerId) => {
    const { to, from, event } = task.payload
    const delivered =
      event.type === "orrery.cancel"
        ? store.load(to.workflowType, to.instanceId).pipe(
            Effect.flatMap((target) =>
              finalStatuses.has(target.row.status)
                ? drop(task, workerId)
                : steps.record(to.workflowType, to.instanceId, (loaded) => Result.succeed(cancelPlan(loaded, String(event.reason ?? "cancelled"), {})), consumeOf(task, workerId)).pipe(Effect.asVoid)
            )
          )
        : steps.apply(to.workflowType, to.instanceId, { kind: "message", from, event }, {}, consumeOf(task, workerId)).pipe(
            Effect.flatMap((outcome) => (outcome._tag === "Applied" || outcome._tag === "Gone" ? Effect.void : drop(task, workerId)))
          )
    return (delivered as Effect.Effect<void, WorkflowNotFound | InstanceNotFound | EngineError | TaskGone>).pipe(
      Effect.catchTags({
        // The target may be a child whose start is still on its way: try again shortly, for a while.
        InstanceNotFound: () =>
          task.attempts < messageRetries
            ? Effect.flatMap(Clock.currentTimeMillis, (now) => store.retryLater(task.id, workerId, messageRetryMs, now))
            : drop(task, workerId),
        WorkflowNotFound: () => drop(task, workerId),
        TaskGone: () => Effect.void
      })
    )
  }

  const startChild: RuntimeShape["startChild"] = (task, workerId) => {
    const { workflowType, instanceId, input, parent } = task.payload
    return registry.newest(workflowType).pipe(
      Effect.flatMap((definition) =>
        Effect.fromResult(normalize(`${workflowType} input`, definition.events.input, input)).pipe(
          Effect.flatMap((normalized) => steps.start(definition, instanceId, normalized, {}, parent, consumeOf(task, workerId)))
        )
      ),
      Effect.asVoid,
      Effect.catchTag("TaskGone", () => Effect.void),
      Effect.catchTag("InstanceExists", () => drop(task, workerId)),
      Effect.catchTags({
        // A child that cannot start fails its invoke in the parent.
        InvalidEvent: (error) =>
          steps
            .apply(parent.workflowType, parent.instanceId, { kind: "message", from: streamOf(workflowType, instanceId), event: { type: `xstate.error.actor.${parent.invokeId}`, error: { _tag: "InvalidEvent", message: error.message }, actorId: parent.invokeId } }, {}, consumeOf(task, workerId))
            .pipe(Effect.asVoid, Effect.catch(() => drop(task, workerId))),
        WorkflowNotFound: () => drop(task, workerId)
      })
    )
  }

  return {
    schema: store.schema,
    statements: store.statements,
    admit,
    completeActivity,
    recordAttemptFailure,
    fireTimer,
    deliverMessage,
    startChild,
    attachLocalWorker: steps.attachLocalWorker,
    foldCounts: store.foldCounts,
    refreshStatistics: store.refreshStatistics,
    instancesAheadOfLog: store.instancesAheadOfLog,
    // A corrupted instance's activity does not run: its result could not be recorded.
    definitionOf: (workflowType, instanceId) =>
      store.load(workflowType, instanceId).pipe(
        Effect.flatMap(refuseCorrupted),
        Effect.map((loaded) => loaded.definition as WorkflowDefinition<any> | undefined),
        Effect.catchTags({ InstanceNotFound: () => Effect.succeed(undefined), WorkflowNotFound: () => Effect.succeed(undefined) })
      )
  }
}

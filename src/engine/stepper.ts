/**
 * Taking steps: the loop around the pure planning. Every write to an instance
 * goes load → plan → write, as one transaction with the expected stream
 * version; when another writer got there first the write conflicts and the
 * whole thing runs again on the fresh state. Both the public engine and the
 * runtime the workers call take their steps here.
 *
 * The stepper also hands the tasks a step schedules to the worker in this
 * process (leased to it in the same transaction), so that a busy instance's
 * next activity starts without a round trip through the claim.
 */
import { Clock, Duration, Effect, Random, Result } from "effect"
import { IntegrityError, type InvalidEvent, type NewEvent, type StoreUnavailable } from "../log/index.js"
import { InstanceBusy, InstanceExists, type InstanceNotFound, type WorkflowNotFound } from "./errors.js"
import { Conflict, type Consume, type Insert, type InstanceStore, type TaskGone, type TaskInsert } from "./instance-store.js"
import { type Input, type Loaded, type Plan, type PlannedTask, afterWrite, decide, decideStart, finalStatuses, recordPlan } from "./plan.js"
import type { WorkflowRegistry } from "./registry.js"
import type { Invocables } from "./step.js"
import type { InstanceRow, ParentLink } from "./store.js"
import type { Task } from "./task-payloads.js"
import type { CallOptions, StartOptions } from "./views.js"
import { type WorkflowDefinition, streamOf } from "./workflow.js"

/**
 * What any call that steps an instance can fail with, whatever it asked; `IntegrityError` when the
 * instance is marked corrupted (its history was changed behind the log's back): it takes no input
 * until an operator has repaired the history and verified it.
 */
export type EngineError = StoreUnavailable | InstanceBusy | IntegrityError

/** Refuses an instance marked corrupted, naming where its history breaks. */
export const refuseCorrupted = (loaded: Loaded): Effect.Effect<Loaded, IntegrityError> => {
  const mark = loaded.row.corrupted
  if (mark === null || mark === undefined) return Effect.succeed(loaded)
  return Effect.fail(new IntegrityError({ stream: streamOf(loaded.row.workflow_type, loaded.row.instance_id), version: mark.version, reason: mark.reason }))
}

/** The worker in this process, as the engine sees it. */
export interface LocalWorker {
  readonly id: string
  /** Whether to lease the next task to this worker at once rather than leave it for a claim. */
  readonly keep: () => boolean
  readonly take: (tasks: ReadonlyArray<Task>) => void
}

/** What an input came to. */
export type ApplyOutcome =
  | { readonly _tag: "Applied"; readonly loaded: Loaded }
  | { readonly _tag: "NotAccepted"; readonly loaded: Loaded }
  | { readonly _tag: "Final"; readonly loaded: Loaded }
  /** The task that carried the input was gone before it could be consumed: nothing was written. */
  | { readonly _tag: "Gone" }

const maxConflictRetries = 25

/**
 * The stepper over a store and the registry; `leaseMs` is how long a task handed to the local worker stays leased to it.
 *
 * @example
 * const steps = makeStepper(store, registry, 30_000)
 * const outcome = yield* steps.apply("order", "o-1", { kind: "event", event: { type: "PAY" } }, {})
 */
export const makeStepper = (store: InstanceStore, registry: WorkflowRegistry["Service"], leaseMs: number) => {
  let localWorker: LocalWorker | undefined

  const invocablesOf = (definition: WorkflowDefinition<any>): Invocables => ({
    isActivity: (src: string) => src in definition.activities,
    isWorkflow: (src: string) => registry.isWorkflowType(src)
  })

  /** Planned tasks as rows: the local worker keeps its share, leased to it at once; the rest wait for a claim. */
  const leased = (tasks: ReadonlyArray<PlannedTask>): ReadonlyArray<{ readonly planned: PlannedTask; readonly row: TaskInsert }> =>
    tasks.map((planned) => {
      const { local, ...task } = planned
      const kept = local && localWorker !== undefined && localWorker.keep()
      return { planned, row: { ...task, locked_by: kept ? localWorker!.id : null, lease_ms: kept ? leaseMs : null } }
    })

  /** Writes a plan and hands the local worker what it kept. */
  const write = (
    row: Pick<InstanceRow, "workflow_type" | "instance_id" | "stream_version" | "machine_version">,
    definition: WorkflowDefinition<any>,
    plan: Plan,
    consume: Consume | undefined,
    insert?: Insert
  ) => {
    const tasks = leased(plan.tasks)
    return store.write(row, definition, plan, tasks.map((task) => task.row), consume, insert).pipe(
      Effect.tap((inserted) =>
        Effect.sync(() => {
          const local = tasks.filter((task) => task.row.locked_by !== null).map((task) => task.planned)
          if (local.length === 0 || localWorker === undefined) return
          const ids = new Map(inserted.map((t) => [`${t.kind}:${t.key}`, t.id]))
          // Written by this step from typed payloads: handed over as they are, nothing to decode.
          localWorker.take(
            local.map(({ local: _local, due_at: _dueAt, ...t }): Task => ({ ...t, id: ids.get(`${t.kind}:${t.key}`)!, due_at: new Date(), attempts: t.kind === "activity" ? 1 : 0 }))
          )
        })
      ),
      Effect.asVoid
    )
  }

  /**
   * A conflict that repeats may be no race at all: an instance row ahead of its log (its last rows
   * deleted behind the log's back) conflicts on every append. From the third, that is checked; such
   * an instance is marked corrupted and the input refused, where it would otherwise spin to InstanceBusy.
   */
  const truncation = (workflowType: string, instanceId: string) =>
    store.missingVersion(workflowType, instanceId).pipe(
      Effect.flatMap((version) => {
        if (version === undefined) return Effect.void
        const error = new IntegrityError({ stream: streamOf(workflowType, instanceId), version, reason: "missing" })
        return Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => store.markCorrupted(workflowType, instanceId, error, now)),
          Effect.andThen(Effect.fail(error))
        )
      })
    )

  const retryOnConflict = <A, E, R>(workflowType: string, instanceId: string, once: Effect.Effect<A, E | Conflict, R>) => {
    const attempt = (left: number): Effect.Effect<A, Exclude<E, Conflict> | InstanceBusy | IntegrityError | StoreUnavailable, R> =>
      once.pipe(
        Effect.catch((error) => {
          if (!(error instanceof Conflict)) return Effect.fail(error as Exclude<E, Conflict>)
          store.forget(workflowType, instanceId)
          const checked = maxConflictRetries - left >= 2 ? truncation(workflowType, instanceId) : Effect.void
          return left > 0
            ? checked.pipe(
                Effect.andThen(Random.nextIntBetween(0, 5 * (maxConflictRetries - left + 1))),
                Effect.flatMap((jitter) => Effect.sleep(Duration.millis(jitter))),
                Effect.andThen(attempt(left - 1))
              )
            : Effect.fail(new InstanceBusy({ workflowType, instanceId }))
        })
      )
    return attempt(maxConflictRetries)
  }

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
      const fromCache = store.isCached(workflowType, instanceId)
      const loaded = yield* Effect.flatMap(store.load(workflowType, instanceId), refuseCorrupted)
      if (finalStatuses.has(loaded.row.status)) return { _tag: "Final", loaded } as const
      // The engine's time is Effect's Clock: a test clock moves timers without waiting for them.
      const now = yield* Clock.currentTimeMillis
      const decision = decide(loaded, input, call, now, invocablesOf(loaded.definition))
      switch (decision._tag) {
        case "NotAccepted":
          // Refusing on a cached state that another process has moved past would drop the input for good.
          if (fromCache && !checkedFresh) {
            checkedFresh = true
            store.forget(workflowType, instanceId)
            return yield* Effect.fail(new Conflict())
          }
          return { _tag: "NotAccepted", loaded } as const
        case "Failed":
          yield* write(loaded.row, loaded.definition, decision.plan, consume).pipe(Effect.catchTag("InstanceExists", Effect.die))
          // The failed step's state is the old one plus a failure: load it afresh when next asked.
          store.forget(workflowType, instanceId)
          return { _tag: "Applied", loaded } as const
        case "Stepped": {
          yield* write(loaded.row, loaded.definition, decision.plan, consume).pipe(Effect.catchTag("InstanceExists", Effect.die))
          const next = afterWrite(loaded, decision.plan, new Date(now))
          store.remember(next)
          return { _tag: "Applied", loaded: next } as const
        }
      }
    })
    return retryOnConflict(workflowType, instanceId, once).pipe(
      Effect.catchTag("TaskGone", () => Effect.succeed({ _tag: "Gone" } as const)),
      // The span names the step well enough; a stack trace per input cost 3 % of a worker's CPU.
      Effect.withSpan("orrery.step", { attributes: { "orrery.workflow": workflowType, "orrery.instance": instanceId, "orrery.input": input.kind } }, {
        captureStackTrace: false
      })
    )
  }

  /** Appends records that are no step (attempts, cancellations, retries), moving the instance row along. */
  const record = <E = never>(
    workflowType: string,
    instanceId: string,
    planOf: (loaded: Loaded) => Result.Result<Plan, E>,
    consume?: Consume
  ) =>
    retryOnConflict(
      workflowType,
      instanceId,
      Effect.gen(function*() {
        const loaded = yield* Effect.flatMap(store.load(workflowType, instanceId), refuseCorrupted)
        const plan = yield* Effect.fromResult(planOf(loaded))
        yield* write(loaded.row, loaded.definition, plan, consume).pipe(Effect.catchTag("InstanceExists", Effect.die))
        // Records keep the database's idea of "updated": the wall clock, not a test clock.
        const next = afterWrite(loaded, plan, new Date())
        store.remember(next)
        return next
      })
    )

  /** Records of what happened beside the machine, leaving its status and failure as they are. */
  const note = (workflowType: string, instanceId: string, events: (loaded: Loaded) => ReadonlyArray<NewEvent>, consume?: Consume) =>
    record(workflowType, instanceId, (loaded) => Result.succeed(recordPlan(loaded, events(loaded), { status: loaded.row.status, failure: loaded.row.failure })), consume)

  /** Starts an instance with an input already normalized; an id that is taken is `InstanceExists`. */
  const start = (
    definition: WorkflowDefinition<any>,
    instanceId: string,
    input: unknown,
    call: StartOptions,
    parent: ParentLink | null,
    consume?: Consume
  ): Effect.Effect<Loaded, InvalidEvent | InstanceExists | TaskGone | StoreUnavailable> =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const { row, plan } = yield* Effect.fromResult(decideStart(definition, instanceId, input, call, parent, now, invocablesOf(definition)))
      yield* write(row, definition, plan, consume, { parent, idempotencyKey: call.idempotencyKey ?? null }).pipe(
        Effect.catchTag("Conflict", () => Effect.fail(new InstanceExists({ workflowType: definition.type, instanceId })))
      )
      const loaded = afterWrite({ row, definition, snapshot: plan.snapshot }, plan, new Date(now))
      store.remember(loaded)
      return loaded
    })

  const attachLocalWorker = (worker: LocalWorker) =>
    Effect.sync(() => {
      localWorker = worker
    })

  return { apply, record, note, start, invocablesOf, attachLocalWorker }
}

export type Stepper = ReturnType<typeof makeStepper>

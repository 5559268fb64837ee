/**
 * The instance store: where instances and their tasks live between steps.
 * It loads an instance (through a small cache of live snapshots, checked by
 * version on every write), writes a planned step as one transaction, and maps
 * what the database answers — optimistic conflicts, a task that is gone, an id
 * that is taken, a lost connection — to typed failures. It also answers the
 * read-only queries over those tables (lists, counts, pending tasks).
 *
 * The SQL itself is in `store.ts`; what to write is decided in `plan.ts`.
 */
import { Effect, Result } from "effect"
import { Database, EventLog, type IntegrityError, InvalidCursor, InvalidEvent, type StoreUnavailable, encodeBatch, fromDriver, migrate } from "../log/index.js"
import { InstanceExists, InstanceNotFound } from "./errors.js"
import type { Loaded, Plan, PlannedTask } from "./plan.js"
import { persistSnapshot, restoreSnapshot } from "./pure.js"
import { WorkflowRegistry } from "./registry.js"
import { makeStepBatcher } from "./step-batcher.js"
import { type CorruptionMark, type InstanceRow, type InstanceStatus, type ParentLink, type TaskKind, engineMigrations, engineStatements, listStatement, workerLiveMs } from "./store.js"
import type { ListFilter, PendingTask, StateCount, TaskCount, WorkerView } from "./views.js"
import { type WorkflowDefinition, streamOf } from "./workflow.js"

/** Which instance: its workflow type and id. */
export interface InstanceKey {
  readonly workflowType: string
  readonly instanceId: string
}

/** The instance changed under us (append conflict or version-guarded update): load again and re-run. */
export class Conflict {
  readonly _tag = "Conflict"
}

/** The claimed task is gone: cancelled, or another worker took it over after our lease ran out. */
export class TaskGone {
  readonly _tag = "TaskGone"
}

/** A task row to insert: a planned task with the worker it is leased to at once, if any. */
export interface TaskInsert extends Omit<PlannedTask, "local"> {
  readonly locked_by: string | null
  readonly lease_ms: number | null
}

/** A claimed task that the write consumes; its row must still be leased to the worker. */
export interface Consume {
  readonly taskId: number
  readonly workerId: string
}

/** A new instance: the write inserts its row instead of moving it. */
export interface Insert {
  readonly parent: ParentLink | null
  readonly idempotencyKey: string | null
}

export interface InstanceStoreOptions {
  readonly schema: string
  /** Instances kept live in memory; 0 reloads every input from the database. */
  readonly cacheSize: number
}

/**
 * The store over the engine's tables in `schema`, migrating them first.
 *
 * @example
 * const store = yield* makeInstanceStore({ schema: "orrery", cacheSize: 10_000 })
 * const loaded = yield* store.load("order", "o-1")
 */
export const makeInstanceStore = Effect.fnUntraced(function*(options: InstanceStoreOptions) {
  const db = yield* Database
  const log = yield* EventLog
  const registry = yield* WorkflowRegistry
  const { schema, cacheSize } = options
  const sql = engineStatements(schema)
  yield* fromDriver(db, () => migrate(db, schema, engineMigrations))
  const tasksChannel = `orrery_tasks_${schema}`
  const recordStep = makeStepBatcher(db, sql)

  // -- the cache of live instances -----------------------------------------------

  /** Live snapshots of recently used instances, keyed by stream; checked against the version on every write. */
  const cache = new Map<string, Loaded>()

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

  const forget = (workflowType: string, instanceId: string) => {
    cache.delete(streamOf(workflowType, instanceId))
  }

  const isCached = (workflowType: string, instanceId: string) => cache.has(streamOf(workflowType, instanceId))

  // -- loading -----------------------------------------------------------------------

  const findRow = (workflowType: string, instanceId: string) =>
    fromDriver(db, () => db.query<InstanceRow>(sql.loadInstance, [workflowType, instanceId])).pipe(Effect.map(([row]) => row))

  /** The instance with the definition of its version and its live snapshot: from the cache, else the database. */
  const load = (workflowType: string, instanceId: string) =>
    Effect.gen(function*() {
      const cached = cache.get(streamOf(workflowType, instanceId))
      if (cached !== undefined) return cached
      const row = yield* findRow(workflowType, instanceId)
      if (row === undefined) return yield* new InstanceNotFound({ workflowType, instanceId })
      const definition = yield* registry.version(workflowType, row.machine_version)
      const loaded: Loaded = { row, definition, snapshot: restoreSnapshot(definition.machine, row.snapshot) }
      remember(loaded)
      return loaded
    })

  /**
   * Loads into the cache, in one statement, the instances named that it does not hold: a worker does
   * for the tasks it has just claimed, whose results would otherwise load each instance on its own
   * (one round trip per task, the largest part of a claimed activity's). Best effort: whatever fails
   * here is met again, and reported, by the load the step makes.
   */
  const preload = (instances: ReadonlyArray<{ readonly workflowType: string; readonly instanceId: string }>) => {
    if (cacheSize === 0) return Effect.void
    const missing = new Map<string, readonly [string, string]>()
    for (const { workflowType, instanceId } of instances) {
      const stream = streamOf(workflowType, instanceId)
      if (!cache.has(stream)) missing.set(stream, [workflowType, instanceId])
    }
    if (missing.size === 0) return Effect.void
    return fromDriver(db, () => db.query<InstanceRow>(sql.loadInstances, [JSON.stringify([...missing.values()].map(([t, i]) => ({ t, i })))])).pipe(
      Effect.flatMap((rows) =>
        Effect.forEach(rows, (row) =>
          registry.version(row.workflow_type, row.machine_version).pipe(
            Effect.map((definition) => remember({ row, definition, snapshot: restoreSnapshot(definition.machine, row.snapshot) })),
            // A snapshot that does not restore throws: the step's own load meets it and reports it.
            Effect.ignoreCause
          ), { discard: true })
      ),
      Effect.ignore
    )
  }

  const findByIdempotencyKey = (workflowType: string, key: string) =>
    fromDriver(db, () => db.query<InstanceRow>(sql.findByIdempotencyKey, [workflowType, key])).pipe(Effect.map(([row]) => row))

  // -- writing -----------------------------------------------------------------------

  /**
   * One transaction: consume the task, append, move (or insert) the instance row, cancel and
   * add tasks, maybe snapshot. Answers the ids of the tasks it added.
   */
  const write = (
    row: Pick<InstanceRow, "workflow_type" | "instance_id" | "stream_version" | "machine_version">,
    definition: WorkflowDefinition<any>,
    plan: Plan,
    tasks: ReadonlyArray<TaskInsert>,
    consume: Consume | undefined,
    insert: Insert | undefined
  ): Effect.Effect<ReadonlyArray<{ readonly id: number; readonly kind: string; readonly key: string }>, Conflict | TaskGone | InstanceExists | StoreUnavailable> => {
    const stream = streamOf(row.workflow_type, row.instance_id)
    const batch = encodeBatch(plan.events, undefined)
    // Domain events were validated when planned; engine records take any JSON. A failure here is a bug.
    if (Result.isFailure(batch)) return Effect.die(batch.failure)
    const persisted = persistSnapshot(definition.machine, plan.snapshot)
    const snapshotEvery = definition.snapshotEvery ?? 50
    const instanceRow = {
      machine_version: row.machine_version,
      status: plan.status,
      state: plan.snapshot.value,
      snapshot: persisted,
      inputs: plan.inputs,
      parent: insert?.parent ?? null,
      children: plan.children,
      failure: plan.failure,
      idempotency_key: insert?.idempotencyKey ?? null
    }
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
          JSON.stringify(plan.cancel),
          plan.dropAllTasks,
          JSON.stringify(tasks),
          plan.inputs % snapshotEvery === 0 && insert === undefined ? JSON.stringify(persisted) : null,
          // Tasks nobody in this process took: wake the other processes' workers (PGlite has no others).
          db.driver === "postgres" && tasks.some((t) => t.locked_by === null) ? tasksChannel : null
        ]),
      catch: (error) => error
    }).pipe(
      // The read models of these events' types read them now rather than at their next poll.
      Effect.tap(() => log.announce(plan.events.map((event) => event.type))),
      Effect.map((result) => result.tasks),
      Effect.catch((error): Effect.Effect<never, Conflict | TaskGone | InstanceExists | StoreUnavailable> => {
        // The step function's own codes (see store.ts): OR001 the instance moved on, OR002 the task is gone.
        const code = (error as { code?: string }).code
        if (code === "OR002") return Effect.fail(new TaskGone())
        if ((code === "23505" || code === "OR001") && insert !== undefined) {
          return Effect.fail(new InstanceExists({ workflowType: row.workflow_type, instanceId: row.instance_id }))
        }
        if (code === "23505" || code === "OR001") return Effect.fail(new Conflict())
        return fromDriver(db, () => Promise.reject(error))
      })
    )
  }

  /** A claimed task nobody wants any more (its instance is final, or gone): delete it. */
  const consumeTask = (taskId: number, workerId: string) => fromDriver(db, () => db.query(sql.consumeTask, [taskId, workerId])).pipe(Effect.asVoid)

  /** Hands a claimed task back, due again `delayMs` after `now` (epoch ms, the engine's clock). */
  const retryLater = (taskId: number, workerId: string, delayMs: number, now: number) =>
    fromDriver(db, () => db.query(sql.retryLater, [taskId, workerId, delayMs, new Date(now).toISOString()])).pipe(Effect.asVoid)

  // -- corruption ------------------------------------------------------------------

  /** Marks the instance corrupted where `error` says its history breaks; from now on it refuses inputs. */
  const markCorrupted = (workflowType: string, instanceId: string, error: IntegrityError, now: number) => {
    forget(workflowType, instanceId)
    const mark: CorruptionMark = { version: error.version, reason: error.reason ?? "changed", detectedAt: new Date(now).toISOString() }
    return fromDriver(db, () => db.query(sql.markCorrupted, [workflowType, instanceId, JSON.stringify(mark)])).pipe(Effect.asVoid)
  }

  const clearCorrupted = (workflowType: string, instanceId: string) => {
    forget(workflowType, instanceId)
    return fromDriver(db, () => db.query(sql.clearCorrupted, [workflowType, instanceId])).pipe(Effect.asVoid)
  }

  /**
   * The first missing version when the instance row is ahead of its log (rows deleted behind the
   * log's back), else undefined. The row is written in the same transaction as its events, so
   * its version can never be ahead of the log's head otherwise.
   */
  const missingVersion = (workflowType: string, instanceId: string) =>
    fromDriver(db, () => db.query<{ stream_version: number; head: number }>(sql.logHead, [workflowType, instanceId, streamOf(workflowType, instanceId)])).pipe(
      Effect.map(([row]) => (row !== undefined && row.head < row.stream_version ? row.head + 1 : undefined))
    )

  /**
   * One page of a walk over every instance in key order: how many it read, those whose row is ahead
   * of their log (see `missingVersion`), and where the next page begins (undefined at the end).
   */
  const instancesAheadOfLog = (after: InstanceKey | undefined, limit: number) =>
    fromDriver(db, () =>
      db.query<{ workflow_type: string; instance_id: string; ahead: boolean }>(sql.instancesAheadOfLog, [after?.workflowType ?? "", after?.instanceId ?? "", limit])
    ).pipe(
      Effect.map((rows) => {
        const last = rows.at(-1)
        return {
          instances: rows.length,
          ahead: rows.filter((row) => row.ahead).map((row): InstanceKey => ({ workflowType: row.workflow_type, instanceId: row.instance_id })),
          next: rows.length < limit || last === undefined ? undefined : { workflowType: last.workflow_type, instanceId: last.instance_id }
        }
      })
    )

  // -- queries -----------------------------------------------------------------------

  const list = (filter: ListFilter) =>
    Effect.gen(function*() {
      const limit = Math.max(1, Math.min(filter.limit ?? 50, 500))
      let after: [string, string, string] | null = null
      if (filter.cursor !== undefined) {
        const parsed = parseCursor(filter.cursor)
        if (parsed === undefined) return yield* new InvalidCursor({ cursor: filter.cursor })
        after = parsed
      }
      const fields = [["type", filter.type], ["status", filter.status], ["state", filter.state], ["id", filter.id], ["idPrefix", filter.idPrefix]] as const
      for (const [field, value] of fields) {
        // Postgres text cannot hold NUL: refuse it as bad input rather than fail in the driver.
        if (value !== undefined && value.includes("\u0000")) {
          return yield* new InvalidEvent({ eventType: "list", field, reason: "must not contain a NUL character" })
        }
      }
      const path = filter.state?.split(".")
      if (path !== undefined && path.some((key) => key === "")) {
        return yield* new InvalidEvent({ eventType: "list", field: "state", reason: "must be state keys joined by dots, e.g. payment.authorizing" })
      }
      const updatedBefore = filter.updatedBefore === undefined ? null : new Date(filter.updatedBefore)
      if (updatedBefore !== null && Number.isNaN(updatedBefore.getTime())) {
        return yield* new InvalidEvent({ eventType: "list", field: "updatedBefore", reason: "must be a date and time (ISO 8601)" })
      }
      const { text, params } = listStatement(schema, {
        type: filter.type ?? null,
        status: filter.status ?? null,
        statePath: path ?? null,
        updatedBefore: updatedBefore?.toISOString() ?? null,
        id: filter.id ?? null,
        idPrefix: filter.idPrefix ?? null,
        after,
        limit: limit + 1
      })
      const rows = yield* fromDriver(db, () => db.query<InstanceRow>(text, params))
      const last = rows.length > limit ? rows[limit - 1] : undefined
      return { rows: rows.slice(0, limit), nextCursor: last === undefined ? null : formatCursor(last) }
    })

  const taskCounts = fromDriver(db, () => db.query<TaskCount>(sql.taskCounts))

  const workers = fromDriver(db, () => db.query<{ id: string; started_at: Date; last_seen: Date; up: boolean; counts: Record<string, number> }>(sql.workers, [workerLiveMs])).pipe(
    Effect.map((rows) => rows.map((row): WorkerView => ({ id: row.id, startedAt: row.started_at, lastSeen: row.last_seen, up: row.up, counts: row.counts })))
  )

  /**
   * Moves the census's pending changes into its counts, so that they stay few (a worker's beat calls it too);
   * once this process has folded `vacuumAfterChanges` of them, it vacuums their table (see migration 8):
   * autovacuum would too, but later, and PGlite has none.
   */
  let takenSinceVacuum = 0
  const foldCounts = fromDriver(db, () => db.query<{ taken: number }>(sql.foldCounts)).pipe(
    Effect.flatMap(([row]) => {
      takenSinceVacuum += row?.taken ?? 0
      if (takenSinceVacuum < vacuumAfterChanges) return Effect.void
      takenSinceVacuum = 0
      return fromDriver(db, () => db.exec(sql.vacuumCountChanges))
    })
  )

  /**
   * Analyzes the engine's tables that have outgrown their statistics (a worker's beat calls it). Each connection
   * keeps the plans it made; made while a table was nearly empty, they stay until the table is analyzed. On a new
   * database that takes a burst before autovacuum's first analyze (and on PGlite, which has none), instance
   * lookups by primary key were planned on a list index and walked every instance of the type: timers drained
   * at 200/s instead of 1,850/s. A table that has only grown by its tenth is autovacuum's to look after.
   * Answers the tables it analyzed.
   */
  const refreshStatistics = fromDriver(db, () =>
    db.query<{ relname: string }>(sql.outgrownStatistics, [schema, JSON.stringify(statisticsKept), analyzeAfterRows])).pipe(
    // The statement names come from our own list, never from what the server answered.
    Effect.map((rows) => statisticsKept.filter((table) => rows.some((row) => row.relname === table))),
    Effect.tap((outgrown) => Effect.forEach(outgrown, (table) => fromDriver(db, () => db.exec(`analyze ${schema}.${table}`)), { discard: true }))
  )

  const census = (workflowType: string) =>
    foldCounts.pipe(
      Effect.andThen(fromDriver(db, () => db.query<{ machine_version: number; status: InstanceStatus; state: unknown; count: number }>(sql.census, [workflowType])))
    ).pipe(
      Effect.map((rows) => rows.map((row): StateCount => ({ machineVersion: row.machine_version, status: row.status, state: row.state, count: row.count })))
    )

  const pending = (stream: string) =>
    fromDriver(db, () =>
      db.query<{ kind: TaskKind; key: string; payload: unknown; due_at: Date; locked_by: string | null; leased_until: Date | null; attempts: number; waiting_on: string | null }>(sql.pendingTasks, [stream])
    ).pipe(
      Effect.map((rows) =>
        rows.map((row): PendingTask => ({
          kind: row.kind,
          key: row.key,
          payload: row.payload,
          dueAt: row.due_at,
          lockedBy: row.locked_by,
          leasedUntil: row.leased_until,
          attempts: row.attempts,
          // Put back by an open circuit and not claimed since: it waits for the circuit's trial.
          ...(row.waiting_on === null || row.locked_by !== null ? {} : { waitingFor: { circuit: row.waiting_on, trialAt: row.due_at } })
        }))
      )
    )

  return {
    schema,
    statements: sql,
    driver: db.driver,
    load,
    preload,
    findRow,
    findByIdempotencyKey,
    remember,
    forget,
    isCached,
    write,
    consumeTask,
    retryLater,
    markCorrupted,
    clearCorrupted,
    missingVersion,
    instancesAheadOfLog,
    list,
    taskCounts,
    workers,
    foldCounts,
    refreshStatistics,
    census,
    pending
  }
})

export type InstanceStore = Effect.Success<ReturnType<typeof makeInstanceStore>>

/** The tables whose statistics a worker keeps up with, and how many rows a table must change by before it does. */
const statisticsKept = ["events", "instances", "instance_paths", "tasks"]
export const analyzeAfterRows = 1_000

/** How many folded census changes (dead rows in their table) this process lets pile up before it vacuums them. */
export const vacuumAfterChanges = 10_000

// A list cursor is the last row's sort key, opaque to callers.

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

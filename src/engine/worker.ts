/**
 * A worker: claims due tasks with `FOR UPDATE SKIP LOCKED` leases, runs them
 * (activities under their policies, timers, messages, child starts), keeps its
 * leases alive with heartbeats, and hands each result back to the engine in the
 * transaction that consumes the task. Any number of workers in any number of
 * processes share one database; a dead worker's leases run out and another
 * takes its tasks over. Each worker registers in the workers table and beats
 * there; with N workers live, each claims at most its fair share of the work
 * and keeps one in N of the tasks its own steps schedule (leased to it at once,
 * no claim), leaving the rest to the others.
 */
import { Cause, Clock, Context, Duration, Effect, Fiber, Latch, Layer, Semaphore } from "effect"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { type ActivityOutcome, type ActivityWaiting, runActivity } from "../activities/run-activity.js"
import { CircuitBreaker } from "../activities/circuit-breaker.js"
import { Database, fromDriver } from "../log/index.js"
import { EngineRuntime } from "./runtime.js"
import { type TaskRow, workerLiveMs } from "./store.js"
import type { Task } from "./task-payloads.js"
import { streamOf } from "./workflow.js"

export interface WorkerOptions {
  readonly id?: string
  /** Tasks run at once. */
  readonly concurrency?: number
  readonly leaseMs?: number
  /** Longest wait between looks at the task table when nothing wakes the worker. */
  readonly pollMs?: number
  /** How long shutdown waits for work in hand before releasing it to other workers. */
  readonly drainMs?: number
  /** How often the worker says it is alive in the workers table (and learns how many others are). */
  readonly beatMs?: number
}

export interface WorkerShape {
  readonly id: string
  /** Tasks in hand right now. */
  readonly inHand: () => number
}

export class Worker extends Context.Service<Worker, WorkerShape>()("orrery/engine/Worker") {}

const make = Effect.fnUntraced(function*(options: WorkerOptions) {
  const runtime = yield* EngineRuntime
  const db = yield* Database
  const context = yield* Effect.context<CircuitBreaker>()
  const id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const concurrency = options.concurrency ?? 64
  const leaseMs = options.leaseMs ?? 30_000
  const pollMs = options.pollMs ?? 1_000
  const drainMs = options.drainMs ?? 10_000
  const beatMs = Math.min(options.beatMs ?? 2_000, workerLiveMs / 3)
  const sql = runtime.statements

  const inHand = new Map<number, Task>()
  const wake = yield* Latch.make(false)
  const slots = yield* Semaphore.make(concurrency)
  let stopping = false

  const unlisten = yield* Effect.promise(() =>
    db.driver === "postgres" ? db.listen(`orrery_tasks_${runtime.schema}`, () => wake.openUnsafe()).catch(() => undefined) : Promise.resolve(undefined)
  )
  yield* Effect.addFinalizer(() => Effect.promise(() => unlisten?.().catch(() => {}) ?? Promise.resolve()))

  // -- presence: who else works here, and what this worker has run ------------------

  /** Tasks run, by "kind:outcome": running totals since the worker first registered under this id. */
  const counts: Record<string, number> = {}
  const tally = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1
  }
  /** Live workers, this one included, as of the last beat. */
  let live = 1
  const beat = fromDriver(db, () => db.query<{ live: number }>(sql.workerBeat, [id, JSON.stringify(counts), workerLiveMs])).pipe(
    Effect.tap(([row]) => Effect.sync(() => (live = Math.max(1, row?.live ?? 1)))),
    // The census's pending changes go into its counts on every beat, so that a census sums few of them.
    Effect.andThen(runtime.foldCounts),
    // And statistics kept up with tables that outgrew them (a new database in a burst; PGlite has no autovacuum).
    Effect.andThen(runtime.refreshStatistics),
    // Presence is bookkeeping: whatever goes wrong (the schema dropped under a closing worker), the work goes on.
    Effect.catchCause(() => Effect.void)
  )
  const [registered] = yield* fromDriver(db, () => db.query<{ counts: Record<string, number> }>(sql.registerWorker, [id])).pipe(
    // Unregistered, the worker still works: it counts as alone until a beat gets through.
    Effect.catchCause(() => Effect.succeed([]))
  )
  Object.assign(counts, registered?.counts ?? {})
  const workersChannel = `orrery_workers_${runtime.schema}`
  // A worker that joins or leaves tells the others at once, so that shares are right from the start.
  const announce = db.driver === "postgres" ? fromDriver(db, () => db.query("select pg_notify($1, '')", [workersChannel])).pipe(Effect.catchCause(() => Effect.void)) : Effect.void
  const joined = yield* Effect.promise(() =>
    db.driver === "postgres" ? db.listen(workersChannel, () => void Effect.runFork(beat)).catch(() => undefined) : Promise.resolve(undefined)
  )
  yield* Effect.addFinalizer(() => Effect.promise(() => joined?.().catch(() => {}) ?? Promise.resolve()))
  yield* beat
  yield* announce
  /** Of the tasks this process's steps schedule, keep one in `live`: the others go to the pool for everyone. */
  let turn = 0
  const keep = () => live <= 1 || turn++ % live === 0

  const perform = (task: Task): Effect.Effect<void, unknown> => {
    switch (task.kind) {
      case "activity":
        return Effect.gen(function*() {
          const definition = yield* runtime.definitionOf(task.workflow_type, task.instance_id)
          const activity = definition?.activities[task.payload.src]
          if (activity === undefined) {
            return yield* runtime.completeActivity(task, id, { ok: false, value: { _tag: "UnknownActivity", message: `no activity ${task.payload.src}` }, attempts: task.attempts, durationMs: 0 })
          }
          const outcome = yield* runActivity(
            activity,
            task.payload.src,
            task.payload.input,
            { idempotencyKey: `${streamOf(task.workflow_type, task.instance_id)}/${task.payload.activityId}`, workflowType: task.workflow_type, instanceId: task.instance_id },
            Math.max(1, task.attempts),
            (failure) =>
              runtime.recordAttemptFailure(task, { ...failure, worker: id }).pipe(
                Effect.andThen(fromDriver(db, () => db.query(sql.recordAttempt, [task.id, id, failure.attempt + 1]))),
                Effect.ignore
              )
          ).pipe(Effect.provideContext(context as Context.Context<any>)) as Effect.Effect<ActivityOutcome | ActivityWaiting>
          if (outcome._tag === "Waiting") {
            // Refused by an open circuit: no attempt spent. Back to the pool, due when a trial may go through.
            yield* fromDriver(db, () => db.query(sql.waitForCircuit, [task.id, id, outcome.until.toISOString(), outcome.dependency, outcome.attempts]))
            tally("activity:waiting")
            return
          }
          yield* runtime.completeActivity(task, id, outcome)
          tally(`activity:${outcome.ok ? "completed" : "failed"}`)
        })
      case "timer":
        return runtime.fireTimer(task, id).pipe(Effect.tap(() => Effect.sync(() => tally("timer:done"))))
      case "message":
        return runtime.deliverMessage(task, id).pipe(Effect.tap(() => Effect.sync(() => tally("message:done"))))
      case "start":
        return runtime.startChild(task, id).pipe(Effect.tap(() => Effect.sync(() => tally("start:done"))))
    }
  }

  const runTask = (task: Task) =>
    slots.withPermits(1)(
      perform(task).pipe(
        Effect.catchCause((cause) =>
          // The task stays leased; when the lease runs out it is claimed again.
          Effect.logWarning(`worker ${id}: ${task.kind} ${task.key} of ${task.stream_id} failed and will be retried`, cause).pipe(
            Effect.tap(() => Effect.sync(() => tally(`${task.kind}:error`)))
          )
        ),
        Effect.ensuring(Effect.sync(() => {
          inHand.delete(task.id)
          wake.openUnsafe()
        }))
      )
    )

  const fibers = new Set<Fiber.Fiber<void>>()
  const dispatch = (tasks: ReadonlyArray<Task>) =>
    Effect.gen(function*() {
      for (const task of tasks) {
        if (inHand.has(task.id)) continue
        inHand.set(task.id, task)
        const fiber = yield* Effect.forkDetach(runTask(task))
        fibers.add(fiber)
        fiber.addObserver(() => fibers.delete(fiber))
      }
    })

  /** Tasks handed over by this process's engine, already leased to us. */
  const handedOver: Array<Task> = []
  yield* runtime.attachLocalWorker({
    id,
    keep,
    take: (tasks) => {
      if (stopping) return
      handedOver.push(...tasks)
      wake.openUnsafe()
    }
  })

  /** What is due by the engine's clock (a test clock jumps it ahead). */
  const clockNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

  /**
   * Alone, take what is due; beside others, no more than a fair share (the count costs one scan per poll).
   * Claimed rows are decoded here: one that does not decode is parked as a MalformedTask, never run.
   */
  const claim = (limit: number) =>
    Effect.flatMap(clockNow, (now) =>
      fromDriver(db, () =>
        live <= 1 ? db.query<TaskRow>(sql.claim, [id, limit, leaseMs, now]) : db.query<TaskRow>(sql.claimShare, [id, limit, leaseMs, now, live, inHand.size])
      )
    ).pipe(Effect.flatMap((rows) => runtime.admit(rows, id).pipe(Effect.map((tasks) => ({ claimed: rows.length, tasks })))))

  const nextWait = Effect.flatMap(clockNow, (now) => fromDriver(db, () => db.query<{ wait_ms: number | null }>(sql.nextDue, [now]))).pipe(
    Effect.map(([row]) => Math.min(pollMs, row?.wait_ms ?? pollMs)),
    Effect.catchCause(() => Effect.succeed(pollMs))
  )

  const loop = Effect.gen(function*() {
    let failures = 0
    while (!stopping) {
      yield* wake.close
      if (handedOver.length > 0) yield* dispatch(handedOver.splice(0))
      const free = concurrency - inHand.size
      if (free <= 0) {
        yield* wake.await
        continue
      }
      const { claimed, tasks } = yield* claim(Math.min(free, 100)).pipe(
        Effect.tap(() => Effect.sync(() => (failures = 0))),
        // A lost database, or any other error of the claim (a defect included): a worker that stopped here would never run again.
        Effect.catchCause((cause) => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
          failures++
          const error = Cause.squash(cause)
          return Effect.logWarning(`worker ${id} cannot claim tasks: ${error instanceof Error ? error.message : String(error)}`).pipe(
            // Backs off up to 5 s, but work handed over (or announced) ends the wait: the database answered someone, so try again.
            Effect.andThen(wake.await.pipe(Effect.timeoutOption(Duration.millis(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)))))),
            Effect.as({ claimed: 0, tasks: [] as ReadonlyArray<Task> })
          )
        })
      )
      yield* dispatch(tasks)
      if (claimed === Math.min(free, 100)) continue
      // A task due now that we could not claim is another worker's: never spin on it. Beside other
      // workers, what is left due after our claim is theirs, or ours once work in hand finishes (that wakes us).
      const due = yield* nextWait
      const wait = live > 1 && claimed > 0 && due === 0 ? pollMs : Math.max(claimed === 0 ? 5 : 0, due)
      if (wait > 0 && handedOver.length === 0) yield* wake.await.pipe(Effect.timeoutOption(Duration.millis(wait)))
    }
  })

  const presence = Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(Duration.millis(beatMs))
      yield* beat
    }
  })

  const heartbeat = Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(Duration.millis(Math.max(50, leaseMs / 3)))
      if (inHand.size === 0) continue
      yield* fromDriver(db, () => db.query(sql.heartbeat, [id, leaseMs, JSON.stringify([...inHand.keys()])])).pipe(Effect.ignoreCause)
    }
  })

  const looping = yield* Effect.forkDetach(loop)
  const beating = yield* Effect.forkDetach(heartbeat)
  const present = yield* Effect.forkDetach(presence)

  // Graceful stop: claim nothing more, let work in hand finish for a while, then hand the rest back.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      stopping = true
      wake.openUnsafe()
      yield* Fiber.interrupt(looping)
      const drained = Effect.promise(async () => {
        const deadline = Date.now() + drainMs
        while (fibers.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      })
      yield* drained
      // What is still in hand goes back to the pool now rather than when its lease runs out.
      const left = [...inHand.keys(), ...handedOver.map((task) => task.id)]
      for (const fiber of fibers) yield* Fiber.interrupt(fiber)
      yield* Fiber.interrupt(beating)
      yield* Fiber.interrupt(present)
      if (left.length > 0) yield* fromDriver(db, () => db.query(sql.release, [id, JSON.stringify(left)])).pipe(Effect.ignore)
      yield* fromDriver(db, () => db.query(sql.workerStopped, [id, JSON.stringify(counts)])).pipe(Effect.catchCause(() => Effect.void))
      yield* announce
    })
  )

  return { id, inHand: () => inHand.size } satisfies WorkerShape
})

/**
 * A worker in this process, running until its scope closes. `R` names the
 * services the registered activities need: provide their Layers to this one.
 */
export const layer = <R = never>(options: WorkerOptions = {}): Layer.Layer<Worker, never, EngineRuntime | Database | CircuitBreaker | R> =>
  Layer.effect(Worker, make(options))

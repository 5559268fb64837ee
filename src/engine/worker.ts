/**
 * A worker: claims due tasks with `FOR UPDATE SKIP LOCKED` leases, runs them
 * (activities under their policies, timers, messages, child starts), keeps its
 * leases alive with heartbeats, and hands each result back to the engine in the
 * transaction that consumes the task. Any number of workers in any number of
 * processes share one database; a dead worker's leases run out and another
 * takes its tasks over. Activities scheduled by this process are leased to its
 * own worker at once and need no claim.
 */
import { Clock, Context, Duration, Effect, Fiber, Latch, Layer, Semaphore } from "effect"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { runActivity } from "../activities/run-activity.js"
import { CircuitBreaker } from "../activities/circuit-breaker.js"
import { Database } from "../log/index.js"
import { fromDriver } from "../log/event-log.js"
import { EngineRuntime } from "./engine.js"
import type { TaskRow } from "./store.js"
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
  const sql = runtime.statements

  const inHand = new Map<number, TaskRow>()
  const wake = yield* Latch.make(false)
  const slots = yield* Semaphore.make(concurrency)
  let stopping = false

  const unlisten = yield* Effect.promise(() =>
    db.driver === "postgres" ? db.listen(`orrery_tasks_${runtime.schema}`, () => wake.openUnsafe()).catch(() => undefined) : Promise.resolve(undefined)
  )
  yield* Effect.addFinalizer(() => Effect.promise(() => unlisten?.().catch(() => {}) ?? Promise.resolve()))

  const perform = (task: TaskRow): Effect.Effect<void, unknown> => {
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
          ).pipe(Effect.provideContext(context as Context.Context<any>)) as Effect.Effect<{ ok: boolean; value: unknown; attempts: number; durationMs: number }>
          yield* runtime.completeActivity(task, id, outcome)
        })
      case "timer":
        return runtime.fireTimer(task, id)
      case "message":
        return runtime.deliverMessage(task, id)
      case "start":
        return runtime.startChild(task, id)
    }
  }

  const runTask = (task: TaskRow) =>
    slots.withPermits(1)(
      perform(task).pipe(
        Effect.catchCause((cause) =>
          // The task stays leased; when the lease runs out it is claimed again.
          Effect.logWarning(`worker ${id}: ${task.kind} ${task.key} of ${task.stream_id} failed and will be retried`, cause)
        ),
        Effect.ensuring(Effect.sync(() => {
          inHand.delete(task.id)
          wake.openUnsafe()
        }))
      )
    )

  const fibers = new Set<Fiber.Fiber<void>>()
  const dispatch = (tasks: ReadonlyArray<TaskRow>) =>
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
  const handedOver: Array<TaskRow> = []
  yield* runtime.attachLocalWorker(id, (tasks) => {
    if (stopping) return
    handedOver.push(...tasks)
    wake.openUnsafe()
  })

  /** What is due by the engine's clock (a test clock jumps it ahead). */
  const clockNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

  const claim = (limit: number) =>
    Effect.flatMap(clockNow, (now) => fromDriver(db, () => db.query<TaskRow>(sql.claim, [id, limit, leaseMs, now])))

  const nextWait = Effect.flatMap(clockNow, (now) => fromDriver(db, () => db.query<{ wait_ms: number | null }>(sql.nextDue, [now]))).pipe(
    Effect.map(([row]) => Math.min(pollMs, row?.wait_ms ?? pollMs)),
    Effect.orElseSucceed(() => pollMs)
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
      const claimed = yield* claim(Math.min(free, 100)).pipe(
        Effect.tap(() => Effect.sync(() => (failures = 0))),
        Effect.catch((error) => {
          failures++
          return Effect.logWarning(`worker ${id} cannot claim tasks: ${error.message}`).pipe(
            Effect.andThen(Effect.sleep(Duration.millis(Math.min(30_000, 100 * 2 ** Math.min(failures, 9))))),
            Effect.as([] as Array<TaskRow>)
          )
        })
      )
      yield* dispatch(claimed)
      if (claimed.length === Math.min(free, 100)) continue
      // A task due now that we could not claim is another worker's: never spin on it.
      const wait = Math.max(claimed.length === 0 ? 5 : 0, yield* nextWait)
      if (wait > 0 && handedOver.length === 0) yield* wake.await.pipe(Effect.timeoutOption(Duration.millis(wait)))
    }
  })

  const heartbeat = Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(Duration.millis(Math.max(50, leaseMs / 3)))
      if (inHand.size === 0) continue
      yield* fromDriver(db, () => db.query(sql.heartbeat, [id, leaseMs, JSON.stringify([...inHand.keys()])])).pipe(Effect.ignore)
    }
  })

  const looping = yield* Effect.forkDetach(loop)
  const beating = yield* Effect.forkDetach(heartbeat)

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
      if (left.length > 0) yield* fromDriver(db, () => db.query(sql.release, [id, JSON.stringify(left)])).pipe(Effect.ignore)
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

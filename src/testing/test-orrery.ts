/**
 * An Orrery for a project's own tests: its workflows on the real engine and a
 * real worker, over an in-memory PGlite, with time the test moves. Nothing is
 * faked but the clock: a step, a timer, an activity's retry run exactly as
 * they do in production, so a test that passes here says something.
 *
 * Time runs on its own (a 50 ms timer fires after 50 ms) and also jumps when
 * told: `time.advance("24h")` fires every timer due within the next 24 hours
 * in the order they fall due, letting the work each one starts finish before
 * the next, and takes milliseconds of wall time.
 */
import { PGlite } from "@electric-sql/pglite"
import { Clock, Effect, Layer, ManagedRuntime } from "effect"
import type { OrreryClient } from "../client/types.js"
import { domainsOf, type OrreryConfig } from "../domain.js"
import { engineMigrations, OrrerySchema } from "../engine/index.js"
import type { AnyWorkflow } from "../engine/workflow.js"
import { parseDuration } from "../kit/duration.js"
import { Database, layerPglite, logMigrations, migrate, type Queryable } from "../log/index.js"
import { type ApplicationServices, applicationLayer, defaultSchema } from "../orrery/application.js"
import { makeInProcessClient } from "../orrery/in-process-client.js"
import { Projections } from "../projections/projection.js"
import { makeJumpingClock } from "./test-clock.js"

export interface CreateTestOrreryOptions<W extends AnyWorkflow> extends OrreryConfig<W> {
  /** When the test's time begins (default: now). Timers are due relative to it. */
  readonly startAt?: Date
  /** How long `settle()` waits for due work to finish before it fails the test (default 30 s). */
  readonly settleTimeout?: string | number
}

/** A test's hold on time. */
export interface TestTime {
  /** The engine's now: the wall clock plus every jump so far. */
  now(): Date
  /**
   * Moves time forward by `duration` (`"24h"`, `"90s"`, or milliseconds),
   * firing every timer due by then in order and waiting, after each, for the
   * work it led to; answers once nothing due is left. Time stands still
   * meanwhile, so that work happens at its timer's due time. An activity's retry
   * backoff and its own sleeps run in real time (`settle` waits for them):
   * only what the log schedules (timers, due tasks) jumps.
   */
  advance(duration: string | number): Promise<void>
  /** Waits until nothing due now is left to do: activities, timers, messages, and the read models caught up. */
  settle(): Promise<void>
}

/** A running test Orrery. Close it after each test. */
export interface TestOrrery<W = AnyWorkflow> {
  /** The same client interface as `orrery/client` and `createOrrery`, typed by the workflows. */
  readonly client: OrreryClient<W>
  readonly time: TestTime
  /** Runs an Effect with the application's services (the `Engine`, the `Database`, …). */
  run<A, E>(effect: Effect.Effect<A, E, ApplicationServices>): Promise<A>
  /** The services themselves, for Effect users and for mounting the API (`orrery/fastify`). */
  readonly runtime: ManagedRuntime.ManagedRuntime<ApplicationServices, unknown>
  /** Stops the worker and drops the database. */
  close(): Promise<void>
}

/** Thrown when due work does not finish within the settle timeout: it names what is still due. */
export class SettleTimeout extends Error {
  readonly _tag = "SettleTimeout"
  constructor(readonly timeoutMs: number, readonly pending: ReadonlyArray<PendingTask>) {
    super(
      `work still due after ${timeoutMs} ms: ${pending.map((task) => `${task.kind} ${task.key} of ${task.workflowType} ${task.instanceId} (attempt ${task.attempts})`).join("; ")}`
    )
  }
}

export interface PendingTask {
  readonly kind: string
  readonly key: string
  readonly workflowType: string
  readonly instanceId: string
  readonly attempts: number
}

const millisOf = (duration: string | number, what: string): number => {
  const ms = typeof duration === "number" ? duration : parseDuration(duration)
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`${what} must be milliseconds or a duration like "24h", got ${JSON.stringify(duration)}`)
  }
  return ms
}

/**
 * A database image with every migration applied, made once per test process:
 * each test Orrery starts from a copy instead of running initdb and the
 * migrations again (most of a cold start).
 */
let migratedImage: Promise<Blob> | undefined
const migrated = () =>
  (migratedImage ??= (async () => {
    const db = await PGlite.create()
    try {
      const onTransaction = {
        transaction: <A>(work: (tx: Queryable) => Promise<A>) =>
          db.transaction((tx) =>
            work({
              query: async (text, params = []) => (await tx.query(text, params as Array<unknown>)).rows as Array<never>,
              exec: async (text) => void (await tx.exec(text))
            })
          )
      }
      await migrate(onTransaction, defaultSchema, [...logMigrations, ...engineMigrations])
      return await db.dumpDataDir("none")
    } finally {
      await db.close()
    }
  })())

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts an Orrery for one test: the workflows and the services their
 * activities need, on an in-memory database of its own.
 *
 * @example
 * ```ts
 * import { createTestOrrery } from "orrery/testing"
 * import { expect, it } from "vitest"
 * import { signupWorkflow } from "../src/signup.js"
 * import { FakeMailer } from "./fake-mailer.js"
 *
 * it("expires an unconfirmed signup after a day", async () => {
 *   const t = await createTestOrrery({ workflows: [signupWorkflow], services: FakeMailer.layer })
 *   const signup = await t.client.start("signup", { email: "a@example.com" })
 *   await t.time.advance("24h")
 *   expect((await signup.get()).state).toBe("expired")
 *   await t.close()
 * })
 * ```
 */
export const createTestOrrery = async <W extends AnyWorkflow>(options: CreateTestOrreryOptions<W>): Promise<TestOrrery<W>> => {
  const settleTimeoutMs = millisOf(options.settleTimeout ?? 30_000, "settleTimeout")
  const clock = makeJumpingClock()
  if (options.startAt !== undefined) clock.jumpTo(options.startAt.getTime())
  const application = applicationLayer({
    domains: domainsOf(options),
    database: layerPglite({ loadDataDir: await migrated() }),
    // A short poll: a test has one worker and nothing else to share the database with.
    worker: { pollMs: 200, drainMs: 100 },
    projections: true
  })
  // Every fiber of the application (the worker's too) reads time from the test's clock.
  const runtime = ManagedRuntime.make(application.pipe(Layer.provideMerge(Layer.succeed(Clock.Clock, clock))))
  try {
    await runtime.context()
  } catch (error) {
    await runtime.dispose().catch(() => {})
    throw error
  }
  const run = <A, E>(effect: Effect.Effect<A, E, ApplicationServices>) => runtime.runPromise(effect)

  /** The tasks due by the test's now (in hand or waiting), and when the next later one falls due. */
  const look = (nowMs: number) =>
    run(
      Effect.gen(function*() {
        const db = yield* Database
        const { name: schema } = yield* OrrerySchema
        const now = new Date(nowMs).toISOString()
        const due = yield* Effect.promise(() =>
          db.query<{ kind: string; key: string; workflow_type: string; instance_id: string; attempts: number }>(
            `select kind, key, workflow_type, instance_id, attempts from ${schema}.tasks where due_at <= $1::timestamptz order by due_at, id limit 20`,
            [now]
          )
        )
        const [next] = yield* Effect.promise(() =>
          db.query<{ due_at: Date | string | null }>(`select min(due_at) as due_at from ${schema}.tasks where due_at > $1::timestamptz`, [now])
        )
        return {
          due: due.map((row): PendingTask => ({ kind: row.kind, key: row.key, workflowType: row.workflow_type, instanceId: row.instance_id, attempts: Number(row.attempts) })),
          nextDueMs: next?.due_at === null || next?.due_at === undefined ? undefined : new Date(next.due_at).getTime()
        }
      })
    )

  const settle = async () => {
    const deadline = performance.now() + settleTimeoutMs
    let wait = 1
    for (;;) {
      const { due } = await look(clock.currentTimeMillisUnsafe())
      if (due.length === 0) break
      if (performance.now() > deadline) throw new SettleTimeout(settleTimeoutMs, due)
      await pause(wait)
      wait = Math.min(wait * 2, 20)
    }
    await run(Effect.gen(function*() {
      const projections = yield* Projections
      yield* projections.caughtUp
    }))
  }

  const advance = async (duration: string | number) => {
    const step = millisOf(duration, "time.advance's duration")
    // Time stands still while it advances: the work a timer starts happens at the timer's due time, so a
    // chain (a reminder 23 h after a welcome sent 1 h in) falls due exactly when it would, not a few
    // milliseconds of test machinery later.
    clock.freeze()
    try {
      const target = clock.currentTimeMillisUnsafe() + step
      await settle()
      // One due time at a time: what a timer starts (an activity, a new timer) happens before the next one fires.
      for (;;) {
        const { nextDueMs } = await look(clock.currentTimeMillisUnsafe())
        if (nextDueMs === undefined || nextDueMs > target) break
        clock.jumpTo(nextDueMs)
        await settle()
      }
      clock.jumpTo(target)
      await settle()
    } finally {
      clock.thaw()
    }
  }

  const client = makeInProcessClient<W>((effect) => runtime.runPromise(effect))
  return {
    client,
    time: { now: () => new Date(clock.currentTimeMillisUnsafe()), advance, settle },
    run,
    runtime,
    close: () => runtime.dispose()
  }
}

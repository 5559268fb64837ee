/**
 * A read model's checkpoint: one row per read model, moved in the transaction
 * that applies a page, instead of a row per applied event kept for ever. It
 * must still apply every event exactly once when two subscriptions of the same
 * read model run at once, when a rebuild runs beside the live subscription
 * while events are appended, and when a parked event is re-driven; and a
 * database that kept the earlier per-event marks starts from them.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Database, EventLog, LogCursor, type RecordedEvent } from "../../src/log/index.js"
import { defineProjection, Projections, projectionsLayer, RebuildFailed, subscriptionOf } from "../../src/projections/projection.js"
import { type Driver, drivers, freshSchema, withLog } from "../support/drivers.js"
import { catalog, tick } from "../log/fixtures.js"

/** How many times each tick was applied; a tick listed in `refused_ticks` cannot be applied. */
const counts = defineProjection({
  name: "tick-counts",
  types: ["test.ticked"],
  setup: (s) => `
    create table if not exists ${s}.tick_counts (n integer primary key, times integer not null);
    create table if not exists ${s}.refused_ticks (n integer primary key);`,
  reset: (s) => `delete from ${s}.tick_counts`,
  apply: async (tx, s, event: RecordedEvent) => {
    const n = (event.data as { n: number }).n
    const [refused] = await tx.query(`select 1 from ${s}.refused_ticks where n = $1`, [n])
    if (refused !== undefined) throw new Error(`tick ${n} is refused`)
    await tx.query(`insert into ${s}.tick_counts (n, times) values ($1, 1) on conflict (n) do update set times = ${s}.tick_counts.times + 1`, [n])
  }
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const query = <A>(text: string, params: ReadonlyArray<unknown> = []) =>
  Effect.flatMap(Database, (db) => Effect.promise(() => db.query<A>(text, params)))

/** Polls `probe` until `done` holds of its answer, for at most a minute. */
const until = <A, E>(probe: Effect.Effect<A, E, Database>, done: (value: A) => boolean, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 60_000
    while (true) {
      const value = yield* probe
      if (done(value)) return value
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`)
      yield* Effect.sleep("20 millis")
    }
  })

const timesApplied = (schema: string) =>
  query<{ n: number; times: number }>(`select n, times from ${schema}.tick_counts order by n`)

const checkpoints = (schema: string) =>
  query<{ projection: string; applied: string; rebuilding: boolean }>(
    `select projection, applied::text as applied, rebuilding from ${schema}.projection_checkpoints order by projection`
  )

/** Appends ticks `from`..`to` to `stream`, five to an append. */
const appendTicks = (stream: string, from: number, to: number) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    for (let n = from; n <= to; n += 5) {
      yield* log.append(stream, "any", range(n, Math.min(n + 4, to)).map(tick))
    }
  })

/** Runs `body` on a log of its own (a fresh schema) on `driver`. */
const onLog = <A, E>(driver: Driver, body: (schema: string) => Effect.Effect<A, E, Database | EventLog>) => {
  const schema = freshSchema()
  return withLog(driver, body(schema), { catalog, schema })
}

/** The read model running in `schema` (as one more subscription of it, where one runs already). */
const running = (schema: string) => Effect.provide(projectionsLayer([counts], schema))

/** Once the read model has caught up: every tick from 1 to `last` applied exactly once, and counted so. */
const appliedOnce = (schema: string, last: number) =>
  Effect.gen(function*() {
    yield* until(timesApplied(schema), (rows) => rows.length >= last, `${last} ticks applied`)
    yield* (yield* Projections).caughtUp
    expect(yield* timesApplied(schema)).toEqual(range(1, last).map((n) => ({ n, times: 1 })))
    expect(yield* checkpoints(schema)).toEqual([{ projection: "tick-counts", applied: String(last), rebuilding: false }])
  })

describe.each(drivers)("a read model's checkpoint on %s", (driver) => {
  it("is one row, and two subscriptions of the same read model running at once apply each event once", () =>
    onLog(driver, (schema) =>
      Effect.gen(function*() {
        yield* appendTicks("ticks-a", 1, 50)
        yield* Effect.gen(function*() {
          yield* Effect.all([appendTicks("ticks-b", 51, 150), appendTicks("ticks-c", 151, 250)], { concurrency: 2 })
          yield* appliedOnce(schema, 250)
          const [marks] = yield* query<{ found: boolean }>(`select to_regclass($1) is not null as found`, [`${schema}.projection_applied`])
          expect(marks!.found).toBe(false)
        }).pipe(running(schema), running(schema))
      })))

  it("rebuilt while its live subscription runs and events are appended, applies each event once", () =>
    onLog(driver, (schema) =>
      Effect.gen(function*() {
        yield* appendTicks("ticks-a", 1, 100)
        yield* Effect.gen(function*() {
          const projections = yield* Projections
          yield* until(timesApplied(schema), (rows) => rows.length >= 100, "100 ticks applied")
          const [rebuilt] = yield* Effect.all([projections.rebuild("tick-counts"), appendTicks("ticks-b", 101, 200)], { concurrency: 2 })
          expect(rebuilt.events).toBeGreaterThanOrEqual(100)
          yield* appliedOnce(schema, 200)
        }).pipe(running(schema))
      })))

  it("left by a rebuild that failed, keeps the live subscription aside until a rebuild completes", () =>
    onLog(driver, (schema) =>
      Effect.gen(function*() {
        yield* appendTicks("ticks-a", 1, 100)
        yield* Effect.gen(function*() {
          const projections = yield* Projections
          yield* until(timesApplied(schema), (rows) => rows.length >= 100, "100 ticks applied")
          yield* query(`insert into ${schema}.refused_ticks (n) values (3)`)
          const failed = yield* Effect.flip(projections.rebuild("tick-counts"))
          expect(failed).toBeInstanceOf(RebuildFailed)
          expect(failed.message).toMatch(/^rebuilding tick-counts: ticks-a version 3 \(position \d+\) cannot be applied: tick 3 is refused; live updates of tick-counts wait until a rebuild completes$/)
          // Appended now, read by the live subscription, and left to the rebuild that owns the read model.
          yield* appendTicks("ticks-b", 101, 110)
          const [head] = yield* query<{ position: string }>(`select max(position)::text as position from ${schema}.events`)
          yield* until(
            query<{ position: string }>(`select position::text as position from ${schema}.subscriptions where name = $1`, [subscriptionOf(counts)]),
            ([row]) => row !== undefined && Number(row.position) >= Number(head!.position),
            "the live subscription past tick 110"
          )
          expect((yield* timesApplied(schema)).map((row) => row.n)).toEqual([1, 2])
          expect(yield* checkpoints(schema)).toEqual([{ projection: "tick-counts", applied: "2", rebuilding: true }])

          yield* query(`delete from ${schema}.refused_ticks`)
          yield* projections.rebuild("tick-counts")
          yield* appliedOnce(schema, 110)
        }).pipe(running(schema))
      })))

  it("re-drives a parked event once, unparking it in the transaction that applies it", () =>
    onLog(driver, (schema) =>
      Effect.gen(function*() {
        const log = yield* EventLog
        yield* Effect.gen(function*() {
          yield* query(`insert into ${schema}.refused_ticks (n) values (3)`)
          yield* appendTicks("ticks-a", 1, 5)
          const [parked] = yield* until(log.listParked(subscriptionOf(counts)), (found) => found.length > 0, "tick 3 parked")
          yield* until(timesApplied(schema), (rows) => rows.length >= 4, "the other ticks applied")
          yield* query(`delete from ${schema}.refused_ticks`)
          expect(yield* log.redrive(parked!.id)).toBe(true)
          yield* until(log.listParked(subscriptionOf(counts)), (found) => found.length === 0, "tick 3 unparked")
          yield* appendTicks("ticks-a", 6, 10)
          yield* appliedOnce(schema, 10)
        }).pipe(running(schema))
      })))

  it("starts after the last event an earlier version marked applied, and drops the marks", () =>
    onLog(driver, (schema) =>
      Effect.gen(function*() {
        const log = yield* EventLog
        yield* appendTicks("ticks-a", 1, 15)
        // As an earlier version left it: ticks 1..10 applied and marked, its subscription saved after tick 5 only.
        // Gap-safe reads stop behind other tests' open transactions on the server: read until all 15 are there.
        const read = yield* until(log.readAll({ after: LogCursor.start, limit: 100, types: ["test.ticked"] }), (page) => page.events.length === 15, "15 ticks readable")
        const fifth = read.events[4]!
        const db = yield* Database
        yield* Effect.promise(async () => {
          await db.exec(counts.setup(schema))
          await db.exec(`create table ${schema}.projection_applied (projection text not null, event_id uuid not null, primary key (projection, event_id))`)
          for (const event of read.events.slice(0, 10)) {
            await db.query(`insert into ${schema}.projection_applied (projection, event_id) values ($1, $2)`, [counts.name, event.eventId])
            await db.query(`insert into ${schema}.tick_counts (n, times) values ($1, 1)`, [(event.data as { n: number }).n])
          }
          await db.query(`insert into ${schema}.subscriptions (name, transaction_id, position) values ($1, $2::text::xid8, $3)`, [
            subscriptionOf(counts),
            fifth.transactionId,
            fifth.position
          ])
        })
        yield* Effect.gen(function*() {
          yield* until(timesApplied(schema), (rows) => rows.length >= 15, "15 ticks applied")
          yield* (yield* Projections).caughtUp
          expect(yield* timesApplied(schema)).toEqual(range(1, 15).map((n) => ({ n, times: 1 })))
          // Only the five it applied now are counted.
          expect(yield* checkpoints(schema)).toEqual([{ projection: "tick-counts", applied: "5", rebuilding: false }])
          const [marks] = yield* query<{ found: boolean }>(`select to_regclass($1) is not null as found`, [`${schema}.projection_applied`])
          expect(marks!.found).toBe(false)
        }).pipe(running(schema))
      })))
})

/**
 * What only shows with more than one connection: reading the global log while
 * slower transactions commit behind faster ones, migrations started by two
 * processes at once, and a connection lost mid-call. PGlite has a single
 * connection, so two transactions can never be open at once there; the
 * reader-under-writers test runs on both drivers, the rest on Postgres.
 */
import { Effect, Exit, Fiber, Result } from "effect"
import { describe, expect, it } from "vitest"
import { Database, EventLog, LogCursor, type RecordedEvent, appendBatch, encodeBatch, fromDriver, logMigrations, migrate } from "../../src/log/index.js"
import { statements } from "../../src/log/statements.js"
import { drivers, freshSchema, withLog } from "../support/drivers.js"
import { catalog, tick } from "./fixtures.js"

const batchOf = (n: number) => Result.getOrThrow(encodeBatch([tick(n)], undefined))

describe.each(drivers)("the global log under concurrent writers on %s", (driver) => {
  it("a reader following the log sees every event exactly once while 4 writers append", () =>
    withLog(driver, Effect.gen(function*() {
      const log = yield* EventLog
      let writing = true
      const seen: Array<RecordedEvent> = []
      const expected = 4 * (150 + 15)
      // Reads until everything written is seen. An empty page proves nothing: any open transaction in the
      // cluster (other tests share it) holds the safe horizon back until it ends.
      const reader = Effect.gen(function*() {
        let after = LogCursor.start
        const deadline = Date.now() + 45_000
        while (writing || (seen.length < expected && Date.now() < deadline)) {
          const page = yield* log.readAll({ after, limit: 50 })
          seen.push(...page.events)
          after = page.next
          if (page.events.length === 0) yield* Effect.sleep("2 millis")
        }
      })
      const writer = (w: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < 150; i++) yield* log.append(`w${w}-${i % 5}`, "any", i % 10 === 0 ? [tick(w * 1000 + i), tick(w * 1000 + i + 500)] : [tick(w * 1000 + i)])
        })
      const reading = yield* Effect.forkChild(reader)
      yield* Effect.all([0, 1, 2, 3].map(writer), { concurrency: "unbounded" })
      writing = false
      yield* Fiber.join(reading)
      const ids = seen.map((e) => e.eventId)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids.length).toBe(expected)
    }), { catalog }))
})

describe.runIf(drivers.includes("postgres"))("only on Postgres", () => {
  it("never lets a reader pass an event that a slower transaction commits later", async () => {
    const schema = freshSchema()
    await withLog("postgres", Effect.gen(function*() {
      const log = yield* EventLog
      const db = yield* Database
      const sql = statements(schema)

      let releaseSlow!: () => void
      const slowMayCommit = new Promise<void>((resolve) => (releaseSlow = resolve))
      let slowAppended!: () => void
      const slowHasAppended = new Promise<void>((resolve) => (slowAppended = resolve))

      // The first transaction starts and appends first (taking the lower position), but commits last.
      const slow = db.transaction(async (tx) => {
        const result = await appendBatch(tx, sql, "slow", "no_stream", 1, batchOf(1))
        slowAppended()
        await slowMayCommit
        return result
      })
      yield* Effect.promise(() => slowHasAppended)
      const fast = yield* Effect.promise(() =>
        db.transaction((tx) => appendBatch(tx, sql, "fast", "no_stream", 1, batchOf(2)))
      )
      const fastPosition = Result.getOrThrow(fast).positions[0]!

      // The faster one is committed and visible by position…
      const [visible] = yield* Effect.promise(() =>
        db.query<{ n: number }>(`select count(*)::int as n from ${schema}.events where position = $1`, [fastPosition])
      )
      expect(visible!.n).toBe(1)
      // …but the log holds it back while an older transaction is still open.
      const early = yield* log.readAll()
      expect(early.events).toEqual([])

      releaseSlow()
      const slowPosition = Result.getOrThrow(yield* Effect.promise(() => slow)).positions[0]!
      expect(slowPosition).toBeLessThan(fastPosition)

      let late = yield* log.readAll({ after: early.next })
      // Another test's transaction, open on the shared server, may hold the horizon back a while longer.
      for (let i = 0; i < 2_000 && late.events.length < 2; i++) {
        yield* Effect.sleep("20 millis")
        late = yield* log.readAll({ after: early.next })
      }
      expect(late.events.map((e) => e.streamId)).toEqual(["slow", "fast"])
      expect(late.events.map((e) => e.position)).toEqual([slowPosition, fastPosition])
    }), { catalog, schema })
  })

  it("migrates once when two processes start at the same time", () =>
    withLog("postgres", Effect.gen(function*() {
      const db = yield* Database
      const schema = freshSchema()
      // Two pools would be two processes; two concurrent transactions on one pool race the same way.
      const [a, b] = yield* Effect.promise(() => Promise.all([migrate(db, schema), migrate(db, schema)]))
      expect([...a!, ...b!].map((m) => `${m.component} ${m.version}`)).toEqual(logMigrations.map((m) => `log ${m.version}`))
      expect(yield* Effect.promise(() => migrate(db, schema))).toEqual([])
      yield* Effect.promise(() => db.exec(`drop schema ${schema} cascade`))
    }), { catalog }))

  it("surfaces a connection lost mid-call as a typed error, then reconnects", () =>
    withLog("postgres", Effect.gen(function*() {
      const log = yield* EventLog
      const db = yield* Database
      yield* log.append("before", "no_stream", [tick(1)])
      const [me] = yield* Effect.promise(() => db.query<{ pid: number }>("select pg_backend_pid() as pid"))
      const sleeper = yield* Effect.forkChild(
        Effect.exit(fromDriver(db, () => db.query("select pg_backend_pid(), pg_sleep(10)")))
      )
      yield* Effect.sleep("300 millis")
      // Terminate every connection of this pool except the one we ask from (its pid is reused for the query).
      yield* Effect.promise(() =>
        db.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'orrery' and query like '%pg_sleep(10)%' and pid <> $1",
          [me!.pid]
        )
      )
      const exit = yield* Fiber.join(sleeper)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
        expect(failure?._tag === "Fail" ? failure.error : undefined).toMatchObject({ _tag: "StoreUnavailable" })
      }
      yield* log.append("after", "no_stream", [tick(2)])
      expect(yield* log.streamVersion("after")).toBe(1)
    }), { catalog }))
})

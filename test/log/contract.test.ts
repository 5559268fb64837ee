/**
 * The EventLog contract, run unchanged against both drivers.
 */
import { DateTime, Effect, Exit, Option, Schedule } from "effect"
import { describe, expect, it } from "vitest"
import { Database, EventLog, LogCursor, type ReadAllResult, type RecordedEvent, type StoreUnavailable } from "../../src/log/index.js"
import { drivers, freshSchema, withLog } from "../support/drivers.js"
import { CheckedOut, ItemAdded, added, catalog, tick } from "./fixtures.js"

/**
 * Reads until `done` holds of the page: on Postgres, another test's transaction, begun before this
 * test's appends, holds the gap-safe horizon back until it ends (a minute at most).
 */
const readUntil = (read: Effect.Effect<ReadAllResult, StoreUnavailable>, done: (page: ReadAllResult) => boolean) =>
  read.pipe(Effect.repeat({ until: done, schedule: Schedule.spaced("20 millis"), times: 3_000 }))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure.error
}

describe.each(drivers)("EventLog on %s", (driver) => {
  const run = <A, E>(body: Effect.Effect<A, E, EventLog | Database>) => withLog(driver, body, { catalog })
  /** For tests that reach behind the log: the body learns the schema its tables live in. */
  const runIn = <A, E>(body: (schema: string) => Effect.Effect<A, E, EventLog | Database>) => {
    const schema = freshSchema()
    return withLog(driver, body(schema), { catalog, schema })
  }

  describe("append and read", () => {
    it("round-trips typed events with their metadata, in order", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const at = DateTime.makeUnsafe("2026-11-21T10:00:00.000Z")
        const result = yield* log.append(
          "cart-1",
          "no_stream",
          [added("sku-a", 2), added("sku-b"), CheckedOut.make({ customerId: "c-9", at })],
          { metadata: { correlationId: "corr-1", actor: "alice" } }
        )
        expect(result.streamVersion).toBe(3)
        expect(result.alreadyStored).toBe(false)

        const events = yield* log.readStream("cart-1")
        expect(events.map((e) => [e.streamVersion, e.type])).toEqual([
          [1, "cart.item.added"],
          [2, "cart.item.added"],
          [3, "cart.checked_out"]
        ])
        expect(events[0]!.data).toEqual({ sku: "sku-a", quantity: 2, unitPrice: "9.99" })
        expect(events.map((e) => e.position)).toEqual(result.positions)
        expect(events[0]!.metadata).toEqual({ correlationId: "corr-1", actor: "alice" })
        // Decoded back into its typed form, not left as the stored string.
        const checkedOut = events[2]!.data as { at: DateTime.Utc }
        expect(DateTime.isDateTime(checkedOut.at)).toBe(true)
        expect(DateTime.formatIso(checkedOut.at)).toBe("2026-11-21T10:00:00.000Z")
        // One call, one transaction.
        expect(new Set(events.map((e) => e.transactionId)).size).toBe(1)
        expect(events[0]!.recordedAt).toBeInstanceOf(Date)
      })))

    it("reads a range of a stream and reports its version", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        for (let i = 1; i <= 10; i++) yield* log.append("counter-1", i - 1, [tick(i)])
        const middle = yield* log.readStream("counter-1", { from: 4, to: 6 })
        expect(middle.map((e) => (e.data as { n: number }).n)).toEqual([4, 5, 6])
        expect(yield* log.streamVersion("counter-1")).toBe(10)
        const tail = yield* log.readStream("counter-1", { from: 9 })
        expect(tail.map((e) => e.streamVersion)).toEqual([9, 10])
      })))

    it("answers an unknown stream with an empty read and version 0", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        expect(yield* log.readStream("nobody-here")).toEqual([])
        expect(yield* log.streamVersion("nobody-here")).toBe(0)
        expect((yield* log.readAll()).events).toEqual([])
      })))

    it("returns an event type it does not know as stored", () =>
      withLog(driver, Effect.gen(function*() {
        const log = yield* EventLog
        yield* log.append("cart-2", "no_stream", [CheckedOut.make({ customerId: "c", at: DateTime.makeUnsafe(0) })])
        const [event] = yield* log.readStream("cart-2")
        expect(event!.data).toEqual({ customerId: "c", at: "1970-01-01T00:00:00.000Z" })
      })))
  })

  describe("expected versions", () => {
    it("refuses a wrong expected version with the actual one, writing nothing", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        yield* log.append("cart-3", "no_stream", [added("a"), added("b")])

        const again = failureOf(yield* Effect.exit(log.append("cart-3", "no_stream", [added("c")])))
        expect(again).toMatchObject({ _tag: "VersionConflict", stream: "cart-3", expected: "no_stream", actual: 2 })

        const stale = failureOf(yield* Effect.exit(log.append("cart-3", 1, [added("c")])))
        expect(stale).toMatchObject({ _tag: "VersionConflict", expected: 1, actual: 2 })

        const ahead = failureOf(yield* Effect.exit(log.append("cart-3", 5, [added("c")])))
        expect(ahead).toMatchObject({ _tag: "VersionConflict", expected: 5, actual: 2 })

        expect(yield* log.streamVersion("cart-3")).toBe(2)
        yield* log.append("cart-3", 2, [added("c")])
        yield* log.append("cart-3", "any", [added("d")])
        expect((yield* log.readStream("cart-3")).map((e) => (e.data as { sku: string }).sku)).toEqual(["a", "b", "c", "d"])
      })))

    it("keeps every stream gap-free under 8 parallel writers × 200 appends on 20 streams", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const streams = Array.from({ length: 20 }, (_, i) => `race-${i}`)
        let conflicts = 0
        const writer = (w: number) =>
          Effect.gen(function*() {
            for (let i = 0; i < 200; i++) {
              const stream = streams[(w * 7 + i * 13) % streams.length]!
              // Read, then append with that version; a conflict means another writer won: read again.
              while (true) {
                const version = yield* log.streamVersion(stream)
                const exit = yield* Effect.exit(log.append(stream, version, [tick(w * 1000 + i)]))
                if (Exit.isSuccess(exit)) break
                expect(failureOf(exit)).toMatchObject({ _tag: "VersionConflict" })
                conflicts++
              }
            }
          })
        yield* Effect.all(Array.from({ length: 8 }, (_, w) => writer(w)), { concurrency: "unbounded" })

        let total = 0
        const seen = new Set<number>()
        for (const stream of streams) {
          const events = yield* log.readStream(stream)
          expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1))
          for (const e of events) seen.add((e.data as { n: number }).n)
          total += events.length
        }
        expect(total).toBe(1600)
        expect(seen.size).toBe(1600)
        if (driver === "postgres") expect(conflicts).toBeGreaterThan(0)
      })))
  })

  describe("idempotent appends", () => {
    it("re-appending stored event ids is a no-op that returns the original positions", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const batch = [added("a"), added("b")]
        const first = yield* log.append("cart-4", "no_stream", batch)
        yield* log.append("cart-4", 2, [added("c")])
        // The retry still says "no_stream": an idempotent retry must not turn into a conflict.
        const retry = yield* log.append("cart-4", "no_stream", batch)
        expect(retry).toEqual({ streamVersion: 2, positions: first.positions, alreadyStored: true })
        expect((yield* log.readStream("cart-4")).length).toBe(3)
      })))

    it("refuses an event id already used elsewhere", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const event = added("a")
        yield* log.append("cart-5", "no_stream", [event])
        const reused = failureOf(yield* Effect.exit(log.append("cart-6", "no_stream", [event])))
        expect(reused).toMatchObject({ _tag: "EventIdInUse", stream: "cart-6" })
        const mixed = failureOf(yield* Effect.exit(log.append("cart-5", 1, [event, added("b")])))
        expect(mixed).toMatchObject({ _tag: "EventIdInUse" })
        expect(yield* log.streamVersion("cart-6")).toBe(0)
        expect(yield* log.streamVersion("cart-5")).toBe(1)
      })))

    it("refuses a batch whose later event id is stored, keeping none of its new events", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const stored = added("a")
        yield* log.append("cart-10", "no_stream", [stored])
        const fresh = added("b")
        for (const expected of [1, "any"] as const) {
          const mixed = failureOf(yield* Effect.exit(log.append("cart-10", expected, [fresh, stored])))
          expect(mixed).toMatchObject({ _tag: "EventIdInUse", stream: "cart-10" })
        }
        expect((yield* log.readStream("cart-10")).map((event) => event.eventId)).toEqual([stored.eventId])
        // The new event was undone with the batch: it can be appended on its own.
        expect(yield* log.append("cart-10", 1, [fresh])).toMatchObject({ streamVersion: 2, alreadyStored: false })
      })))

    it("stores an event once when its append and a retry race", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        yield* log.append("cart-11", "no_stream", [added("a")])
        const event = added("b")
        const results = yield* Effect.all(
          Array.from({ length: 6 }, () => log.append("cart-11", "any", [event])),
          { concurrency: "unbounded" }
        )
        expect(results.filter((result) => !result.alreadyStored)).toHaveLength(1)
        expect(new Set(results.map((result) => result.positions[0])).size).toBe(1)
        expect((yield* log.readStream("cart-11")).map((e) => e.eventId)).toEqual([expect.any(String), event.eventId])
      })))

    it("gives new events time-ordered ids (UUIDv7), so that they sort in the order they were made", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const made = Array.from({ length: 20 }, (_, i) => added(`x${i}`))
        yield* log.append("cart-12", "no_stream", made)
        const ids = (yield* log.readStream("cart-12")).map((e) => e.eventId)
        expect(ids).toEqual(made.map((event) => event.eventId))
        for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect([...ids].sort()).toEqual(ids)
      })))
  })

  describe("schemas", () => {
    it("refuses a payload that fails its schema, naming the field, and writes nothing", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const bad = ItemAdded.make({ sku: "a", quantity: 0, unitPrice: "1" })
        const error = failureOf(yield* Effect.exit(log.append("cart-7", "no_stream", [added("ok"), bad])))
        expect(error).toMatchObject({ _tag: "InvalidEvent", eventType: "cart.item.added", field: "quantity" })
        expect(error.message).toContain("quantity")

        const wrongType = ItemAdded.make({ sku: 42, quantity: 1, unitPrice: "1" } as never)
        expect(failureOf(yield* Effect.exit(log.append("cart-7", "no_stream", [wrongType])))).toMatchObject({
          _tag: "InvalidEvent",
          field: "sku"
        })
        expect(yield* log.streamVersion("cart-7")).toBe(0)
        expect((yield* log.readAll()).events).toEqual([])
      })))

    it("refuses text Postgres cannot store as a typed error", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const error = failureOf(yield* Effect.exit(log.append("cart-8", "no_stream", [added("nul\u0000byte")])))
        expect(error).toMatchObject({ _tag: "InvalidEvent", eventType: "cart.item.added" })
        expect(yield* log.streamVersion("cart-8")).toBe(0)
      })))
  })

  describe("integrity", () => {
    it("detects a payload changed behind the log's back", () =>
      runIn((schema) => Effect.gen(function*() {
        const log = yield* EventLog
        const db = yield* Database
        yield* log.append("cart-9", "no_stream", [added("a"), added("b"), added("c")])
        yield* Effect.promise(() =>
          db.query(`update ${schema}.events set data = jsonb_set(data, '{quantity}', '50') where stream_id = 'cart-9' and stream_version = 2`)
        )
        const error = failureOf(yield* Effect.exit(log.readStream("cart-9")))
        expect(error).toMatchObject({ _tag: "IntegrityError", stream: "cart-9", version: 2 })
        // Reads that do not reach the changed row still work.
        expect((yield* log.readStream("cart-9", { to: 1 })).length).toBe(1)
        // The whole-log reader names the row and reads on past it: one broken row must not stall every follower.
        const page = yield* readUntil(log.readAll(), (read) => read.events.length + read.broken.length === 3)
        expect(page.events.map((event) => event.streamVersion)).toEqual([1, 3])
        expect(page.broken).toHaveLength(1)
        expect(page.broken[0]).toMatchObject({ streamId: "cart-9", streamVersion: 2, type: "cart.item.added" })
        expect(page.broken[0]!.error).toMatchObject({ _tag: "IntegrityError", stream: "cart-9", version: 2 })
        expect(page.next).toEqual(LogCursor.after(page.events[1]!))
        expect(yield* log.readAll({ after: page.next })).toMatchObject({ events: [], broken: [], next: page.next })
      })))

    it("detects a row deleted from the middle of a stream", () =>
      runIn((schema) => Effect.gen(function*() {
        const log = yield* EventLog
        const db = yield* Database
        yield* log.append("cart-10", "no_stream", [added("a"), added("b"), added("c")])
        yield* Effect.promise(() => db.query(`delete from ${schema}.events where stream_id = 'cart-10' and stream_version = 2`))
        expect(failureOf(yield* Effect.exit(log.readStream("cart-10")))).toMatchObject({ _tag: "IntegrityError", version: 3 })
      })))
  })

  describe("the whole log's chains", () => {
    it("walks every stream's rows in pages of any size, and names the changed, the orphaned and the undecodable", () =>
      runIn((schema) => Effect.gen(function*() {
        const log = yield* EventLog
        const db = yield* Database
        const walk = (limit: number) =>
          log.checkStreams({ limit }).pipe(Effect.map((check) => ({
            ...check,
            broken: check.broken.map((row) => ({ stream: row.streamId, version: row.streamVersion, error: row.error._tag }))
          })))
        expect(yield* walk(3)).toEqual({ events: 0, streams: 0, broken: [] })
        yield* log.append("cart-a", "no_stream", [added("a1"), added("a2"), added("a3")])
        yield* log.append("cart-b", "no_stream", [added("b1")])
        yield* log.append("cart-c", "no_stream", [added("c1"), added("c2"), added("c3"), added("c4")])
        yield* log.append("cart-d", "no_stream", [added("d1"), added("d2")])
        for (const limit of [1, 2, 3, 10, 100]) expect(yield* walk(limit)).toEqual({ events: 10, streams: 4, broken: [] })
        // A payload changed; a stream's first row deleted (its second has nothing to chain to); a row
        // rewritten with a fresh hash but a payload its schema refuses (the row after it no longer chains).
        yield* Effect.promise(() => db.query(`update ${schema}.events set data = jsonb_set(data, '{quantity}', '50') where stream_id = 'cart-a' and stream_version = 2`))
        yield* Effect.promise(() => db.query(`delete from ${schema}.events where stream_id = 'cart-c' and stream_version = 1`))
        yield* Effect.promise(() =>
          db.query(`update ${schema}.events set data = '{"sku": 5}', hash = ${schema}.event_hash(stream_id, stream_version, event_id, type,
            schema_version, '{"sku": 5}'::jsonb, metadata, recorded_at, null) where stream_id = 'cart-d' and stream_version = 1`)
        )
        const expected = [
          { stream: "cart-a", version: 2, error: "IntegrityError" },
          { stream: "cart-c", version: 2, error: "IntegrityError" },
          { stream: "cart-d", version: 1, error: "InvalidEvent" },
          { stream: "cart-d", version: 2, error: "IntegrityError" }
        ]
        for (const limit of [1, 2, 4, 100]) expect(yield* walk(limit)).toEqual({ events: 9, streams: 4, broken: expected })
      })))
  })

  describe("readAll", () => {
    it("pages through the whole log in commit order with a cursor, filtering by type", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        for (let i = 0; i < 25; i++) yield* log.append(`s-${i % 3}`, "any", [i % 5 === 0 ? added(`x${i}`) : tick(i)])
        const seen: Array<RecordedEvent> = []
        let after = LogCursor.start
        while (true) {
          const page = yield* log.readAll({ after, limit: 7 })
          if (page.events.length === 0 && !page.heldBack) break
          // Behind another test's open transaction (Postgres): read again once it has ended.
          if (page.events.length === 0) yield* Effect.sleep("20 millis")
          seen.push(...page.events)
          after = page.next
        }
        expect(seen.length).toBe(25)
        expect(seen.map((e) => e.position)).toEqual([...seen.map((e) => e.position)].sort((a, b) => a - b))
        const onlyAdded = yield* log.readAll({ types: ["cart.item.added"] })
        expect(onlyAdded.events.map((e) => (e.data as { sku: string }).sku)).toEqual(["x0", "x5", "x10", "x15", "x20"])
        expect(LogCursor.parse(LogCursor.format(after))).toEqual(after)
      })))

    it("a read of some types that reaches the horizon moves its cursor past the other types' events, and says nothing waits", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        yield* log.append("s-a", "any", [added("a1"), added("a2")])
        for (let i = 0; i < 30; i++) yield* log.append(`s-${i % 4}`, "any", [tick(i)])
        const everything = yield* readUntil(log.readAll({ limit: 1000 }), (page) => page.events.length === 32)
        const lastTick = everything.events.at(-1)!
        // Full pages stop at their last event; the short one goes on to the last event of any type.
        const first = yield* log.readAll({ limit: 1, types: ["cart.item.added"] })
        expect([first.events.map((e) => (e.data as { sku: string }).sku), first.next.position]).toEqual([["a1"], first.events[0]!.position])
        const rest = yield* log.readAll({ after: first.next, limit: 10, types: ["cart.item.added"] })
        expect(rest.events.map((e) => (e.data as { sku: string }).sku)).toEqual(["a2"])
        expect(rest.next).toEqual({ transactionId: lastTick.transactionId, position: lastTick.position })
        expect(rest.heldBack).toBe(false)
        // Past the ticks, nothing more to read: the same cursor back, and later events of the type still come.
        expect(yield* log.readAll({ after: rest.next, types: ["cart.item.added"] })).toMatchObject({ events: [], next: rest.next, heldBack: false })
        yield* log.append("s-a", "any", [added("a3")])
        const later = yield* readUntil(log.readAll({ after: rest.next, types: ["cart.item.added"] }), (page) => page.events.length > 0)
        expect(later.events.map((e) => (e.data as { sku: string }).sku)).toEqual(["a3"])
      })))
  })

  describe("snapshots", () => {
    it("loads the latest snapshot of a stream", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        expect(Option.isNone(yield* log.loadLatestSnapshot("order-1"))).toBe(true)
        yield* log.saveSnapshot("order-1", 10, 1, { value: "paid", context: { total: "10.00" } })
        yield* log.saveSnapshot("order-1", 20, 2, { value: "shipped", context: { total: "10.00" } })
        yield* log.saveSnapshot("order-2", 5, 1, { value: "created" })
        const latest = yield* log.loadLatestSnapshot("order-1")
        expect(Option.getOrThrow(latest)).toMatchObject({
          streamId: "order-1",
          streamVersion: 20,
          machineVersion: 2,
          state: { value: "shipped", context: { total: "10.00" } }
        })
      })))
  })
})


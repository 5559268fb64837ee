/**
 * Subscriptions, on both drivers: catch-up then live, durable checkpoints,
 * retries, parking and re-driving, and isolation between subscriptions.
 */
import { Context, Effect, Layer, Schedule, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { Database, EventLog, type RecordedEvent, layer } from "../../src/log/index.js"
import { databaseLayer, drivers, freshSchema, withLog } from "../support/drivers.js"
import { added, catalog, tick } from "./fixtures.js"

/** Polls until `check` holds (subscriptions run in the background). */
const eventually = (check: () => boolean, what: string, timeoutMs = 60_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })

const numbers = (events: ReadonlyArray<RecordedEvent>) => events.map((e) => (e.data as { n: number }).n)

const appendTicks = (from: number, to: number) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    for (let n = from; n <= to; n++) yield* log.append(`ticks-${n % 4}`, "any", [tick(n)])
  })

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each(drivers)("subscriptions on %s", (driver) => {
  const run = <A, E>(body: Effect.Effect<A, E, EventLog | Database | Scope.Scope>) =>
    withLog(driver, Effect.scoped(body), { catalog })

  it("catches up, goes live, and resumes from its checkpoint after a restart", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* appendTicks(1, 10)

      const first: Array<RecordedEvent> = []
      const scope = yield* Scope.make()
      yield* log
        .subscribe("projector", (event) => Effect.sync(() => first.push(event)), { pollInterval: "30 seconds" })
        .pipe(Scope.provide(scope))
      yield* eventually(() => first.length === 10, "catch-up")
      // Live: woken by the append itself, long before the 30 s poll.
      yield* appendTicks(11, 15)
      yield* eventually(() => first.length === 15, "live events")
      expect(numbers(first)).toEqual(range(1, 15))
      yield* Scope.close(scope, undefined as never)

      yield* appendTicks(16, 20)
      const second: Array<RecordedEvent> = []
      yield* log.subscribe("projector", (event) => Effect.sync(() => second.push(event)))
      yield* eventually(() => second.length >= 5, "events after the restart")
      // Give a wrong re-delivery of old events the chance to show.
      yield* Effect.sleep("200 millis")
      expect(numbers(second)).toEqual(range(16, 20))
    })))

  it("reports how far each subscription's checkpoint is behind the log's head", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* appendTicks(1, 6)
      const seen: Array<RecordedEvent> = []
      yield* log.subscribe("counted", (e) => Effect.sync(() => seen.push(e)))
      yield* eventually(() => seen.length === 6, "the six events")
      const caughtUp = yield* Effect.promise(async () => {
        for (let i = 0; i < 200; i++) {
          const rows = await Effect.runPromise(log.subscriptionLag)
          if (rows.length === 1 && rows[0]!.behind === 0) return rows
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        return Effect.runPromise(log.subscriptionLag)
      })
      expect(caughtUp).toEqual([{ name: "counted", position: seen[5]!.position, behind: 0 }])
    })))

  it("delivers only the types asked for, and from the end when asked", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* appendTicks(1, 3)
      yield* log.append("other", "no_stream", [catalog.find("cart.item.removed", 1)!.make({ sku: "z" })])

      const removed: Array<RecordedEvent> = []
      yield* log.subscribe("removals", (e) => Effect.sync(() => removed.push(e)), { types: ["cart.item.removed"] })
      const fromEnd: Array<RecordedEvent> = []
      yield* log.subscribe("tail", (e) => Effect.sync(() => fromEnd.push(e)), { from: "end" })
      yield* eventually(() => removed.length === 1, "the removal")
      yield* appendTicks(4, 5)
      yield* eventually(() => fromEnd.length === 2, "the tail")
      expect(numbers(fromEnd)).toEqual([4, 5])
      expect(removed.map((e) => e.type)).toEqual(["cart.item.removed"])
    })))

  it("retries a throwing handler with backoff before succeeding", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* appendTicks(1, 3)
      const attempts = new Map<number, number>()
      const handled: Array<number> = []
      yield* log.subscribe(
        "flaky",
        (event) =>
          Effect.sync(() => {
            const n = (event.data as { n: number }).n
            const attempt = (attempts.get(n) ?? 0) + 1
            attempts.set(n, attempt)
            if (n === 2 && attempt < 3) throw new Error("transient")
            handled.push(n)
          }),
        { retryDelay: "5 millis", maxAttempts: 5 }
      )
      yield* eventually(() => handled.length === 3, "all three events")
      expect(handled).toEqual([1, 2, 3])
      expect(attempts.get(2)).toBe(3)
      expect(yield* log.listParked("flaky")).toEqual([])
    })))

  it("parks an event after repeated failures, moves on, and re-drives it on request", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* appendTicks(1, 5)
      let broken = true
      let tries = 0
      const handled: Array<number> = []
      yield* log.subscribe(
        "picky",
        (event) => {
          const n = (event.data as { n: number }).n
          if (n === 3 && broken) {
            tries++
            return Effect.fail(new Error(`cannot handle ${n}`))
          }
          return Effect.sync(() => handled.push(n))
        },
        { retryDelay: "1 millis", maxAttempts: 3 }
      )
      yield* eventually(() => handled.length === 4, "the events around the bad one")
      expect(handled).toEqual([1, 2, 4, 5])
      expect(tries).toBe(3)

      const parked = yield* log.listParked("picky")
      expect(parked).toHaveLength(1)
      expect(parked[0]).toMatchObject({ subscription: "picky", attempts: 3, error: "cannot handle 3", redriveRequested: false })

      broken = false
      expect(yield* log.redrive(parked[0]!.id)).toBe(true)
      yield* eventually(() => handled.length === 5, "the re-driven event")
      expect(handled).toEqual([1, 2, 4, 5, 3])
      const after = yield* Effect.gen(function*() {
        for (let i = 0; i < 100; i++) {
          const rows = yield* log.listParked("picky")
          if (rows.length === 0) return rows
          yield* Effect.sleep("10 millis")
        }
        return yield* log.listParked("picky")
      })
      expect(after).toEqual([])
      expect(yield* log.redrive(999_999)).toBe(false)
    })))

  it("parks a row changed behind the log's back and reads on; a re-drive of it is refused again", () => {
    const schema = freshSchema()
    return withLog(
      driver,
      Effect.scoped(Effect.gen(function*() {
        const log = yield* EventLog
        const db = yield* Database
        yield* appendTicks(1, 6)
        yield* Effect.promise(() => db.query(`update ${schema}.events set data = '{"n":33}' where stream_id = 'ticks-3' and stream_version = 1`))
        const handled: Array<number> = []
        yield* log.subscribe("follower", (event) => Effect.sync(() => handled.push((event.data as { n: number }).n)))
        yield* eventually(() => handled.length === 5, "every intact event")
        expect([...handled].sort()).toEqual([1, 2, 4, 5, 6])
        const parked = yield* log.listParked("follower")
        expect(parked).toHaveLength(1)
        expect(parked[0]).toMatchObject({ attempts: 0, error: "IntegrityError: stream ticks-3 version 1 does not match its hash chain" })
        // The subscription is past it: what comes next is delivered.
        yield* appendTicks(7, 7)
        yield* eventually(() => handled.includes(7), "an event after the broken one")
        // Re-driving does not deliver the changed row: it is checked again and stays parked.
        expect(yield* log.redrive(parked[0]!.id)).toBe(true)
        const again = yield* Effect.gen(function*() {
          for (let i = 0; i < 500; i++) {
            const rows = yield* log.listParked("follower")
            if (rows[0]?.redriveRequested === false) return rows
            yield* Effect.sleep("10 millis")
          }
          return yield* log.listParked("follower")
        })
        expect(again).toMatchObject([{ redriveRequested: false, error: expect.stringContaining("IntegrityError") }])
        expect(handled).not.toContain(33)
      })),
      { catalog, schema }
    )
  })

  it("never lets one subscription's failures stall another", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* appendTicks(1, 20)
      let failing = 0
      yield* log.subscribe("always-fails", () => Effect.sync(() => failing++).pipe(Effect.andThen(Effect.fail("nope"))), {
        retryDelay: "100 millis",
        maxAttempts: 5
      })
      const healthy: Array<number> = []
      yield* log.subscribe("healthy", (e) => Effect.sync(() => healthy.push((e.data as { n: number }).n)))
      // Each subscription is its own fiber: on a loaded machine the failing one may not have started yet.
      yield* eventually(() => healthy.length === 20 && failing > 0, "the healthy subscription, and the failing one's first attempt")
      // The failing one is still backing off on its first events.
      expect((yield* log.listParked("always-fails")).length).toBeLessThan(2)
      expect(healthy).toEqual(range(1, 20))
    })))

  it("a subscription of some types moves its cursor past the other types' events, so that it does not walk them again", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      const received: Array<RecordedEvent> = []
      const subscription = yield* log.subscribe("sparse", (e) => Effect.sync(() => received.push(e)), { types: ["cart.item.added"], pollInterval: "2 seconds" })
      yield* log.append("cart-1", "any", [added("mug")])
      yield* appendTicks(1, 20)
      // Another test's open transaction holds the horizon back until it ends: wait for all 21 to be readable.
      const all = yield* log.readAll({ limit: 100 }).pipe(Effect.repeat({ until: (page) => page.events.length === 21, schedule: Schedule.spaced("20 millis"), times: 3_000 }))
      const last = { transactionId: all.events.at(-1)!.transactionId, position: all.events.at(-1)!.position }
      // The ticks' wake-ups read past them: the cursor stands on the last tick, not on the mug.
      yield* subscription.position.pipe(
        Effect.repeat({ until: (cursor) => cursor.transactionId === last.transactionId && cursor.position === last.position, schedule: Schedule.spaced("20 millis"), times: 3_000 })
      )
      expect(received.map((e) => (e.data as { sku: string }).sku)).toEqual(["mug"])
    })))

  if (driver === "postgres") {
    it("a read behind an older open transaction says events of its types wait there, and not for other types", () =>
      run(Effect.gen(function*() {
        const log = yield* EventLog
        const db = yield* Database
        const during = yield* Effect.promise(() =>
          db.transaction(async (other) => {
            await other.query("select pg_current_xact_id()")
            await Effect.runPromise(log.append("late-1", "no_stream", [tick(7)]))
            return Promise.all([Effect.runPromise(log.readAll({ types: ["test.ticked"] })), Effect.runPromise(log.readAll({ types: ["cart.item.added"] }))])
          })
        )
        expect(during.map((page) => [page.events.length, page.heldBack])).toEqual([[0, true], [0, false]])
        const after = yield* log.readAll({ types: ["test.ticked"] }).pipe(Effect.repeat({ until: (page) => page.events.length > 0, schedule: Schedule.spaced("20 millis"), times: 3_000 }))
        expect([numbers(after.events), after.heldBack]).toEqual([[7], false])
      })))

    it("wakes a subscriber in another process's pool through NOTIFY", async () => {
      const schema = freshSchema()
      const reader = layer({ schema, catalog }).pipe(Layer.provide(databaseLayer(driver, schema)))
      const writer = layer({ schema, catalog, migrate: false }).pipe(Layer.provide(databaseLayer(driver, `${schema}_unused`)))
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function*() {
            const received: Array<RecordedEvent> = []
            const readerLog = yield* Layer.build(reader).pipe(Effect.map((ctx) => Context.get(ctx, EventLog)))
            yield* readerLog.subscribe("remote", (e) => Effect.sync(() => received.push(e)), { pollInterval: "60 seconds" })
            const writerLog = yield* Layer.build(writer).pipe(Effect.map((ctx) => Context.get(ctx, EventLog)))
            // subscribe() answers once the subscription listens; the poll (a minute) cannot be what delivers it.
            yield* writerLog.append("remote-1", "no_stream", [tick(42)])
            yield* eventually(() => received.length === 1, "the notification", 10_000)
            expect(numbers(received)).toEqual([42])
          })
        )
      )
    })

    it("delivers an append it was woken for once an older open transaction ends, without waiting for the poll", async () => {
      const schema = freshSchema()
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function*() {
            const context = yield* Layer.build(layer({ schema, catalog }).pipe(Layer.provideMerge(databaseLayer(driver, schema))))
            const log = Context.get(context, EventLog)
            const db = Context.get(context, Database)
            const received: Array<RecordedEvent> = []
            yield* log.subscribe("patient", (e) => Effect.sync(() => received.push(e)), { pollInterval: "60 seconds" })
            // A transaction elsewhere on the server, begun before the append and holding an id: gap-safe reads stop
            // before it, so the read the append's wake-up triggers finds nothing. It ends half a second later.
            yield* Effect.promise(() =>
              db.transaction(async (other) => {
                await other.query("select pg_current_xact_id()")
                await Effect.runPromise(log.append("late-1", "no_stream", [tick(7)]))
                await new Promise((resolve) => setTimeout(resolve, 500))
                expect(received).toEqual([])
              })
            )
            yield* eventually(() => received.length === 1, "the held-back event", 10_000)
            expect(numbers(received)).toEqual([7])
          })
        )
      )
    })
  }
})

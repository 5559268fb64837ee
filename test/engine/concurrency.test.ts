/**
 * Concurrent writers on one instance: every input lands once, in some order,
 * on a gap-free stream; the losers of each race re-run on the fresh state. And
 * a worker's lease heartbeat never waits on a task a step is consuming.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { engineMigrations, engineStatements } from "../../src/engine/store.js"
import { Database, EventLog, logMigrations, migrate } from "../../src/log/index.js"
import { databaseLayer, drivers, freshSchema } from "../support/drivers.js"
import { withOrrery, withRestarts } from "../support/engine.js"
import { tallyWorkflow } from "./fixtures.js"

describe.each(drivers)("concurrent inputs on %s", (driver) => {
  it("applies 40 concurrent sends to one instance exactly once each", () =>
    withOrrery(driver, { workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
      const engine = yield* Engine
      const log = yield* EventLog
      yield* engine.start("tally", {}, { id: "t1" })
      yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => engine.send("tally", "t1", { type: "BUMP", by: `s${i}` }), {
        concurrency: "unbounded",
        discard: true
      })
      const final = yield* engine.get("tally", "t1")
      expect(final.context).toEqual({ count: 40 })
      const events = yield* log.readStream("tally-t1")
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1))
      const bumps = events.filter((e) => e.type === "test.bumped").map((e) => e.data as { by: string; count: number })
      expect(new Set(bumps.map((b) => b.by)).size).toBe(40)
      expect(bumps.map((b) => b.count)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    })))

  it("serialises two engines (two processes' caches) writing the same instance", () =>
    withRestarts(driver, (phase) =>
      phase({ workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
        const first = yield* Engine
        yield* first.start("tally", {}, { id: "t2" })
        // A second engine over the same database, with a cache of its own; they take turns, each one stale.
        yield* phase({ workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
          const second = yield* Engine
          for (let i = 0; i < 5; i++) {
            yield* second.send("tally", "t2", { type: "BUMP", by: `second-${i}` })
            yield* first.send("tally", "t2", { type: "BUMP", by: `first-${i}` })
          }
          expect((yield* second.get("tally", "t2")).context).toEqual({ count: 10 })
          const log = yield* EventLog
          const events = yield* log.readStream("tally-t2")
          expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1))
        }))
      }))
    ))
})

// PGlite serves one connection at a time: no transaction can hold a row while a heartbeat runs there.
describe.skipIf(!drivers.includes("postgres"))("leases on postgres", () => {
  it("a heartbeat extends the leases it can and skips, without waiting, a task a step's transaction holds", async () => {
    const schema = freshSchema()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const db = yield* Database
      const sql = engineStatements(schema)
      yield* Effect.promise(() => migrate(db, schema, [...logMigrations, ...engineMigrations]))
      const ids = yield* Effect.promise(() =>
        db.query<{ id: number }>(`insert into ${schema}.tasks (kind, stream_id, workflow_type, instance_id, key, payload, due_at, locked_by, locked_until)
          select 'timer', 'nap-' || n, 'nap', n::text, 'wake', '{}', now(), 'w', now() + interval '1 second' from generate_series(1, 3) n
          returning id`)
      ).pipe(Effect.map((rows) => rows.map((row) => Number(row.id)).sort((a, b) => a - b)))
      const leases = () =>
        db.query<{ id: number; left_ms: number }>(`select id, extract(epoch from locked_until - now())::float8 * 1000 as left_ms
          from ${schema}.tasks order by id`)
      // A step consuming the second task holds its row (as record_steps does until it commits) while the worker beats.
      const extended = yield* Effect.promise(() =>
        db.transaction(async (step) => {
          await step.query(`select id from ${schema}.tasks where id = $1 for update`, [ids[1]])
          const beat = db.query<{ id: number }>(sql.heartbeat, ["w", 600_000, JSON.stringify(ids)])
          const stuck = new Promise<"stuck">((resolve) => setTimeout(() => resolve("stuck"), 20_000).unref())
          return Promise.race([beat, stuck])
        })
      )
      expect(extended).not.toBe("stuck")
      expect((extended as Array<{ id: number }>).map((row) => Number(row.id)).sort((a, b) => a - b)).toEqual([ids[0], ids[2]])
      const after = yield* Effect.promise(leases)
      expect(after.map((row) => row.left_ms > 60_000)).toEqual([true, false, true])
      // Once the step has let go, the next beat extends that lease too.
      const next = yield* Effect.promise(() => db.query<{ id: number }>(sql.heartbeat, ["w", 600_000, JSON.stringify(ids)]))
      expect(next).toHaveLength(3)
    }).pipe(Effect.provide(databaseLayer("postgres", schema)))))
  })
})

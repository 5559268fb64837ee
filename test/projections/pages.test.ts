/**
 * A read model applies a page of events in one transaction (one commit for
 * the page, not one per event); a page with an event it cannot apply is
 * applied again event by event, so that only that event is parked.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Database, EventLog, type RecordedEvent } from "../../src/log/index.js"
import { defineProjection, projectionsLayer } from "../../src/projections/projection.js"
import { drivers, freshSchema, withLog } from "../support/drivers.js"
import { catalog, tick } from "../log/fixtures.js"

/** Each tick applied, with the transaction that applied it; tick 25 cannot be applied. */
const ticks = defineProjection({
  name: "ticks",
  types: ["test.ticked"],
  setup: (s) => `create table if not exists ${s}.applied_ticks (n integer not null, applied_in text not null)`,
  reset: (s) => `delete from ${s}.applied_ticks`,
  apply: async (tx, s, event: RecordedEvent) => {
    const n = (event.data as { n: number }).n
    if (n === 25) throw new Error("tick 25 cannot be applied")
    await tx.query(`insert into ${s}.applied_ticks (n, applied_in) values ($1, pg_current_xact_id()::text)`, [n])
  }
})

/** The ticks applied so far, each with its transaction. */
const applied = (schema: string) =>
  Effect.flatMap(Database, (db) =>
    Effect.promise(() => db.query<{ n: number; applied_in: string }>(`select n, applied_in from ${schema}.applied_ticks order by n`)))

/** Polls until `done` holds of the applied ticks. */
const appliedUntil = (schema: string, done: (rows: ReadonlyArray<{ n: number; applied_in: string }>) => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 60_000
    while (true) {
      const rows = yield* applied(schema)
      if (done(rows)) return rows
      if (Date.now() > deadline) throw new Error(`timed out; applied: ${rows.map((row) => row.n).join(",")}`)
      yield* Effect.sleep("20 millis")
    }
  })

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each(drivers)("read model pages on %s", (driver) => {
  it("applies a page in one transaction, and a page it cannot apply whole event by event, parking only the event that fails", () => {
    const schema = freshSchema()
    return withLog(
      driver,
      Effect.gen(function*() {
        const log = yield* EventLog
        // Twenty events before the read model starts: it catches up on them in one page.
        yield* log.append("ticks-1", "no_stream", range(1, 20).map(tick))
        yield* Effect.gen(function*() {
          const first = yield* appliedUntil(schema, (rows) => rows.length >= 20)
          expect(first.map((row) => row.n)).toEqual(range(1, 20))
          expect(new Set(first.map((row) => row.applied_in)).size).toBe(1)

          yield* log.append("ticks-2", "no_stream", range(21, 30).map(tick))
          const parked = yield* Effect.gen(function*() {
            while (true) {
              const found = yield* log.listParked("projection:ticks")
              if (found.length > 0) return found
              yield* Effect.sleep("20 millis")
            }
          }).pipe(Effect.timeout("60 seconds"))
          expect(parked.map((event) => event.error)).toEqual([expect.stringContaining("tick 25 cannot be applied")])
          const all = yield* appliedUntil(schema, (rows) => rows.length >= 29)
          // Every other tick once, none twice: the failed page left nothing behind.
          expect(all.map((row) => row.n)).toEqual([...range(1, 24), ...range(26, 30)])
          expect(new Set(all.filter((row) => row.n > 20).map((row) => row.applied_in)).size).toBe(9)
        }).pipe(Effect.provide(projectionsLayer([ticks], schema)))
      }),
      { catalog, schema }
    )
  })
})

/**
 * The census from counters and the indexes that keep lists and claims flat as the tables grow,
 * on both drivers: the counts equal a GROUP BY of the instances after starts, steps, finishes,
 * cancels and deletes; the plans read the counters and the indexes rather than every row; the
 * migration applied over a database of the previous version backfills what it maintains.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { engineMigrations, engineStatements } from "../../src/engine/store.js"
import { Database, type DatabaseShape, type Queryable, logMigrations, migrate } from "../../src/log/index.js"
import { ticketWorkflow } from "../inspector/project/ticket.js"
import { databaseLayer, drivers, freshSchema } from "../support/drivers.js"
import { withOrrery } from "../support/engine.js"
import { tallyWorkflow } from "./fixtures.js"

/** What the census must answer: every instance grouped, as the census's rows (by version, status, then state). */
const groupBy = (db: Queryable, schema: string, type: string) =>
  db.query<{ machine_version: number; status: string; state: unknown; count: number }>(
    `select machine_version, status, state, count(*)::int as count from ${schema}.instances where workflow_type = $1
     group by machine_version, status, state order by machine_version, status, state`,
    [type]
  )

const asCensus = (rows: ReadonlyArray<{ machine_version: number; status: string; state: unknown; count: number }>) =>
  rows.map((row) => ({ machineVersion: row.machine_version, status: row.status, state: row.state, count: row.count }))

/** The plan of `text` as one string, with sequential scans discouraged so that a usable index shows. */
const planOf = (db: DatabaseShape, text: string, params: ReadonlyArray<unknown> = []) =>
  db.transaction(async (tx) => {
    await tx.query("set local enable_seqscan = off")
    const rows = await tx.query<Record<string, unknown>>(`explain (format json) ${text}`, params)
    return JSON.stringify(rows)
  })

describe.each(drivers)("census and indexes on %s", (driver) => {
  it("the census equals a GROUP BY of the instances after starts, steps, finishes, cancels and deletes", async () => {
    const schema = freshSchema()
    await withOrrery(driver, { schema, workflows: [ticketWorkflow, tallyWorkflow] }, Effect.gen(function*() {
      const engine = yield* Engine
      const db = yield* Database
      const check = Effect.gen(function*() {
        for (const type of ["ticket", "tally"]) {
          const census = yield* engine.census(type)
          expect(census).toEqual(asCensus(yield* Effect.promise(() => groupBy(db, schema, type))))
        }
      })
      yield* check
      expect(yield* engine.census("ticket")).toEqual([])
      for (let i = 0; i < 6; i++) yield* engine.start("ticket", {}, { id: `t${i}` })
      for (let i = 0; i < 3; i++) yield* engine.start("tally", {}, { id: `y${i}` })
      yield* check
      expect(yield* engine.census("ticket")).toEqual([{ machineVersion: 1, status: "running", state: { open: "triage" }, count: 6 }])
      // Steps that move the state, one that keeps it (a context change), finishes and a cancel.
      yield* engine.send("ticket", "t1", { type: "ASSIGN" })
      yield* engine.send("ticket", "t2", { type: "ASSIGN" })
      yield* engine.send("ticket", "t2", { type: "PAUSE" })
      yield* engine.send("ticket", "t3", { type: "SUBMIT" })
      yield* engine.send("ticket", "t3", { type: "APPROVE_CODE" })
      yield* engine.send("ticket", "t4", { type: "CLOSE" })
      yield* engine.send("tally", "y0", { type: "BUMP", by: "ann" })
      yield* engine.send("tally", "y1", { type: "CLOSE" })
      yield* engine.cancel("ticket", "t5", "test")
      yield* check
      expect(yield* engine.census("tally")).toEqual([
        { machineVersion: 1, status: "done", state: "closed", count: 1 },
        { machineVersion: 1, status: "running", state: "open", count: 2 }
      ])
      // Folded or not, the census is the same: changes left unfolded are summed in.
      yield* engine.send("ticket", "t0", { type: "ASSIGN" })
      yield* check
      yield* Effect.promise(() => db.query(`select ${schema}.fold_instance_counts()`))
      yield* check
      // Rows deleted (and truncated) behind the engine's back are counted out.
      yield* Effect.promise(() => db.query(`delete from ${schema}.instances where workflow_type = 'ticket' and instance_id in ('t0', 't4')`))
      yield* check
      const counted = yield* Effect.promise(() =>
        db.query<{ total: number }>(`select coalesce(sum(count), 0)::int as total from ${schema}.instance_counts where workflow_type = 'ticket'`)
      )
      expect(counted[0]!.total).toBe(4)
      yield* Effect.promise(() => db.query(`truncate ${schema}.instances`))
      yield* check
      expect(yield* engine.census("tally")).toEqual([])
    }))
  })

  it("the census reads the counters, never the instances", async () => {
    const schema = freshSchema()
    await withOrrery(driver, { schema, workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
      const db = yield* Database
      const engine = yield* Engine
      yield* engine.start("tally", {}, { id: "y0" })
      const plan = yield* Effect.promise(() => planOf(db, engineStatements(schema).census, ["tally"]))
      expect(plan).toContain("instance_counts")
      expect(plan).not.toMatch(/"Relation Name":"instances"/)
    }))
  })

  it("the migration over a database of the previous version keeps its rows and backfills the counts", async () => {
    const schema = freshSchema()
    const previous = engineMigrations.filter((migration) => migration.version <= 4)
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const db = yield* Database
      yield* Effect.promise(() => migrate(db, schema, [...logMigrations, ...previous]))
      // Rows as version 4 wrote them, straight into its tables.
      yield* Effect.promise(() =>
        db.query(
          `insert into ${schema}.instances (workflow_type, instance_id, machine_version, status, state, snapshot, stream_version, inputs)
           select 'ticket', 'old-' || n, 1, case when n % 3 = 0 then 'done' else 'running' end,
             case when n % 3 = 0 then '"closed"'::jsonb when n % 3 = 1 then '{"open": "triage"}'::jsonb
               else '{"review": {"code": "pending", "docs": "approved"}}'::jsonb end,
             '{}'::jsonb, 1, 1
           from generate_series(1, 30) n`
        )
      )
      const before = yield* Effect.promise(() => groupBy(db, schema, "ticket"))
      const applied = yield* Effect.promise(() => migrate(db, schema, [...logMigrations, ...engineMigrations]))
      expect(applied.map((migration) => migration.version)).toEqual(engineMigrations.filter((migration) => migration.version > 4).map((m) => m.version))
      expect(yield* Effect.promise(() => groupBy(db, schema, "ticket"))).toEqual(before)
      const counts = yield* Effect.promise(() =>
        db.query(`select machine_version, status, state, count::int as count from ${schema}.instance_counts
          where workflow_type = 'ticket' order by machine_version, status, state`)
      )
      expect(counts).toEqual(before)
      expect(before.map((row) => row.count)).toEqual([10, 10, 10])
    }).pipe(Effect.provide(databaseLayer(driver, schema)))))
  })
})

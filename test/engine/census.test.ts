/**
 * The census from counters and the indexes that keep lists and claims flat as the tables grow,
 * on both drivers: the counts equal a GROUP BY of the instances after starts, steps, finishes,
 * cancels and deletes; lists by nested state; claims exact from partial indexes; the plans read the
 * counters and the indexes rather than every row; the
 * migration applied over a database of the previous version backfills what it maintains.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine, EngineRuntime } from "../../src/engine/index.js"
import { analyzeAfterRows, vacuumAfterChanges } from "../../src/engine/instance-store.js"
import { engineMigrations, engineStatements, listStatement } from "../../src/engine/store.js"
import { Database, type DatabaseShape, type Queryable, logMigrations, migrate } from "../../src/log/index.js"
import { ticketPaths, ticketWorkflow } from "../inspector/project/ticket.js"
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

/** Reads `read` until `done` holds, for up to `seconds` (the server's statistics arrive a little after the commit). */
const waitFor = <A>(read: Effect.Effect<A>, done: (value: A) => boolean, what: string, seconds = 30): Effect.Effect<A> =>
  Effect.gen(function*() {
    const deadline = Date.now() + seconds * 1000
    while (true) {
      const value = yield* read
      if (done(value)) return value
      if (Date.now() > deadline) return yield* Effect.die(new Error(`waited ${seconds} s for ${what}: ${JSON.stringify(value)}`))
      yield* Effect.sleep("100 millis")
    }
  })

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

  it("a fold of many changes gives their table's pages back, so that later censuses do not read dead rows", async () => {
    const schema = freshSchema()
    await withOrrery(driver, { schema, workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
      const db = yield* Database
      const engine = yield* Engine
      yield* engine.start("tally", {}, { id: "y0" })
      const pages = () =>
        Effect.promise(() => db.query<{ bytes: number }>(`select pg_relation_size('${schema}.instance_count_changes')::int as bytes`)).pipe(
          Effect.map(([row]) => row!.bytes)
        )
      // A burst the fold has not met yet (a bulk load, a worker down for a while): instances come and go.
      const burst = vacuumAfterChanges + 2_000
      yield* Effect.promise(() =>
        db.query(`insert into ${schema}.instance_count_changes
          select 'tally', 1, 'running', '"open"', case when g % 2 = 0 then 1 else -1 end from generate_series(1, ${burst}) g`)
      )
      expect(yield* pages()).toBeGreaterThan(8192 * 10)
      const vacuums = () =>
        Effect.promise(() =>
          db.query<{ vacuums: number }>(`select coalesce(sum(vacuum_count), 0)::int as vacuums from pg_stat_user_tables
            where schemaname = $1 and relname = 'instance_count_changes'`, [schema])
        ).pipe(Effect.map(([row]) => row!.vacuums))
      const vacuumsBefore = yield* vacuums()
      // The census folds them in (their sum is nought: the count stands) and vacuums their table.
      expect(yield* engine.census("tally")).toEqual([{ machineVersion: 1, status: "running", state: "open", count: 1 }])
      yield* waitFor(vacuums(), (count) => count > vacuumsBefore, "the vacuum of instance_count_changes")
      // Emptied on disk: on PGlite, alone on its database, at once. On the shared server a vacuum
      // can only remove rows no open transaction may still see, and other test files' transactions
      // hold that horizon back for a while: the table is emptied once they end.
      if (driver === "pglite") expect(yield* pages()).toBe(0)
      else {
        yield* waitFor(
          Effect.promise(() => db.exec(`vacuum ${schema}.instance_count_changes`)).pipe(Effect.andThen(pages())),
          (bytes) => bytes === 0,
          "the folded changes' pages given back",
          120
        )
      }
      expect(yield* engine.census("tally")).toEqual([{ machineVersion: 1, status: "running", state: "open", count: 1 }])
    }))
  })

  it("a table that outgrew its statistics is analyzed, so that plans made while it was small are made again", async () => {
    const schema = freshSchema()
    await withOrrery(driver, { schema, workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
      const db = yield* Database
      const engine = yield* Engine
      const runtime = yield* EngineRuntime
      yield* engine.start("tally", {}, { id: "y0" })
      yield* Effect.promise(() => db.exec(`analyze ${schema}.instances`))
      const stats = () =>
        Effect.promise(() =>
          db.query<{ changed: number; analyzed: number }>(`select n_mod_since_analyze::int as changed,
              (coalesce(analyze_count, 0) + coalesce(autoanalyze_count, 0))::int as analyzed
            from pg_stat_user_tables where schemaname = $1 and relname = 'instances'`, [schema])
        ).pipe(Effect.map(([row]) => row ?? { changed: 0, analyzed: 0 }))
      // Nothing outgrown yet: the beat analyzes nothing.
      const before = yield* stats()
      expect(yield* runtime.refreshStatistics).toEqual([])
      expect((yield* stats()).analyzed).toBe(before.analyzed)
      // A burst: 3,000 instances where the statistics saw 1.
      yield* Effect.promise(() =>
        db.query(`insert into ${schema}.instances (workflow_type, instance_id, machine_version, status, state, snapshot, stream_version, inputs)
          select 'tally', 'burst-' || n, 1, 'running', '"open"', '{}', 1, 1 from generate_series(1, 3000) n`)
      )
      // The server's counters reach pg_stat_user_tables within a second or so of the commit.
      yield* waitFor(stats(), (row) => row.changed >= 3_000, "the burst counted")
      // The instances, and the path rows their trigger wrote with them.
      expect(yield* runtime.refreshStatistics).toEqual(["instances", "instance_paths"])
      const after = yield* waitFor(stats(), (row) => row.analyzed > before.analyzed, "the table analyzed")
      expect(after.changed).toBeLessThan(analyzeAfterRows)
    }))
  })

  it("lists by a state at any depth: the state paths of nested and parallel states, and the filter on them", async () => {
    const schema = freshSchema()
    await withOrrery(driver, { schema, workflows: [ticketWorkflow], worker: false }, Effect.gen(function*() {
      const engine = yield* Engine
      const db = yield* Database
      for (const [name, events] of Object.entries(ticketPaths)) {
        yield* engine.start("ticket", {}, { id: name })
        for (const type of events) yield* engine.send("ticket", name, { type })
      }
      const paths = yield* Effect.promise(() =>
        db.query<{ instance_id: string; paths: Array<string> }>(`select instance_id, array_agg(path order by path) as paths
          from ${schema}.instance_paths group by instance_id order by instance_id`)
      )
      expect(Object.fromEntries(paths.map((row) => [row.instance_id, [...row.paths].sort()]))).toEqual({
        closed: ["closed"],
        codeApproved: ["review", "review.code", "review.code.approved", "review.docs", "review.docs.pending"],
        paused: ["open", "open.assigned", "open.assigned.paused"],
        reviewing: ["review", "review.code", "review.code.pending", "review.docs", "review.docs.pending"],
        triage: ["open", "open.triage"],
        working: ["open", "open.assigned", "open.assigned.working"]
      })
      const ids = (state: string, status?: "running" | "done") =>
        engine.list({ type: "ticket", state, ...(status === undefined ? {} : { status }) }).pipe(Effect.map((page) => page.items.map((item) => item.id).sort()))
      expect(yield* ids("open")).toEqual(["paused", "triage", "working"])
      expect(yield* ids("open.assigned")).toEqual(["paused", "working"])
      expect(yield* ids("review.docs.pending")).toEqual(["codeApproved", "reviewing"])
      expect(yield* ids("review.code.approved", "running")).toEqual(["codeApproved"])
      expect(yield* ids("closed", "done")).toEqual(["closed"])
      expect(yield* ids("closed", "running")).toEqual([])
      expect(yield* ids("assigned")).toEqual([])
      // Pages by the cursor through the type's index, newest first, none twice.
      const seen: Array<string> = []
      let cursor: string | undefined
      do {
        const page = yield* engine.list({ type: "ticket", limit: 4, ...(cursor === undefined ? {} : { cursor }) })
        seen.push(...page.items.map((item) => item.id))
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
      expect([...seen].sort()).toEqual(Object.keys(ticketPaths).sort())
      expect(seen).toHaveLength(Object.keys(ticketPaths).length)
    }))
  })

  it("lists by type, status and nested state plan on their indexes", async () => {
    const schema = freshSchema()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const db = yield* Database
      yield* Effect.promise(() => migrate(db, schema, [...logMigrations, ...engineMigrations]))
      // Enough rows of three types for the planner to tell a selective filter from a broad one.
      yield* Effect.promise(() =>
        db.query(
          `insert into ${schema}.instances (workflow_type, instance_id, machine_version, status, state, snapshot, stream_version, inputs, created_at)
           select case when n % 5 = 0 then 'ticket' else (array['door', 'tally'])[1 + n % 2] end, 'i-' || n, 1,
             case when n % 100 = 0 then 'running' else 'done' end,
             case when n % 150 = 0 then '{"review": {"code": "approved", "docs": "pending"}}'::jsonb else '"closed"'::jsonb end,
             '{}'::jsonb, 1, 1, now() - n * interval '1 second'
           from generate_series(1, 6000) n`
        )
      )
      yield* Effect.promise(() => db.query(`analyze ${schema}.instances`))
      yield* Effect.promise(() => db.query(`analyze ${schema}.instance_paths`))
      const plan = (query: Partial<Parameters<typeof listStatement>[1]>) => {
        const { text, params } = listStatement(schema, {
          type: null, status: null, statePath: null, updatedBefore: null, id: null, idPrefix: null, after: null, limit: 51, ...query
        })
        return Effect.promise(() => planOf(db, text, params))
      }
      // A state walks its path rows newest first (by type and status, or by type alone) and stops after one page.
      expect(yield* plan({ statePath: ["review", "code"] })).toContain("instance_paths")
      const byState = yield* plan({ type: "ticket", status: "running", statePath: ["review", "code", "approved"] })
      expect(byState).toContain("instance_paths_pkey")
      expect(byState).not.toContain("\"Node Type\":\"Sort\"")
      const byTypeAndState = yield* plan({ type: "ticket", statePath: ["review", "code", "approved"] })
      expect(byTypeAndState).toContain("instance_paths_by_type")
      expect(byTypeAndState).not.toContain("\"Node Type\":\"Sort\"")
      expect(yield* plan({ type: "ticket", status: "running" })).toContain("instances_by_status")
      expect(yield* plan({ type: "ticket" })).toContain("instances_by_type")
      expect(yield* plan({ type: "ticket", after: [new Date(Date.now() - 3_000_000).toISOString(), "ticket", "i-3000"] })).toMatch(/instances_by_type|instances_newest/)
      // And they answer what a scan of every row answers.
      const listed = yield* Effect.promise(() => {
        const { text, params } = listStatement(schema, {
          type: "ticket", status: "running", statePath: ["review", "docs"], updatedBefore: null, id: null, idPrefix: null, after: null, limit: 500
        })
        return db.query<{ instance_id: string }>(text, params)
      })
      const scanned = yield* Effect.promise(() =>
        db.query<{ instance_id: string }>(`select instance_id from ${schema}.instances where workflow_type = 'ticket' and status = 'running'
          and state ? 'review' order by created_at desc`)
      )
      expect(listed.map((row) => row.instance_id)).toEqual(scanned.map((row) => row.instance_id))
      expect(listed.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(databaseLayer(driver, schema)))))
  })

  it("claims take unleased and lapsed tasks, earliest due first, within the fair share, from the partial indexes", async () => {
    const schema = freshSchema()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const db = yield* Database
      const sql = engineStatements(schema)
      yield* Effect.promise(() => migrate(db, schema, [...logMigrations, ...engineMigrations]))
      // due: seconds from now; lease: seconds from now the lease runs to (null: unleased).
      const tasks: ReadonlyArray<readonly [string, number, number | null]> = [
        ["free-10", -10, null],
        ["free-5", -5, null],
        ["free-later", 3600, null],
        ["lapsed-20", -20, -1],
        ["leased-30", -30, 3600],
        ["lapsed-later", 1800, -1]
      ]
      for (const [key, due, lease] of tasks) {
        yield* Effect.promise(() =>
          db.query(
            `insert into ${schema}.tasks (kind, stream_id, workflow_type, instance_id, key, payload, due_at, locked_by, locked_until)
             values ('timer', 'x-1', 'x', '1', $1, '{}', now() + $2 * interval '1 second', $3, now() + $4 * interval '1 second')`,
            [key, due, lease === null ? null : "w-old", lease]
          )
        )
      }
      const keys = (rows: ReadonlyArray<{ key: string }>) => rows.map((row) => row.key).sort()
      const now = () => new Date().toISOString()
      // Two live workers, none in hand: the share is (2 due unleased + 1 lapsed and due + 1 leased) / 2 = 2.
      const shared = yield* Effect.promise(() => db.query<{ key: string }>(sql.claimShare, ["w-me", 100, 60_000, now(), 2, 0]))
      expect(keys(shared)).toEqual(["free-10", "lapsed-20"])
      const rest = yield* Effect.promise(() => db.query<{ key: string }>(sql.claim, ["w-me", 100, 60_000, now()]))
      expect(keys(rest)).toEqual(["free-5"])
      expect(yield* Effect.promise(() => db.query(sql.claim, ["w-me", 100, 60_000, now()]))).toEqual([])
      const [next] = yield* Effect.promise(() => db.query<{ wait_ms: number }>(sql.nextDue, [now()]))
      // The lapsed lease due in half an hour comes before the unleased task due in an hour.
      expect(next!.wait_ms).toBeGreaterThan(1_700_000)
      expect(next!.wait_ms).toBeLessThanOrEqual(1_800_000)
      const leased = yield* Effect.promise(() =>
        db.query<{ key: string }>(`select key from ${schema}.tasks where locked_by = 'w-me' and locked_until > now()`)
      )
      expect(keys(leased)).toEqual(["free-10", "free-5", "lapsed-20"])

      const plans = [
        yield* Effect.promise(() => planOf(db, sql.claim, ["w-me", 10, 60_000, now()])),
        yield* Effect.promise(() => planOf(db, sql.claimShare, ["w-me", 10, 60_000, now(), 2, 0])),
        yield* Effect.promise(() => planOf(db, sql.nextDue, [now()]))
      ]
      for (const plan of plans) {
        expect(plan).toContain("tasks_claimable")
        expect(plan).toContain("tasks_leased")
        expect(plan).not.toContain("Seq Scan")
      }
    }).pipe(Effect.provide(databaseLayer(driver, schema)))))
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
      yield* Effect.promise(() =>
        db.query(`insert into ${schema}.tasks (kind, stream_id, workflow_type, instance_id, key, payload, due_at)
          values ('timer', 'ticket-old-1', 'ticket', 'old-1', 'after', '{}', now() - interval '1 second')`)
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
      // The task there before is claimed from the new index.
      const claimed = yield* Effect.promise(() => db.query<{ key: string }>(engineStatements(schema).claim, ["w", 10, 60_000, new Date().toISOString()]))
      expect(claimed.map((row) => row.key)).toEqual(["after"])
      // The rows there before have their state paths.
      const paths = yield* Effect.promise(() =>
        db.query<{ paths: Array<string>; count: number }>(`select paths, count(*)::int as count from (
            select instance_id, array_agg(path order by path) as paths from ${schema}.instance_paths where workflow_type = 'ticket' group by instance_id
          ) pathed group by paths order by count(*), paths::text`)
      )
      expect(paths.map((row) => [[...row.paths].sort(), row.count])).toEqual(
        expect.arrayContaining([[["closed"], 10], [["open", "open.triage"], 10], [["review", "review.code", "review.code.pending", "review.docs", "review.docs.approved"], 10]])
      )
    }).pipe(Effect.provide(databaseLayer(driver, schema)))))
  })
})

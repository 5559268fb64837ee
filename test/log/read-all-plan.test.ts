/**
 * The whole log's page read keeps one plan, an index walk with neither parallel
 * workers nor JIT, whatever the server's settings and the log's size (log
 * migrations 3 and 4). At 10 M events a plain statement got a parallel plan for each page
 * of 1,000 (240 ms a page against 24 ms), and its generic plan a JIT compilation;
 * here the server is told that both are free, so that a plain statement takes
 * them on a small log, and auto_explain shows the plans each one ran.
 * Postgres only: PGlite runs neither parallel workers nor JIT.
 */
import { Effect } from "effect"
import postgres from "postgres"
import { describe, expect, it } from "vitest"
import { EventLog, LogCursor } from "../../src/log/index.js"
import { statements } from "../../src/log/statements.js"
import { drivers, freshSchema, postgresUrl, withLog } from "../support/drivers.js"
import { catalog, tick } from "./fixtures.js"

/** The page read as it was before migration 3: one plain statement. */
const plainRead = (s: string) => `
  select e.position, e.hash = ${s}.event_hash(e.stream_id, e.stream_version, e.event_id, e.type, e.schema_version, e.data,
    e.metadata, e.recorded_at, p.hash) as intact
  from ${s}.events e
  left join ${s}.events p on p.stream_id = e.stream_id and p.stream_version = e.stream_version - 1
  where (e.transaction_id, e.position) > ($1::text::xid8, $2::bigint)
    and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    and ($4::text is null or e.type in (select jsonb_array_elements_text($4::text::jsonb)))
  order by e.transaction_id, e.position
  limit $3`

/** One connection whose every statement's plan, nested ones too, comes back as a notice. */
const explainingConnection = async () => {
  const plans: Array<string> = []
  const sql = postgres(postgresUrl, { max: 1, onnotice: (notice) => plans.push(String(notice.message)) })
  await sql.unsafe("load 'auto_explain'")
  for (
    const setting of [
      "auto_explain.log_min_duration = 0",
      "auto_explain.log_nested_statements = on",
      "auto_explain.log_level = notice",
      "client_min_messages = notice",
      // Parallel workers and JIT made free: any plan that can use them does.
      "parallel_setup_cost = 0",
      "parallel_tuple_cost = 0",
      "min_parallel_index_scan_size = 0",
      "min_parallel_table_scan_size = 0",
      "jit = on",
      "jit_above_cost = 0"
    ]
  ) await sql.unsafe(`set ${setting}`)
  const jit = (await sql.unsafe<Array<{ available: boolean }>>("select pg_jit_available() as available"))[0]!.available
  return { sql, plans, jit }
}

describe.runIf(drivers.includes("postgres"))("the whole log's page read on Postgres", () => {
  it("plans an index walk with no parallel workers and no JIT where a plain statement takes both", () => {
    const schema = freshSchema()
    return withLog("postgres", Effect.gen(function*() {
      const log = yield* EventLog
      for (let i = 0; i < 200; i++) yield* log.append(`ticks-${i % 20}`, "any", [tick(i)])
      const { jit, plans, sql } = yield* Effect.promise(explainingConnection)
      try {
        // The control: the same read as a plain statement takes the workers (and JIT, where the server has it).
        yield* Effect.promise(() => sql.unsafe(plainRead(schema), ["0", 0, 1000, null], { prepare: true }))
        const plain = plans.splice(0).join("\n")
        expect(plain).toMatch(/Gather/)
        if (jit) expect(plain).toMatch(/JIT/)

        const rows = yield* Effect.promise(() =>
          sql.unsafe<Array<{ position: string; intact: boolean | null; held_back: boolean | null }>>(statements(schema).readAll, [LogCursor.start.transactionId, LogCursor.start.position, 1000, null], { prepare: true })
        )
        // The function's own queries, explained as nested statements, ran without either: the page, and (the page
        // being short of its limit) the last event before the horizon and whether any wait behind it. (The call around
        // them is a function scan costed at 10: it would never reach a real server's jit_above_cost, only this test's 0.)
        const inner = plans.splice(0).filter((plan) => plan.includes(`from ${schema}.events e`))
        expect(inner).toHaveLength(3)
        for (const plan of inner) {
          expect(plan).toMatch(/events_transaction_order/)
          expect(plan).not.toMatch(/Gather|Parallel|Seq Scan/)
          expect(plan).not.toMatch(/JIT/)
        }
        const events = rows.slice(0, -1)
        expect(events).toHaveLength(200)
        expect(events.every((row) => row.intact === true && row.held_back === null)).toBe(true)
        expect(events.map((row) => Number(row.position))).toEqual([...events.map((row) => Number(row.position))].sort((a, b) => a - b))
        // The mark row: the cursor after the last event, and nothing held back.
        expect(rows.at(-1)).toMatchObject({ position: events.at(-1)!.position, intact: null, held_back: false })
      } finally {
        yield* Effect.promise(() => sql.end())
      }
    }), { catalog, schema })
  })
})

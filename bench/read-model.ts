/**
 * `npm run bench -- read-model [--events N] [--reads N]`
 *
 * What one read costs a read model of a rare type (a subscription filtered by
 * type) once the log has grown past its last event: N events of another type
 * (default 1,000,000) appended after one of its own. Every wake-up (each append
 * anywhere) and every poll makes one such read, in every read model.
 *
 * Side by side, in one run, on real Postgres (DATABASE_URL, default the local
 * server), in a throwaway schema dropped at the end:
 * - the read as it was until log migration 4, from the cursor the subscription
 *   kept (its last event of its own type): the same query, a plain statement with
 *   its function's settings;
 * - the read now: the first one walks the same tail once, and moves the cursor
 *   past it; the reads after it start there;
 * - the floor: `select 1` on the same connection, a round trip.
 * Each is timed `--reads` times (default 20); the table gives p50 and max.
 */
import { Effect, Layer, Schema } from "effect"
import { parseArgs } from "node:util"
import postgres from "postgres"
import { EventLog, type LogCursor, defineEvent, layer, layerPostgres, makeCatalog, maskUrl } from "../src/log/index.js"
import { type BenchContext, type BenchOutput, formatTable } from "./support.js"

export const description = "one read of a read model of a rare type at the log's tail: before and after log migration 4, beside a round trip"

const Rare = defineEvent("bench.rare", Schema.Struct({ n: Schema.Number }))
const Common = defineEvent("bench.common", Schema.Struct({ n: Schema.Number }))
const BATCH = 1_000

/** The page read of log migration 3, as a plain statement. */
const readBefore = (s: string) => `
  select e.position, e.transaction_id::text
  from ${s}.events e
  left join ${s}.events p on p.stream_id = e.stream_id and p.stream_version = e.stream_version - 1
  where (e.transaction_id, e.position) > ($1::text::xid8, $2::bigint)
    and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    and e.type in (select jsonb_array_elements_text($3::text::jsonb))
  order by e.transaction_id, e.position
  limit 500`

const percentile = (samples: ReadonlyArray<number>, p: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const round = (ms: number) => Math.round(ms * 100) / 100

export const run = async ({ args, signal, progress }: BenchContext): Promise<BenchOutput> => {
  const { values } = parseArgs({ args: [...args], options: { events: { type: "string", default: "1000000" }, reads: { type: "string", default: "20" } } })
  const events = Number(values.events)
  const reads = Number(values.reads)
  const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  if (!/@(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url)) throw new Error(`a loopback database only: ${maskUrl(url)}`)
  const schema = `bench_read_model_${Date.now()}`
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const program = Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.append("rare-1", "no_stream", [Rare.make({ n: 0 })])
      progress(`appending ${events.toLocaleString("en-US")} events of another type, ${BATCH} an append`)
      for (let done = 0; done < events; done += BATCH) {
        if (signal.aborted) throw new Error("interrupted")
        yield* log.append(`common-${done / BATCH}`, "no_stream", Array.from({ length: Math.min(BATCH, events - done) }, (_, i) => Common.make({ n: done + i })))
      }
      const own = yield* log.readAll({ limit: 1, types: ["bench.rare"] })
      return own.next
    })
    const kept: LogCursor = await Effect.runPromise(
      program.pipe(Effect.provide(layer({ schema, catalog: makeCatalog([Rare, Common]) }).pipe(Layer.provideMerge(layerPostgres({ url, max: 2 })))))
    )
    await sql.unsafe(`analyze ${schema}.events`)
    await sql.unsafe("set max_parallel_workers_per_gather = 0; set jit = off")

    const time = async (what: () => Promise<unknown>) => {
      const samples: Array<number> = []
      for (let i = 0; i < reads; i++) {
        const before = performance.now()
        await what()
        samples.push(performance.now() - before)
      }
      return { p50: round(percentile(samples, 50)), max: round(Math.max(...samples)) }
    }
    const types = JSON.stringify(["bench.rare"])
    progress("timing the reads")
    const before = await time(() => sql.unsafe(readBefore(schema), [kept.transactionId, kept.position, types], { prepare: true }))
    const call = `select position, transaction_id, held_back from ${schema}.read_all($1::text::xid8, $2::bigint, 500, $3::text::jsonb)`
    const firstStarted = performance.now()
    const first = await sql.unsafe<Array<{ position: string; transaction_id: string; held_back: boolean | null }>>(call, [kept.transactionId, kept.position, types], { prepare: true })
    const firstMs = round(performance.now() - firstStarted)
    const mark = first.at(-1)!
    if (first.length !== 1 || mark.held_back === null) throw new Error(`expected the mark row alone, got ${first.length} rows`)
    const after = await time(() => sql.unsafe(call, [mark.transaction_id, mark.position, types], { prepare: true }))
    const roundTrip = await time(() => sql.unsafe("select 1", [], { prepare: true }))
    const results = { events, reads, before, firstAfter: firstMs, after, roundTrip }
    const table = formatTable(["read at the tail", "p50 ms", "max ms"], [
      ["before: from its last event of its type", before.p50, before.max],
      ["now: the first read, walking the tail once", firstMs, firstMs],
      ["now: every read after it", after.p50, after.max],
      ["a round trip (select 1)", roundTrip.p50, roundTrip.max]
    ])
    return { environment: { database: maskUrl(url), server: (await sql.unsafe<Array<{ server_version: string }>>("show server_version"))[0]!.server_version }, results, table }
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`).catch(() => {})
    await sql.end()
  }
}

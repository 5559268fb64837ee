/**
 * `npm run bench -- log [--seconds N] [--warmup N] [--targets postgres,pglite-memory,pglite-disk]`
 *
 * The event log's append rate next to the physical limit, in one run:
 * - single: one event per `EventLog.append(stream, expectedVersion, [event])`;
 * - batch: 100 events per append (one stream, one transaction);
 * each with 1 and with 8 concurrent writers over 1,000 streams (writer w owns
 * the streams whose index % writers == w and passes the numeric expected
 * version it tracks), and beside each, the same rows written by a bare INSERT
 * (one row per autocommit statement, or one 100-row statement) into a table of
 * the same shape — same columns, defaults, constraints and indexes as the log's
 * `events` — with a 32-byte hash computed client side.
 *
 * Targets: real Postgres (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test,
 * a postgres.js pool of 10 for the log and another of 10 for the bare side),
 * PGlite in memory and PGlite on disk in a temp folder (one connection: 8 writers
 * are 8 callers queued on it). Everything lives in a throwaway schema (and
 * folder), dropped at the end. Both tables are truncated (and checkpointed)
 * before every case so that each case starts from the same empty state.
 *
 * Every case is verified: the rows in the table must equal the events appended
 * (warm-up included), every stream must hold versions 1..n where n is the
 * version its writer tracked, and (log side) `streamVersion` and `readStream`
 * (which checks the hash chain) must agree — a benchmark that silently failed
 * to write is worthless.
 *
 * Besides the rates, each case records the CPU it cost per event, in this
 * process and in the Postgres backends serving the side (read from /proc, so
 * only for a Postgres on this machine). On a shared machine the rates move with
 * whatever else runs; the CPU per event does not, and on this CPU-bound 2-core
 * box its ratio ("by CPU") is what the rate ratio would be with nothing else running.
 */
import { Effect, Layer, Schema, type Scope } from "effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import postgres from "postgres"
import {
  Database,
  type DatabaseShape,
  EventLog,
  type EventLogShape,
  defineEvent,
  layer,
  layerPglite,
  layerPostgres,
  maskUrl,
  type StoreUnavailable
} from "../src/log/index.js"
import { type BenchContext, type BenchOutput, type LoadResult, formatTable, load, processesCpuMicros } from "./support.js"

export const description = "event log appends vs bare INSERT, 1 and 8 writers, single events and batches of 100, Postgres and PGlite"

const STREAMS = 1_000
const BATCH = 100
const TARGET_RATIO = 0.8
/** postgres.js pool size, for the log and (a pool of its own) for the bare side. */
const POOL = 10

// ---------------------------------------------------------------------------
// The events: a realistic order event, about 190 bytes of JSON (plus ~70 bytes of metadata)

const OrderLine = Schema.Struct({ sku: Schema.String, quantity: Schema.Int, unitPrice: Schema.Number })
const OrderPlaced = defineEvent(
  "OrderPlaced",
  Schema.Struct({
    orderId: Schema.String,
    customerId: Schema.String,
    currency: Schema.Literals(["EUR", "USD", "GBP"]),
    total: Schema.Number,
    lines: Schema.Array(OrderLine)
  })
)
type OrderPlacedData = (typeof OrderPlaced.schema)["Type"]

const payload = (stream: number, version: number): OrderPlacedData => ({
  orderId: `ord-${stream}-${version}`,
  customerId: `cus-${(stream * 7919) % 100_000}`,
  currency: "EUR",
  total: 129.85,
  lines: [
    { sku: `SKU-${1000 + (version % 97)}`, quantity: 2, unitPrice: 39.95 },
    { sku: "SKU-2002", quantity: 1, unitPrice: 49.95 }
  ]
})

/** What both sides write for one event (the log receives it typed, the bare side as JSON text). */
interface Row {
  readonly streamId: string
  readonly version: number
  readonly eventId: string
  readonly data: OrderPlacedData
  readonly metadata: { readonly correlationId: string; readonly actor: string }
}

const rowsFor = (streamId: string, stream: number, from: number, count: number): Array<Row> => {
  const metadata = { correlationId: randomUUID(), actor: "bench" }
  return Array.from({ length: count }, (_, j) => ({
    streamId,
    version: from + j,
    eventId: randomUUID(),
    data: payload(stream, from + j),
    metadata
  }))
}

// ---------------------------------------------------------------------------
// The bare side

const COLUMNS = "stream_id, stream_version, event_id, type, schema_version, data, metadata, hash"
const PER_ROW = 8

/** The log's `events` table, column for column, constraint for constraint (src/log/migrations.ts). */
const createBareTable = (s: string) => `
  create table ${s}.bare_events (
    position bigint generated always as identity primary key,
    stream_id text not null,
    stream_version integer not null check (stream_version > 0),
    event_id uuid not null,
    type text not null,
    schema_version integer not null,
    data jsonb not null,
    metadata jsonb not null default '{}',
    recorded_at timestamptz not null default now(),
    transaction_id xid8 not null default pg_current_xact_id(),
    hash bytea not null,
    constraint bare_events_stream_version_key unique (stream_id, stream_version),
    constraint bare_events_event_id_key unique (event_id)
  );
  create index bare_events_transaction_order on ${s}.bare_events (transaction_id, position);`

const insertStatement = (s: string, rows: number) =>
  `insert into ${s}.bare_events (${COLUMNS}) values ` +
  Array.from({ length: rows }, (_, r) => {
    const p = (k: number) => `$${r * PER_ROW + k}`
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::jsonb, ${p(7)}::jsonb, ${p(8)})`
  }).join(", ")

/** Client-side chain: sha256 over the row's content and the stream's previous hash (32 bytes). */
const bareParams = (rows: ReadonlyArray<Row>, previous: Map<string, Buffer>): Array<unknown> => {
  const params: Array<unknown> = []
  for (const row of rows) {
    const data = JSON.stringify(row.data)
    const metadata = JSON.stringify(row.metadata)
    const hash = createHash("sha256")
      .update(`${row.streamId}\u001f${row.version}\u001f${row.eventId}\u001f${OrderPlaced.type}\u001f1\u001f${data}\u001f${metadata}`)
      .update(previous.get(row.streamId) ?? Buffer.alloc(0))
      .digest()
    previous.set(row.streamId, hash)
    params.push(row.streamId, row.version, row.eventId, OrderPlaced.type, OrderPlaced.schemaVersion, data, metadata, hash)
  }
  return params
}

/** Sends one bare statement: a postgres.js pool of its own on Postgres, the same PGlite connection on PGlite. */
type Bare = (text: string, params: ReadonlyArray<unknown>) => Promise<unknown>

/** How a target runs its bare side, and (real Postgres on this machine) which server processes serve each side. */
interface Sides {
  readonly bare: Bare
  readonly serverPids?: { readonly [S in Side]: () => Promise<ReadonlyArray<number>> }
}

// ---------------------------------------------------------------------------
// CPU accounting: the machine is shared and CPU-bound, so besides the rates each
// case records the CPU it cost per event — in this process (client, and all of
// PGlite) and in the Postgres backends serving the side (not the WAL writer,
// checkpointer or other background processes). CPU per event does not depend on
// what else runs on the machine; the rates do.

/** The backend pids behind a pool: as many concurrent queries as the pool has connections, so that each one answers. */
const poolPids = async (query: (text: string) => Promise<ReadonlyArray<{ pid: number }>>, size: number) => {
  const answers = await Promise.all(
    Array.from({ length: size }, () => query("select pg_backend_pid() as pid from pg_sleep(0.05)"))
  )
  return [...new Set(answers.flatMap((rows) => rows.map((row) => Number(row.pid))))]
}

// ---------------------------------------------------------------------------
// Cases

type Side = "log" | "bare"
type Mode = "single" | "batch"

interface SideResult {
  /** Appends (log) or INSERT statements (bare) per second. */
  readonly appendsPerSecond: number
  readonly eventsPerSecond: number
  readonly latencyMs: LoadResult["latencyMs"]
  readonly appendsMeasured: number
  readonly seconds: number
  /** Everything written in the case, warm-up included, and what the table holds afterwards. */
  readonly eventsWritten: number
  readonly rowsFound: number
  readonly streamsWritten: number
  /**
   * CPU per event in the measurement window, microseconds: this process (and so all of PGlite), and the
   * Postgres backends serving the side (null on PGlite, or when /proc cannot be read).
   */
  readonly cpuMicrosPerEvent: { readonly client: number; readonly server: number | null; readonly total: number }
}

interface CaseResult {
  readonly mode: Mode
  readonly eventsPerAppend: number
  readonly writers: number
  readonly log: SideResult
  readonly bare: SideResult
  /** log events/s ÷ bare events/s. */
  readonly ratio: number
  /** bare CPU per event ÷ log CPU per event: the ratio on a CPU-bound machine with nothing else running. */
  readonly cpuRatio: number
}

interface TargetResult {
  readonly target: string
  readonly location: string
  readonly server: string
  readonly cases: ReadonlyArray<CaseResult>
}

interface Settings {
  readonly warmupMs: number
  readonly durationMs: number
}

const table = (schema: string, side: Side) => `${schema}.${side === "log" ? "events" : "bare_events"}`

/** Which of its streams a writer appends to next: round robin over the indices it owns. */
const owner = (writers: number) => {
  const owned = Array.from({ length: writers }, (_, w) =>
    Array.from({ length: STREAMS }, (_, i) => i).filter((i) => i % writers === w)
  )
  const turn = new Array<number>(writers).fill(0)
  return (w: number): number => {
    const list = owned[w]!
    const stream = list[turn[w]! % list.length]!
    turn[w]!++
    return stream
  }
}

const runSide = Effect.fnUntraced(function*(
  options: {
    readonly db: DatabaseShape
    readonly log: EventLogShape
    readonly sides: Sides
    readonly schema: string
    readonly settings: Settings
    readonly progress: (line: string) => void
    readonly label: string
  },
  side: Side,
  mode: Mode,
  writers: number,
  caseNumber: number
) {
  const { db, log, sides, schema, settings } = options
  const bare = sides.bare
  const perAppend = mode === "single" ? 1 : BATCH
  yield* Effect.promise(async () => {
    await db.exec(`truncate ${schema}.events, ${schema}.bare_events`)
    await db.exec("checkpoint")
  })

  const streamName = (stream: number) => `order-${caseNumber}-${stream}`
  const versions = new Array<number>(STREAMS).fill(0)
  const next = owner(writers)
  const previousHash = new Map<string, Buffer>()
  const insert = insertStatement(schema, perAppend)

  const appendOne = (w: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const stream = next(w)
      const expected = versions[stream]!
      const rows = rowsFor(streamName(stream), stream, expected + 1, perAppend)
      if (side === "bare") {
        const params = bareParams(rows, previousHash)
        return Effect.promise(() => bare(insert, params)).pipe(
          Effect.map(() => {
            versions[stream] = expected + perAppend
          })
        )
      }
      const events = rows.map((row) => OrderPlaced.make(row.data, { eventId: row.eventId, metadata: row.metadata }))
      return log.append(streamName(stream), expected, events).pipe(
        Effect.orDie,
        Effect.flatMap((result) => {
          if (result.streamVersion !== expected + perAppend || result.alreadyStored) {
            return Effect.die(new Error(`append to ${streamName(stream)} answered ${JSON.stringify(result)}, expected version ${expected + perAppend}`))
          }
          versions[stream] = expected + perAppend
          return Effect.void
        })
      )
    })

  // CPU is read when the measurement window opens and closes, so warm-up (JIT, first plans) is not charged.
  const pids = sides.serverPids === undefined ? undefined : yield* Effect.promise(() => sides.serverPids![side]())
  let serverBefore: number | undefined
  let serverAfter: number | undefined
  let clientBefore = process.cpuUsage()
  let client = clientBefore
  const onWindow = {
    open: () => {
      serverBefore = pids === undefined ? undefined : processesCpuMicros(pids)
      clientBefore = process.cpuUsage()
    },
    close: () => {
      client = process.cpuUsage(clientBefore)
      serverAfter = pids === undefined ? undefined : processesCpuMicros(pids)
    }
  }
  const measured = yield* load({ writers, warmupMs: settings.warmupMs, durationMs: settings.durationMs, onWindow }, appendOne)

  // Read back: every appended event is a row, every stream holds exactly 1..n.
  const eventsWritten = measured.totalOperations * perAppend
  const found = yield* Effect.promise(() =>
    db.query<{ stream_id: string; n: number; top: number }>(
      `select stream_id, count(*)::integer as n, max(stream_version) as top from ${table(schema, side)} group by stream_id`
    )
  )
  const rowsFound = found.reduce((sum, row) => sum + row.n, 0)
  const expectedStreams = versions.filter((v) => v > 0).length
  const problems: Array<string> = []
  if (rowsFound !== eventsWritten) problems.push(`${rowsFound} rows for ${eventsWritten} events appended`)
  if (found.length !== expectedStreams) problems.push(`${found.length} streams in the table, ${expectedStreams} written`)
  for (const row of found) {
    const stream = Number(row.stream_id.split("-")[2])
    if (row.n !== row.top || row.top !== versions[stream]) {
      problems.push(`${row.stream_id}: ${row.n} rows, top version ${row.top}, writer tracked ${versions[stream]}`)
      break
    }
  }
  if (side === "log") {
    // And through the log's own API, for a few streams: versions, and the events with their hash chain.
    for (const stream of [0, 1, STREAMS - 1]) {
      const version = yield* log.streamVersion(streamName(stream)).pipe(Effect.orDie)
      if (version !== versions[stream]) problems.push(`streamVersion(${streamName(stream)}) = ${version}, tracked ${versions[stream]}`)
    }
    const events = yield* log.readStream(streamName(0)).pipe(Effect.orDie)
    if (events.length !== versions[0] || events.some((event, i) => event.streamVersion !== i + 1)) {
      problems.push(`readStream(${streamName(0)}) gave ${events.length} events, tracked ${versions[0]}`)
    }
  }
  if (problems.length > 0) {
    return yield* Effect.die(new Error(`${options.label} ${side} ${mode} ×${writers}: the table does not hold what was appended: ${problems.join("; ")}`))
  }

  const eventsInWindow = measured.operations * perAppend
  const perEvent = (micros: number) => Math.round((micros / eventsInWindow) * 10) / 10
  const clientPerEvent = perEvent(client.user + client.system)
  const serverPerEvent = serverBefore === undefined || serverAfter === undefined ? null : perEvent(serverAfter - serverBefore)
  const result: SideResult = {
    appendsPerSecond: measured.operationsPerSecond,
    eventsPerSecond: measured.operationsPerSecond * perAppend,
    latencyMs: measured.latencyMs,
    appendsMeasured: measured.operations,
    seconds: measured.seconds,
    eventsWritten,
    rowsFound,
    streamsWritten: found.length,
    cpuMicrosPerEvent: {
      client: clientPerEvent,
      server: serverPerEvent,
      total: Math.round((clientPerEvent + (serverPerEvent ?? 0)) * 10) / 10
    }
  }
  options.progress(
    `${options.label.padEnd(13)} ${side.padEnd(4)} ${mode.padEnd(6)} ×${writers}: ${result.eventsPerSecond.toLocaleString("en-US")} events/s` +
      ` (p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms; CPU ${result.cpuMicrosPerEvent.total} µs/event;` +
      ` ${rowsFound.toLocaleString("en-US")} rows verified)`
  )
  return result
})

/** All cases on one target: the log through `EventLog`, the bare side through `bare`. */
const runTarget = Effect.fnUntraced(function*(
  label: string,
  schema: string,
  makeSides: (db: DatabaseShape) => Sides,
  settings: Settings,
  progress: (line: string) => void
) {
  const db = yield* Database
  const log = yield* EventLog
  const sides = makeSides(db)
  yield* Effect.promise(() => db.exec(createBareTable(schema)))
  const [version] = yield* Effect.promise(() => db.query<{ version: string }>("select version() as version"))
  const options = { db, log, sides, schema, settings, progress, label }
  const cases: Array<CaseResult> = []
  let caseNumber = 0
  for (const mode of ["single", "batch"] as const) {
    for (const writers of [1, 8]) {
      const logSide = yield* runSide(options, "log", mode, writers, caseNumber++)
      const bareSide = yield* runSide(options, "bare", mode, writers, caseNumber++)
      cases.push({
        mode,
        eventsPerAppend: mode === "single" ? 1 : BATCH,
        writers,
        log: logSide,
        bare: bareSide,
        ratio: Math.round((logSide.eventsPerSecond / bareSide.eventsPerSecond) * 100) / 100,
        cpuRatio: Math.round((bareSide.cpuMicrosPerEvent.total / logSide.cpuMicrosPerEvent.total) * 100) / 100
      })
    }
  }
  return { target: label, location: db.location, server: version?.version.split(" on ")[0] ?? "unknown", cases }
})

const freshSchema = () => `orrery_bench_${randomBytes(5).toString("hex")}`

const postgresTarget = (url: string, settings: Settings, progress: (line: string) => void) =>
  Effect.gen(function*() {
    const schema = freshSchema()
    // The bare side's own pool; it also drops the schema at the end, after the log's pool is closed.
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() => postgres(url, { max: POOL, onnotice: () => {}, connection: { application_name: "orrery-bench-bare" } })),
      (sql) =>
        Effect.promise(async () => {
          await sql.unsafe(`drop schema if exists ${schema} cascade`).catch((error) => progress(`could not drop ${schema}: ${error}`))
          await sql.end({ timeout: 5 })
        })
    )
    const bare: Bare = (text, params) => sql.unsafe(text, params as Array<postgres.ParameterOrJSON<never>>, { prepare: true })
    const settingsRows = yield* Effect.promise(() =>
      sql<Array<{ name: string; setting: string }>>`
        select name, setting from pg_settings
        where name in ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'max_wal_size', 'server_version')`
    )
    const server = Object.fromEntries(settingsRows.map((row) => [row.name, row.setting]))
    const sides = (db: DatabaseShape): Sides => ({
      bare,
      serverPids: {
        log: () => poolPids((text) => db.query<{ pid: number }>(text), POOL),
        bare: () => poolPids((text) => sql.unsafe<Array<{ pid: number }>>(text), POOL)
      }
    })
    const result = yield* runTarget("postgres", schema, sides, settings, progress).pipe(
      Effect.provide(layer({ schema }).pipe(Layer.provideMerge(layerPostgres({ url, max: POOL }))))
    )
    return { ...result, location: maskUrl(url), settings: server, pools: { log: POOL, bare: POOL } }
  })

const pgliteTarget = (label: string, dataDir: string | undefined, settings: Settings, progress: (line: string) => void) =>
  Effect.gen(function*() {
    const schema = freshSchema()
    // The bare side shares the log's one PGlite connection: there is no other.
    const sides = (db: DatabaseShape): Sides => ({ bare: (text, params) => db.query(text, params) })
    return yield* runTarget(label, schema, sides, settings, progress).pipe(
      Effect.provide(layer({ schema }).pipe(Layer.provideMerge(layerPglite(dataDir === undefined ? {} : { dataDir }))))
    )
  })

const withTempDir = <A, E, R>(use: (dir: string) => Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Scope.Scope>> =>
  Effect.scoped(
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "orrery-bench-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ).pipe(Effect.flatMap((dir) => use(path.join(dir, "data"))))
  )

// ---------------------------------------------------------------------------

const allTargets = ["postgres", "pglite-memory", "pglite-disk"] as const
type TargetName = (typeof allTargets)[number]

export const run = async (context: BenchContext): Promise<BenchOutput> => {
  const { values } = parseArgs({
    args: [...context.args],
    options: {
      seconds: { type: "string" },
      warmup: { type: "string", default: "1" },
      targets: { type: "string", default: allTargets.join(",") }
    }
  })
  const number = (name: string, text: string | undefined) => {
    const n = Number(text)
    if (text !== undefined && !(Number.isFinite(n) && n > 0)) throw new Error(`--${name} must be a positive number of seconds`)
    return text === undefined ? undefined : n
  }
  const seconds = number("seconds", values.seconds)
  const warmup = number("warmup", values.warmup) ?? 1
  const targets = values.targets.split(",").map((t) => t.trim())
  for (const target of targets) {
    if (!(allTargets as ReadonlyArray<string>).includes(target)) throw new Error(`unknown target ${target}; known: ${allTargets.join(", ")}`)
  }
  // Postgres is the headline: 5 s per case; PGlite 3 s per case keeps the whole run under 3 minutes.
  const settingsFor = (target: TargetName): Settings => ({
    warmupMs: warmup * 1000,
    durationMs: (seconds ?? (target === "postgres" ? 5 : 3)) * 1000
  })
  const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  const host = new URL(url).hostname
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) {
    throw new Error(`the log benchmark only runs against a loopback Postgres; DATABASE_URL points at ${host}`)
  }

  const program = Effect.gen(function*() {
    const results: Array<TargetResult & Record<string, unknown>> = []
    for (const target of targets as Array<TargetName>) {
      const settings = settingsFor(target)
      context.progress(`${target}: ${settings.warmupMs / 1000} s warm-up + ${settings.durationMs / 1000} s per case`)
      if (target === "postgres") results.push(yield* Effect.scoped(postgresTarget(url, settings, context.progress)))
      if (target === "pglite-memory") results.push(yield* Effect.scoped(pgliteTarget(target, undefined, settings, context.progress)))
      if (target === "pglite-disk") {
        results.push(yield* withTempDir((dir) => Effect.scoped(pgliteTarget(target, dir, settings, context.progress))))
      }
    }
    return results
  })
  const targetResults = await Effect.runPromise(program as Effect.Effect<Array<TargetResult>, StoreUnavailable>, {
    signal: context.signal
  })

  const headline = targetResults.find((t) => t.target === "postgres")?.cases.find((c) => c.mode === "single" && c.writers === 8)
  const goal = {
    description: "log appends/s ≥ 0.8 × bare INSERT rows/s, single-event appends, 8 writers, real Postgres",
    required: TARGET_RATIO,
    measured: headline?.ratio ?? null,
    measuredByCpu: headline?.cpuRatio ?? null,
    met: headline === undefined ? null : headline.ratio >= TARGET_RATIO
  }

  const rows = targetResults.flatMap((t) =>
    t.cases.map((c) => [
      t.target,
      c.mode === "single" ? "1 event/append" : `${BATCH} events/append`,
      c.writers,
      c.log.eventsPerSecond,
      c.bare.eventsPerSecond,
      c.ratio.toFixed(2),
      `${c.log.cpuMicrosPerEvent.total} / ${c.bare.cpuMicrosPerEvent.total}`,
      c.cpuRatio.toFixed(2),
      `${c.log.latencyMs.p50} / ${c.log.latencyMs.p99}`,
      `${c.bare.latencyMs.p50} / ${c.bare.latencyMs.p99}`
    ])
  )
  const text = [
    formatTable(
      ["target", "case", "writers", "log events/s", "bare rows/s", "log/bare", "CPU µs/event log / bare", "by CPU", "log p50/p99 ms", "bare p50/p99 ms"],
      rows
    ),
    "",
    goal.met === null
      ? "target (≥ 0.8 of bare at 8 writers on Postgres): not measured (postgres target not run)"
      : `target: log/bare at 8 writers, single events, Postgres = ${goal.measured?.toFixed(2)} (required ≥ ${TARGET_RATIO}): ` +
        `${goal.met ? "MET" : "NOT MET"}; by CPU per event ${goal.measuredByCpu?.toFixed(2)}`
  ].join("\n")

  return {
    environment: {
      streams: STREAMS,
      batchSize: BATCH,
      payloadBytes: JSON.stringify(payload(123, 45)).length,
      metadataBytes: JSON.stringify({ correlationId: randomUUID(), actor: "bench" }).length,
      warmupSeconds: warmup,
      secondsPerCase: Object.fromEntries(targets.map((t) => [t, settingsFor(t as TargetName).durationMs / 1000]))
    },
    results: { goal, targets: targetResults },
    table: text
  }
}

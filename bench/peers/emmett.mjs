// Emmett PostgreSQL event store peer benchmark: the same workload as Orrery's
// `npm run bench -- log` single-event case, concurrent writers each appending one event
// at a time to streams of their own, passing the expected stream version.
//
//   node /tmp/orrery-peers/emmett.mjs [writers=8] [seconds=5]
//
// Prints one JSON document: events per second and CPU per event split into this process
// (client) and every Postgres process on the machine (server), as measure.mjs says.
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { randomUUID } from "node:crypto"
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import postgres from "postgres"
import { clientCpuMicros, postgresCpuMicros, requireLoopback } from "./measure.mjs"

const writers = Number(process.argv[2] ?? 8)
const seconds = Number(process.argv[3] ?? 5)
const WARMUP_SECONDS = 1
const STREAMS_PER_WRITER = 100
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/peers_emmett"

requireLoopback(url)

// ---------------------------------------------------------------------------
// The event: an order of about the size Orrery's log benchmark writes (~190 bytes of
// JSON data plus a small metadata object), so that payload size is not the difference.

const orderPlaced = (writer, stream, version) => ({
  type: "OrderPlaced",
  data: {
    orderId: `ord-${writer}-${stream}-${version}`,
    customerId: `cus-${(stream * 7919) % 100_000}`,
    currency: "EUR",
    total: 129.85,
    lines: [
      { sku: `SKU-${1000 + (version % 97)}`, quantity: 2, unitPrice: 39.95 },
      { sku: "SKU-2002", quantity: 1, unitPrice: 49.95 }
    ]
  },
  metadata: { correlationId: randomUUID(), actor: "bench" }
})

// The store keeps its own pg pool (pg's default of 10 connections, enough for 8 writers).
const store = getPostgreSQLEventStore(url)
// Emmett creates its schema lazily on first use; do it up front so neither the warm-up's
// first appends nor the timed part pay for it.
await store.schema.migrate()

// ---------------------------------------------------------------------------
// Each writer owns STREAMS_PER_WRITER streams and cycles over them, one event per append.
// The stream version is tracked locally and passed as expectedStreamVersion: 0n for a
// stream that does not exist yet (Emmett then inserts the stream row, whose unique key
// is the check), the returned nextExpectedStreamVersion afterwards. A conflict would
// throw; none can happen since no two writers share a stream.

const versions = Array.from({ length: writers }, () => new Array(STREAMS_PER_WRITER).fill(0n))
const cursor = new Array(writers).fill(0)

const writeUntil = async (writer, deadline) => {
  let appended = 0
  while (performance.now() < deadline) {
    const s = cursor[writer]++ % STREAMS_PER_WRITER
    // Emmett takes the part before the first "-" as the stream type.
    const streamName = `order-w${writer}s${s}`
    const expected = versions[writer][s]
    const { nextExpectedStreamVersion } = await store.appendToStream(
      streamName,
      [orderPlaced(writer, s, Number(expected) + 1)],
      { expectedStreamVersion: expected }
    )
    versions[writer][s] = nextExpectedStreamVersion
    appended++
  }
  return appended
}

const phase = async (durationSeconds) => {
  const deadline = performance.now() + durationSeconds * 1000
  const counts = await Promise.all(Array.from({ length: writers }, (_, w) => writeUntil(w, deadline)))
  return counts.reduce((a, b) => a + b, 0)
}

const warmupEvents = await phase(WARMUP_SECONDS)

const cpuClient0 = clientCpuMicros()
const cpuServer0 = postgresCpuMicros()
const t0 = performance.now()
const events = await phase(seconds)
// The last appends end a little after the deadline: divide by the time actually taken.
const elapsed = (performance.now() - t0) / 1000
const cpuClient = clientCpuMicros() - cpuClient0
const cpuServer = postgresCpuMicros() - cpuServer0

await store.close()

// ---------------------------------------------------------------------------
// Cross-check, outside the timed part: the table holds every event appended, and the
// stream heads hold the versions tracked here.

const sql = postgres(url, { max: 1, onnotice: () => {} })
const [{ rows }] = await sql`select count(*)::int as rows from emt_messages`
const [{ headSum }] = await sql`select coalesce(sum(stream_position), 0)::int as "headSum" from emt_streams`
await sql.end()
const trackedSum = versions.flat().reduce((a, v) => a + Number(v), 0)

const round = (x, digits = 0) => Number(x.toFixed(digits))
const sample = orderPlaced(0, 0, 1)

console.log(
  JSON.stringify(
    {
      peer: "@event-driven-io/emmett-postgresql",
      version: JSON.parse(readFileSync(new URL("./node_modules/@event-driven-io/emmett-postgresql/package.json", import.meta.url))).version,
      writers,
      seconds: round(elapsed, 3),
      streamsPerWriter: STREAMS_PER_WRITER,
      payloadBytes: JSON.stringify(sample.data).length,
      events,
      eventsPerSecond: round(events / elapsed),
      cpuMicrosPerEvent: {
        client: round(cpuClient / events),
        server: round(cpuServer / events),
        total: round((cpuClient + cpuServer) / events)
      },
      check: { rows, expectedRows: warmupEvents + events, streamHeadSum: headSum, trackedVersionSum: trackedSum }
    },
    null,
    2
  )
)

// DBOS Transact peer benchmark: the same workload as Orrery's `npm run bench -- engine`
// saga case, a workflow of three instant steps, started many times with a bounded
// number in flight.
//
//   node /tmp/orrery-peers/dbos.mjs [workflows=3000] [concurrency=32]
//
// Prints one JSON document: throughput, start-to-result latency, and CPU per workflow
// split into this process (client) and every Postgres process on the machine (server).
// CPU is measured as measure.mjs says.
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { DBOS } from "@dbos-inc/dbos-sdk"
import postgres from "postgres"
import { clientCpuMicros, postgresCpuMicros, requireLoopback } from "./measure.mjs"

const workflows = Number(process.argv[2] ?? 3000)
const concurrency = Number(process.argv[3] ?? 32)
const WARMUP = 200
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/peers_dbos"

requireLoopback(url)

// ---------------------------------------------------------------------------
// The workflow: three checkpointed steps, each returning at once, so what is measured
// is DBOS's own bookkeeping (workflow status row, one output row per step).

const first = DBOS.registerStep(async (x) => x + 1, { name: "first" })
const second = DBOS.registerStep(async (x) => x + 1, { name: "second" })
const third = DBOS.registerStep(async (x) => x + 1, { name: "third" })

const threeStep = DBOS.registerWorkflow(
  async (n) => {
    const a = await first(n)
    const b = await second(a)
    return third(b)
  },
  { name: "threeStep" }
)

DBOS.setConfig({
  name: "orrery-peers",
  systemDatabaseUrl: url,
  // DBOS's default pool (10). Overridable to try Orrery's 16 (bench/engine.ts).
  ...(process.env.DBOS_POOL_SIZE ? { systemDatabasePoolSize: Number(process.env.DBOS_POOL_SIZE) } : {}),
  // Keep stdout for the JSON result.
  logLevel: "warn"
})
await DBOS.launch()

// ---------------------------------------------------------------------------
// Run `count` workflows with at most `limit` in flight: `limit` loops, each starting the
// next workflow as soon as its previous one has returned. Latency is from the start call
// to the result (handle.getResult awaits the in-process run, no polling).

const run = async (count, limit, offset) => {
  const latencies = new Array(count)
  let next = 0
  let wrong = 0
  const loop = async () => {
    while (next < count) {
      const i = next++
      const t0 = performance.now()
      const handle = await DBOS.startWorkflow(threeStep)(offset + i)
      const result = await handle.getResult()
      latencies[i] = performance.now() - t0
      if (result !== offset + i + 3) wrong++
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, loop))
  if (wrong > 0) throw new Error(`${wrong} workflows returned a wrong result`)
  return latencies
}

await run(WARMUP, concurrency, 0)

const cpuClient0 = clientCpuMicros()
const cpuServer0 = postgresCpuMicros()
const t0 = performance.now()
const latencies = await run(workflows, concurrency, WARMUP)
const seconds = (performance.now() - t0) / 1000
const cpuClient = clientCpuMicros() - cpuClient0
const cpuServer = postgresCpuMicros() - cpuServer0

await DBOS.shutdown()

// ---------------------------------------------------------------------------
// Check, outside the timed part, that DBOS recorded what it claims: one SUCCESS status
// row per workflow and three step outputs each. The table names are DBOS's system
// schema (`dbos`); a mismatch is reported, not fatal, since it is only a cross-check.

const sql = postgres(url, { max: 1, onnotice: () => {} })
const [{ done }] = await sql`select count(*)::int as done from dbos.workflow_status where status = 'SUCCESS'`
const [{ steps }] = await sql`select count(*)::int as steps from dbos.operation_outputs`
await sql.end()

latencies.sort((a, b) => a - b)
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]
const round = (x, digits = 2) => Number(x.toFixed(digits))

console.log(
  JSON.stringify(
    {
      peer: "@dbos-inc/dbos-sdk",
      version: JSON.parse(readFileSync(new URL("./node_modules/@dbos-inc/dbos-sdk/package.json", import.meta.url))).version,
      workflows,
      concurrency,
      warmup: WARMUP,
      poolSize: Number(process.env.DBOS_POOL_SIZE ?? 10),
      seconds: round(seconds, 3),
      workflowsPerSecond: round(workflows / seconds, 1),
      latencyMs: { p50: round(pct(50)), p99: round(pct(99)) },
      cpuMicrosPerWorkflow: {
        client: round(cpuClient / workflows, 0),
        server: round(cpuServer / workflows, 0),
        total: round((cpuClient + cpuServer) / workflows, 0)
      },
      check: { succeeded: done, expected: WARMUP + workflows, stepOutputs: steps, expectedStepOutputs: 3 * (WARMUP + workflows) }
    },
    null,
    2
  )
)

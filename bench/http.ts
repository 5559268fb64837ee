/**
 * `npm run bench -- http [--seconds N] [--warmup N] [--connections N] [--rate N] [--log-level info]`
 *
 * The HTTP front door against real Postgres on loopback. The server (engine,
 * worker, Fastify with auth, rate limiting, validation and info-level request
 * logs) runs in a child process (bench/http/server.ts); the load comes from
 * this one. Four cases, each verified against the database afterwards:
 *
 * - starts at saturation: `POST /workflows/counter` from `connections`
 *   concurrent connections, closed loop (autocannon): starts/s;
 * - events at saturation: `POST /workflows/counter/{id}/events` spread over
 *   1,000 instances, likewise: events/s;
 * - starts, then events, at a fixed `rate` (default 500 req/s), open loop
 *   (bench/http/open-loop.ts: evenly spaced, latency from when each request
 *   was due): p50/p99. Target p99 ≤ 15 ms.
 *
 * Besides rates and latencies, each case records the server process's CPU per
 * request (from /proc): the machine is shared, and CPU per request moves less
 * with whatever else runs than rates and latencies do. Postgres runs on this
 * machine too and is not counted in it.
 */
import autocannon from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import postgres from "postgres"
import { maskUrl } from "../src/log/index.js"
import { openLoop } from "./http/open-loop.js"
import { type BenchContext, type BenchOutput, formatTable } from "./support.js"

export const description = "HTTP front door on real Postgres: starts/s and events/s at saturation, p50/p99 at a fixed rate"

const INSTANCES = 1_000
const TARGET_P99_MS = 15
const CLOCK_TICKS_PER_SECOND = 100 // Linux USER_HZ

/** utime + stime of a process, microseconds; undefined when /proc cannot tell. */
const cpuMicros = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

/** Starts bench/http/server.ts and waits for the URL it prints. */
const startServer = (databaseUrl: string, schema: string, token: string, logLevel: string) =>
  new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "http", "server.ts")
    const child = spawn(process.execPath, ["--import", "tsx", script, "--schema", schema, "--database-url", databaseUrl, "--token", token, "--log-level", logLevel], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    const timer = setTimeout(() => reject(new Error("the server did not start within 60 s")), 60_000)
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split("\n").find((candidate) => candidate.startsWith("{"))
      if (line !== undefined) {
        clearTimeout(timer)
        resolve({ child, url: (JSON.parse(line) as { url: string }).url })
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited with ${code} before listening`))
    })
  })

const stopServer = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

interface CaseResult {
  readonly name: string
  /** Concurrent connections (saturation), or null for the open-loop cases. */
  readonly connections: number | null
  /** Requested rate, or null at saturation. */
  readonly rate: number | null
  readonly seconds: number
  /** Answered 2xx. */
  readonly ok: number
  readonly failed: number
  readonly requestsPerSecond: number
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
  readonly serverCpuMicrosPerRequest: number | null
  readonly meetsTarget?: boolean
}

/** What a case sends: a start, or an event to one of the instances (round-robin, so concurrent ones rarely meet). */
type Target = "starts" | "events"
const requestOf = (target: Target, n: number) =>
  target === "starts"
    ? { path: "/workflows/counter", body: JSON.stringify({ input: {} }) }
    : { path: `/workflows/counter/c-${n % INSTANCES}/events`, body: JSON.stringify({ type: "TICK" }) }

export const run = async (context: BenchContext): Promise<BenchOutput> => {
  const { values } = parseArgs({
    args: [...context.args],
    options: {
      seconds: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      connections: { type: "string", default: "32" },
      rate: { type: "string", default: "500" },
      "log-level": { type: "string", default: "info" }
    }
  })
  const seconds = Number(values.seconds)
  const warmup = Number(values.warmup)
  const connections = Number(values.connections)
  const rate = Number(values.rate)
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  const schema = `orrery_bench_http_${randomBytes(4).toString("hex")}`
  const token = `bench-${randomBytes(16).toString("hex")}`
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  const [{ version }] = (await sql`select current_setting('server_version') as version`) as unknown as [{ version: string }]

  context.progress(`starting the server (schema ${schema})`)
  const { child, url } = await startServer(databaseUrl, schema, token, values["log-level"]!)
  const stopOnAbort = () => child.kill("SIGTERM")
  context.signal.addEventListener("abort", stopOnAbort)

  /** Runs `measure`, charging the server's CPU over it to the requests it answered. */
  const measured = async (name: string, measure: () => Promise<Omit<CaseResult, "name" | "serverCpuMicrosPerRequest">>): Promise<CaseResult> => {
    const before = cpuMicros(child.pid)
    const result = await measure()
    if (context.signal.aborted) throw new Error("interrupted")
    const after = cpuMicros(child.pid)
    const requests = result.ok + result.failed
    const cpu = before === undefined || after === undefined || requests === 0 ? null : Math.round((after - before) / requests)
    context.progress(`${name}: ${result.requestsPerSecond} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, failed ${result.failed}, server CPU ${cpu} µs/req`)
    return { name, ...result, serverCpuMicrosPerRequest: cpu }
  }

  const saturate = (name: string, target: Target, duration: number) =>
    measured(name, async () => {
      let n = 0
      const running = autocannon({
        url,
        connections,
        duration,
        requests: [{ method: "POST", headers, setupRequest: (request) => ({ ...request, ...requestOf(target, n++) }) }]
      })
      const stop = () => (running as unknown as { stop: () => void }).stop()
      context.signal.addEventListener("abort", stop)
      const result = await running
      context.signal.removeEventListener("abort", stop)
      return {
        connections,
        rate: null,
        seconds: result.duration,
        ok: result["2xx"],
        failed: result.non2xx + result.errors,
        requestsPerSecond: Math.round(result["2xx"] / result.duration),
        latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max }
      }
    })

  const steady = (name: string, target: Target) =>
    measured(name, async () => {
      const result = await openLoop({ url, ratePerSecond: rate, seconds, headers, next: (n) => requestOf(target, n), signal: context.signal })
      if (result.senderLagMs > 50) context.progress(`  (the sender fell up to ${result.senderLagMs} ms behind its schedule: the machine is busy)`)
      const { p50, p90, p99, max } = result.latencyMs
      return { connections: null, rate, seconds: result.seconds, ok: result.ok, failed: result.failed, requestsPerSecond: result.requestsPerSecond, latencyMs: { p50, p90, p99, max }, meetsTarget: p99 <= TARGET_P99_MS }
    })

  const count = async (query: string) => Number(((await sql.unsafe(query)) as unknown as [{ n: string }])[0].n)

  try {
    context.progress(`warm-up: ${warmup} s of starts`)
    const warm = await saturate("warm-up", "starts", warmup)

    context.progress(`creating ${INSTANCES} instances for the event cases`)
    for (let i = 0; i < INSTANCES; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, INSTANCES - i) }, (_, k) =>
          fetch(`${url}/workflows/counter`, { method: "POST", headers, body: JSON.stringify({ id: `c-${i + k}`, input: {} }) }).then((response) => {
            if (response.status !== 201) throw new Error(`creating c-${i + k}: ${response.status}`)
          })
        )
      )
    }

    const cases = [
      await saturate("starts, saturation", "starts", seconds),
      await saturate("events, saturation", "events", seconds),
      await steady(`starts at ${rate}/s`, "starts"),
      await steady(`events at ${rate}/s`, "events")
    ]

    // What the server said it did must be in the database: every 2xx start an instance, every 2xx event an input.
    const answered = (target: Target) => cases.filter((c) => c.name.startsWith(target)).reduce((sum, c) => sum + c.ok, 0)
    const starts = answered("starts") + warm.ok + INSTANCES
    const events = answered("events")
    const stored = {
      instances: await count(`select count(*) as n from ${schema}.instances where workflow_type = 'counter'`),
      events: await count(`select count(*) as n from ${schema}.events where type = 'workflow.event_received'`)
    }
    // autocannon may stop the clock with requests sent but not yet answered: those are stored, not counted.
    const slack = connections * 4
    const verified = stored.instances >= starts && stored.instances <= starts + slack && stored.events >= events && stored.events <= events + slack
    context.progress(`verified: ${stored.instances} instances for ${starts} 2xx starts, ${stored.events} inputs for ${events} 2xx events`)
    if (!verified) throw new Error(`the database does not hold what the server answered: ${JSON.stringify({ starts, events, stored })}`)
    if (cases.some((c) => c.failed > 0)) throw new Error(`failed requests: ${JSON.stringify(cases.map((c) => [c.name, c.failed]))}`)

    const table = formatTable(
      ["case", "load", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "server CPU µs/req"],
      cases.map((c) => [c.name, c.connections === null ? "open loop" : `${c.connections} conns`, c.requestsPerSecond, c.latencyMs.p50, c.latencyMs.p90, c.latencyMs.p99, c.latencyMs.max, c.serverCpuMicrosPerRequest ?? "n/a"])
    )
    return {
      environment: {
        postgres: version,
        databaseUrl: maskUrl(databaseUrl),
        server: `child process: Fastify 5, bearer auth, rate limit on, ${values["log-level"]}-level JSON logs to /dev/null, postgres.js pool of 10, in-process worker`,
        workflow: "counter (bench/engine/counter.ts): one input per start or event, no activities",
        loadGenerator: "this process: autocannon (closed loop) at saturation, an open-loop sender at the fixed rate",
        seconds,
        warmupSeconds: warmup,
        targetP99Ms: TARGET_P99_MS
      },
      results: {
        startsPerSecond: cases[0]!.requestsPerSecond,
        eventsPerSecond: cases[1]!.requestsPerSecond,
        atFixedRate: { rate, starts: cases[2]!.latencyMs, events: cases[3]!.latencyMs, meetsTarget: cases[2]!.meetsTarget === true && cases[3]!.meetsTarget === true },
        verified: { starts, events, stored },
        cases
      },
      table
    }
  } finally {
    context.signal.removeEventListener("abort", stopOnAbort)
    await stopServer(child)
    await sql.unsafe(`drop schema if exists ${schema} cascade`).catch(() => {})
    await sql.end({ timeout: 5 })
  }
}

/**
 * `npm run bench -- <name> [options]`: runs the benchmark `bench/<name>.ts`.
 *
 * Conventions every benchmark follows:
 * - stdout carries exactly one thing: the result document, pretty-printed JSON
 *   (`npm run bench --silent -- log > out.json` gives valid JSON);
 * - stderr carries progress lines while it runs and, at the end, a short human
 *   table;
 * - the same document is written to `bench/results/<name>-<timestamp>.json`
 *   (gitignored).
 *
 * The document is `{ benchmark, startedAt, finishedAt, seconds, machine,
 * environment, results, file }`: `machine` (cores, memory, Node) is filled in
 * here, `environment` (server versions, settings) and `results` by the
 * benchmark. A benchmark module exports `description` (one line) and `run`
 * (see `Benchmark` in ./support.ts); it must clean up after itself (its own
 * schema or folder) even when it fails or is interrupted (Ctrl-C aborts the
 * context's signal).
 *
 * Exit codes: 0 done, 1 the benchmark failed, 2 unknown benchmark or usage,
 * 130 interrupted.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Benchmark, machine } from "./support.js"

interface BenchmarkModule {
  readonly description: string
  readonly run: Benchmark
}

/** The known benchmarks. */
const benchmarks: Record<string, () => Promise<BenchmarkModule>> = {
  log: () => import("./log.js"),
  engine: () => import("./engine.js"),
  http: () => import("./http.js"),
  testing: () => import("./testing.js"),
  cli: () => import("./cli.js"),
  growth: () => import("./growth.js"),
  "read-model": () => import("./read-model.js")
}

const known = Object.keys(benchmarks).join(", ")
const [name, ...args] = process.argv.slice(2)

if (name === undefined || name === "--help" || name === "-h") {
  process.stderr.write(`usage: npm run bench -- <name> [options]; known benchmarks: ${known}\n`)
  process.exit(2)
}
const load = Object.hasOwn(benchmarks, name) ? benchmarks[name] : undefined
if (load === undefined) {
  process.stderr.write(`unknown benchmark "${name}"; known benchmarks: ${known}\n`)
  process.exit(2)
}

const controller = new AbortController()
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping and cleaning up…\n`)
    controller.abort()
  })
}

const benchmark = await load()
const startedAt = new Date()
const machineAtStart = machine()
process.stderr.write(`bench ${name}: ${benchmark.description}\n`)
try {
  const output = await benchmark.run({
    args,
    signal: controller.signal,
    progress: (line) => process.stderr.write(`  ${line}\n`)
  })
  const finishedAt = new Date()
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results")
  const file = path.join(resultsDir, `${name}-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`)
  const document = {
    benchmark: name,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    machine: { ...machineAtStart, loadAverage: { atStart: machineAtStart.loadAverage, atEnd: machine().loadAverage } },
    environment: output.environment,
    results: output.results,
    file: path.relative(process.cwd(), file)
  }
  const json = JSON.stringify(document, null, 2)
  fs.mkdirSync(resultsDir, { recursive: true })
  fs.writeFileSync(file, `${json}\n`)
  const plot = output.png === undefined ? undefined : file.replace(/\.json$/, ".png")
  if (plot !== undefined) fs.writeFileSync(plot, output.png!)
  process.stderr.write(`\n${output.table}\n\nwritten to ${document.file}${plot === undefined ? "" : ` and ${path.relative(process.cwd(), plot)}`}\n`)
  process.stdout.write(`${json}\n`)
} catch (error) {
  if (controller.signal.aborted) {
    process.stderr.write(`bench ${name} interrupted; nothing written\n`)
    process.exitCode = 130
  } else {
    process.stderr.write(`bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  }
}
// A benchmark closes what it opened; should a handle linger anyway, do not hang (the timer itself keeps nothing alive).
setTimeout(() => process.exit(), 10_000).unref()

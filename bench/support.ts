/**
 * What every benchmark shares: the module contract `bench/run.ts` dispatches
 * to, the machine description, a timed load loop and table formatting.
 * (Kept apart from run.ts so that importing it never starts a run.)
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"

/** What `bench/run.ts` hands a benchmark. */
export interface BenchContext {
  /** The command-line arguments after the benchmark's name. */
  readonly args: ReadonlyArray<string>
  /** Aborted on SIGINT/SIGTERM: stop, clean up (drop schemas, remove folders), reject. */
  readonly signal: AbortSignal
  /** One progress line on stderr (never stdout: stdout carries only the JSON document). */
  readonly progress: (line: string) => void
}

/** What a benchmark gives back; run.ts wraps it into the document it prints and saves. */
export interface BenchOutput {
  /** Facts about what was measured against (server versions, settings), merged into the document. */
  readonly environment: Record<string, unknown>
  /** The figures, as JSON. */
  readonly results: unknown
  /** A short human table (already formatted, several lines). */
  readonly table: string
  /** A plot of the figures, written beside the JSON document as `<name>-<timestamp>.png`. */
  readonly png?: Uint8Array
}

/** A benchmark module (`bench/<name>.ts`) exports `run` of this type and a one-line `description`. */
export type Benchmark = (context: BenchContext) => Promise<BenchOutput>

export const machine = () => ({
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  platform: `${os.platform()} ${os.release()}`,
  node: process.version,
  /** 1-minute load average: other work on the machine moves the rates (not the CPU per event). */
  loadAverage: Math.round(os.loadavg()[0]! * 100) / 100
})

// ---------------------------------------------------------------------------
// Load

export interface LoadOptions {
  /** Concurrent callers, each awaiting its own operation before starting the next. */
  readonly writers: number
  /** Operations before the measurement window opens (not counted in the rate, counted in `totalOperations`). */
  readonly warmupMs: number
  /** The measurement window. */
  readonly durationMs: number
  /** Called when the measurement window opens and when it closes (e.g. to read CPU counters). */
  readonly onWindow?: { readonly open: () => void; readonly close: () => void }
}

export interface LoadResult {
  readonly writers: number
  /** Operations completed inside the measurement window. */
  readonly operations: number
  readonly seconds: number
  readonly operationsPerSecond: number
  /** Per-operation latency inside the window, milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
  /** Every operation completed, warm-up and stragglers included: what must be found in the database. */
  readonly totalOperations: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits

/**
 * Runs `operation(writer)` in `writers` concurrent loops for warm-up plus
 * duration, and counts the operations that complete inside the window. Every
 * side of a comparison goes through this same loop, so its (small) overhead
 * cancels out of the ratios.
 */
export const load = <E, R>(
  options: LoadOptions,
  operation: (writer: number) => Effect.Effect<void, E, R>
): Effect.Effect<LoadResult, E, R> =>
  Effect.suspend(() => {
    const started = performance.now()
    const windowStart = started + options.warmupMs
    const windowEnd = windowStart + options.durationMs
    const latencies: Array<number> = []
    let total = 0
    const writer = (index: number) =>
      Effect.gen(function*() {
        while (performance.now() < windowEnd) {
          const before = performance.now()
          yield* operation(index)
          const after = performance.now()
          if (after >= windowStart) open()
          if (after >= windowEnd) close()
          total++
          if (after >= windowStart && after <= windowEnd) latencies.push(after - before)
        }
      })
    // The window's callbacks run once each, on time (timers) or, when a busy event loop delays the timers,
    // from the loops themselves — and `close` always runs before the result is built.
    let opened = false
    let closed = false
    const open = () => {
      if (opened) return
      opened = true
      options.onWindow?.open()
    }
    const close = () => {
      if (closed) return
      open()
      closed = true
      options.onWindow?.close()
    }
    const timers = options.onWindow === undefined
      ? []
      : [setTimeout(open, options.warmupMs), setTimeout(close, options.warmupMs + options.durationMs)]
    return Effect.forEach(Array.from({ length: options.writers }, (_, index) => index), writer, {
      concurrency: "unbounded",
      discard: true
    }).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          timers.forEach(clearTimeout)
          close()
        })
      ),
      Effect.map((): LoadResult => {
        const seconds = options.durationMs / 1000
        const sorted = latencies.sort((a, b) => a - b)
        return {
          writers: options.writers,
          operations: latencies.length,
          seconds,
          operationsPerSecond: Math.round(latencies.length / seconds),
          latencyMs: {
            p50: round(percentile(sorted, 50)),
            p90: round(percentile(sorted, 90)),
            p99: round(percentile(sorted, 99)),
            max: round(sorted[sorted.length - 1] ?? 0)
          },
          totalOperations: total
        }
      })
    )
  })

// ---------------------------------------------------------------------------
// Tables

/** Columns padded to their widest cell; numbers right-aligned. */
export const formatTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cells = [header, ...rows.map((row) => row.map((cell) => (typeof cell === "number" ? formatNumber(cell) : cell)))]
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)))
  const numeric = header.map((_, column) => rows.every((row) => typeof row[column] === "number" || /^[\d.,]+$/.test(String(row[column]))))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ").trimEnd()
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...cells.slice(1).map(line)].join("\n")
}

export const formatNumber = (n: number): string =>
  Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })

// ---------------------------------------------------------------------------
// CPU accounting from /proc: on a shared, CPU-bound machine the rates move with whatever else
// runs; the CPU an operation cost does not.

const CLOCK_TICKS_PER_SECOND = 100 // Linux USER_HZ

/** utime + stime of a process in microseconds, or undefined when it cannot be read (not this machine, not Linux). */
export const processCpuMicros = (pid: number): number | undefined => {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

/** The summed CPU of `pids`, or undefined when one cannot be read. */
export const processesCpuMicros = (pids: ReadonlyArray<number>): number | undefined => {
  let total = 0
  for (const pid of pids) {
    const micros = processCpuMicros(pid)
    if (micros === undefined) return undefined
    total += micros
  }
  return total
}

/**
 * Every process of a Postgres server on this machine (backends, WAL writer, checkpointer...),
 * found by name; empty when none runs here.
 */
export const postgresPids = (): ReadonlyArray<number> => {
  try {
    return fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
      try {
        return fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "postgres" ? [Number(entry)] : []
      } catch {
        return []
      }
    })
  } catch {
    return []
  }
}

/**
 * An open-loop load generator: requests leave at a fixed rate, evenly spaced,
 * whether or not earlier ones have been answered, and each latency runs from
 * when its request was *due* — so a stall shows in the percentiles instead of
 * slowing the sender down (no coordinated omission).
 *
 * Why not autocannon's `overallRate`: it lets each connection send its whole
 * per-second quota back to back at the top of every second, then pause — a
 * burst of `connections` concurrent requests, not a steady rate — and its
 * correction for coordinated omission assumes a 1 ms interval. Both inflate
 * the percentiles at a fixed rate. Saturation runs still use autocannon.
 */
import { Agent, request } from "node:http"

export interface OpenLoopOptions {
  readonly url: string
  readonly ratePerSecond: number
  readonly seconds: number
  readonly headers: Readonly<Record<string, string>>
  /** The n-th request's path and body. */
  readonly next: (n: number) => { readonly path: string; readonly body: string }
  readonly signal: AbortSignal
}

export interface OpenLoopResult {
  readonly sent: number
  readonly ok: number
  readonly failed: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number }
  /** Largest gap between when a request was due and when it left: how far the sender itself fell behind. */
  readonly senderLagMs: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
const round = (n: number) => Math.round(n * 100) / 100

export const openLoop = (options: OpenLoopOptions): Promise<OpenLoopResult> =>
  new Promise((resolve) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 256 })
    const target = new URL(options.url)
    const interval = 1000 / options.ratePerSecond
    const total = Math.round(options.ratePerSecond * options.seconds)
    const latencies: Array<number> = []
    let sent = 0
    let settled = 0
    let failed = 0
    let senderLag = 0
    const started = performance.now()

    const finish = () => {
      agent.destroy()
      const sorted = latencies.sort((a, b) => a - b)
      const seconds = (performance.now() - started) / 1000
      resolve({
        sent,
        ok: latencies.length,
        failed,
        seconds: round(seconds),
        requestsPerSecond: Math.round(latencies.length / Math.max(seconds, options.seconds)),
        latencyMs: { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), p999: round(percentile(sorted, 99.9)), max: round(sorted.at(-1) ?? 0) },
        senderLagMs: round(senderLag)
      })
    }

    const fire = (n: number, due: number) => {
      const { path, body } = options.next(n)
      senderLag = Math.max(senderLag, performance.now() - due)
      const done = (ok: boolean) => {
        if (ok) latencies.push(performance.now() - due)
        else failed++
        if (++settled === sent && (sent === total || options.signal.aborted)) finish()
      }
      const req = request(
        { host: target.hostname, port: target.port, path, method: "POST", agent, headers: { ...options.headers, "content-length": Buffer.byteLength(body) } },
        (res) => {
          res.resume()
          res.on("end", () => done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300))
        }
      )
      req.on("error", () => done(false))
      req.end(body)
    }

    // Wake often and send whatever has fallen due: timers are coarse, the schedule is not.
    const tick = () => {
      const now = performance.now()
      while (sent < total && started + sent * interval <= now && !options.signal.aborted) {
        const n = sent++
        fire(n, started + n * interval)
      }
      if (sent < total && !options.signal.aborted) setTimeout(tick, Math.max(0, Math.min(1, started + sent * interval - performance.now())))
      else if (settled === sent) finish()
    }
    tick()
  })

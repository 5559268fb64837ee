/**
 * The fake outside world for the process tests: applies an effect once per
 * idempotency key (as a real payment API would) and counts every call.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeService {
  readonly url: string
  /** Effects applied, by idempotency key (each must be 1). */
  readonly effects: Map<string, number>
  /** Calls received, by idempotency key (retries after a crash may repeat one). */
  readonly calls: Map<string, number>
  /** Calls by the worker that made them. */
  readonly byWorker: Map<string, number>
  readonly close: () => Promise<void>
}

export const startFakeService = async (options: { readonly delayMs?: number } = {}): Promise<FakeService> => {
  const effects = new Map<string, number>()
  const calls = new Map<string, number>()
  const byWorker = new Map<string, number>()
  const server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => {
      const { key } = JSON.parse(body) as { key: string }
      calls.set(key, (calls.get(key) ?? 0) + 1)
      const worker = String(request.headers["x-worker"] ?? "?")
      byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1)
      if (!effects.has(key)) effects.set(key, 1)
      setTimeout(() => {
        response.setHeader("content-type", "application/json")
        response.end(JSON.stringify({ receipt: `rcpt:${key}` }))
      }, options.delayMs ?? Math.floor(Math.random() * 5))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    effects,
    calls,
    byWorker,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

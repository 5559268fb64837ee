/** A minimal Server-Sent Events reader over a real socket, for the stream tests. */
import { request } from "node:http"

export interface SseEvent {
  readonly event: string
  readonly id?: string
  readonly data: any
}

export interface SseConnection {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly events: Array<SseEvent>
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>
  /** Waits until an event satisfies `match`. */
  readonly waitFor: (match: (event: SseEvent) => boolean, timeoutMs?: number) => Promise<SseEvent>
  readonly close: () => void
  /** The raw text so far (comments included). */
  readonly raw: () => string
}

export const openStream = (url: string, headers: Record<string, string>): Promise<SseConnection> =>
  new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      const events: Array<SseEvent> = []
      let buffer = ""
      let text = ""
      const waiters = new Set<() => void>()
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        text += chunk
        buffer += chunk
        let split: number
        while ((split = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, split)
          buffer = buffer.slice(split + 2)
          const fields: Record<string, string> = {}
          for (const line of block.split("\n")) {
            if (line.startsWith(":") || line === "") continue
            const colon = line.indexOf(":")
            fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart()
          }
          if (fields.data !== undefined) {
            events.push({ event: fields.event ?? "message", ...(fields.id === undefined ? {} : { id: fields.id }), data: JSON.parse(fields.data) })
          }
        }
        for (const wake of [...waiters]) wake()
      })
      const ended = new Promise<void>((done) => {
        res.on("end", done)
        res.on("close", done)
      })
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        ended,
        raw: () => text,
        close: () => req.destroy(),
        waitFor: (match, timeoutMs = 10_000) =>
          new Promise((found, fail) => {
            const check = () => {
              const hit = events.find(match)
              if (hit === undefined) return false
              waiters.delete(check)
              clearTimeout(timer)
              found(hit)
              return true
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`no matching event in ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.event))}`))
            }, timeoutMs)
            if (!check()) waiters.add(check)
          })
      })
    })
    req.on("error", reject)
    req.end()
  })

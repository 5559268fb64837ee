/**
 * `GET /workflows/{type}/{id}/stream`: Server-Sent Events. First the history
 * after the client's position (Last-Event-ID, else `?after=`, else nothing:
 * only what happens from now), then, as it happens, every new history entry
 * (`event: entry`, `id:` its stream version) followed by the instance's state
 * (`event: state`). When the instance is final the stream says `event: end`
 * and closes.
 *
 * It polls the stream's version — one indexed lookup — every `pollMs`, and
 * reads only the new entries when it moved. Streams are bounded: at most
 * `maxOpen` at once, each for at most `maxMs` (clients reconnect with
 * Last-Event-ID and lose nothing); they stop as soon as the client goes away,
 * and when the server shuts down.
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { PassThrough } from "node:stream"
import { Engine, type InstanceView, streamOf } from "../../engine/index.js"
import { EventLog, type RecordedEvent } from "../../log/index.js"
import type { RouteContext } from "../context.js"
import { httpError } from "../errors.js"
import { redactSecrets } from "../redact.js"
import { commonErrors, errors, identifier } from "../schemas.js"

const schema = {
  tags: ["workflows"],
  operationId: "streamWorkflow",
  summary: "Live history and state (Server-Sent Events)",
  description:
    "text/event-stream. Events: `entry` (a history entry; `id` is its stream version), `state` (the instance after those entries), `end` (the instance is final; the stream closes), `error` (reading failed; it keeps trying). Resume with Last-Event-ID.",
  params: { type: "object", required: ["type", "id"], properties: { type: identifier, id: identifier } },
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: { after: { type: "integer", minimum: 0, description: "Send the history after this stream version first (0: all of it)" } }
  },
  headers: { type: "object", properties: { "last-event-id": { type: "string", pattern: "^[0-9]{1,10}$" } } },
  response: {
    200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } },
    ...errors(...commonErrors, 404)
  }
} as const

const entryOf = (event: RecordedEvent) => ({
  eventId: event.eventId,
  position: event.position,
  streamVersion: event.streamVersion,
  kind: (event.metadata.kind as string | undefined) ?? "domain",
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  time: event.recordedAt.toISOString()
})

export const streamRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  const { pollMs, maxOpen, maxMs, heartbeatMs } = context.options.streams
  const { lifecycle, run } = context

  app.get<{ Params: { type: string; id: string }; Querystring: { after?: number }; Headers: { "last-event-id"?: string } }>(
    "/workflows/:type/:id/stream",
    { schema },
    async (request, reply) => {
      const { type, id } = request.params
      if (lifecycle.streams.size >= maxOpen) {
        throw httpError(503, "TooManyStreams", `${maxOpen} streams are open; try again shortly`, undefined, { "retry-after": "5" })
      }
      const initial = await context.perform(request, Engine.use((engine) => engine.get(type, id)))
      const resume = request.headers["last-event-id"]
      let last = resume !== undefined ? Number(resume) : (request.query.after ?? initial.streamVersion)
      const shown = request.principal?.role === "read" ? redactSecrets : (value: unknown) => value
      const stream = streamOf(type, id)
      const out = new PassThrough()
      const started = Date.now()
      let lastWrite = started
      let closed = false

      const write = (text: string) => {
        if (closed) return
        lastWrite = Date.now()
        out.write(text)
      }
      const send = (event: string, data: unknown, eventId?: number) =>
        write(`${eventId === undefined ? "" : `id: ${eventId}\n`}event: ${event}\ndata: ${JSON.stringify(shown(data))}\n\n`)
      const close = () => {
        if (closed) return
        closed = true
        lifecycle.streams.delete(close)
        context.metrics.streams.open--
        out.end()
      }
      lifecycle.streams.add(close)
      context.metrics.streams.open++
      reply.raw.on("close", close)

      /**
       * Sends what the stream gained after `last`, then the state; the status once the instance is final.
       * The instance is read before its entries, and only the entries up to its version are sent: its row
       * and its events are written in one transaction, so the log is never behind the row, and the state
       * sent always follows exactly the entries before it (read the other way round, a step committing in
       * between gave a final state whose last entries were never sent).
       */
      const catchUp = async (): Promise<string | undefined> => {
        const read = await run(
          Effect.gen(function*() {
            const log = yield* EventLog
            const version = yield* log.streamVersion(stream)
            if (version <= last) return undefined
            const instance: InstanceView = yield* Engine.use((engine) => engine.get(type, id))
            if (instance.streamVersion <= last) return undefined
            const events = yield* log.readStream(stream, { from: last + 1, to: instance.streamVersion })
            return { events, instance }
          })
        )
        if (read._tag === "Failure") {
          send("error", { error: "ReadFailed", message: "reading the instance failed; retrying" })
          return undefined
        }
        if (read.value === undefined) return undefined
        for (const event of read.value.events) {
          send("entry", entryOf(event), event.streamVersion)
          last = event.streamVersion
        }
        send("state", read.value.instance, last)
        return read.value.instance.status === "running" ? undefined : read.value.instance.status
      }

      /** Runs until the instance is final (its status), or the client, the server or `maxMs` ends it (undefined). */
      const loop = async (): Promise<string | undefined> => {
        write(`retry: 2000\n\n`)
        if (last < initial.streamVersion) {
          const final = await catchUp()
          if (final !== undefined) return final
        } else {
          last = initial.streamVersion
          send("state", initial, last)
          if (initial.status !== "running") return initial.status
        }
        while (!closed && Date.now() - started < maxMs) {
          await new Promise((resolve) => setTimeout(resolve, pollMs))
          if (closed) return undefined
          const final = await catchUp()
          if (final !== undefined) return final
          if (Date.now() - lastWrite >= heartbeatMs) write(": keep-alive\n\n")
        }
        return undefined
      }

      // `connection: close`: once a stream ends, its socket goes too, rather than idling where shutdown would wait for it.
      reply
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache, no-transform")
        .header("x-accel-buffering", "no")
        .header("connection", "close")
      loop()
        .then((final) => {
          if (final !== undefined) send("end", { status: final })
        })
        .catch((error: unknown) => request.log.error({ err: error }, "event stream failed"))
        .finally(close)
      return reply.send(out)
    }
  )
}

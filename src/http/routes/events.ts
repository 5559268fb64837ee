/**
 * `GET /events`: the global log in commit-safe order, for integrations that
 * follow it. `after` is the `next` cursor of the previous page
 * (`<transaction id>.<position>`, the log's own LogCursor format).
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { EventLog, InvalidCursor, LogCursor } from "../../log/index.js"
import type { RouteContext } from "../context.js"
import { fromTypedError } from "../errors.js"
import { anyJson, commonErrors, errors } from "../schemas.js"

const eventSchema = {
  type: "object",
  properties: {
    position: { type: "integer" },
    streamId: { type: "string" },
    streamVersion: { type: "integer" },
    eventId: { type: "string" },
    type: { type: "string" },
    schemaVersion: { type: "integer" },
    data: anyJson,
    metadata: { type: "object", additionalProperties: true },
    time: { type: "string", format: "date-time" }
  }
} as const

const schema = {
  tags: ["events"],
  operationId: "readEvents",
  summary: "The global event log, page by page",
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      after: { type: "string", maxLength: 1000, description: "The `next` cursor of the previous page (default: the beginning)" },
      limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
      type: { type: "string", maxLength: 2000, pattern: "^[^,\\u0000-\\u001f]+(,[^,\\u0000-\\u001f]+)*$", description: "Only these event types, comma-separated" }
    }
  },
  response: {
    200: {
      type: "object",
      required: ["items", "next"],
      properties: { items: { type: "array", items: eventSchema }, next: { type: "string", description: "Pass as `after` to read on; unchanged when nothing new was read" } }
    },
    ...errors(...commonErrors)
  }
} as const

export const eventRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  app.get<{ Querystring: { after?: string; limit?: number; type?: string } }>("/events", { schema }, async (request) => {
    const { after, limit, type } = request.query
    const cursor = after === undefined ? undefined : LogCursor.parse(after)
    if (after !== undefined && cursor === undefined) throw fromTypedError(new InvalidCursor({ cursor: after }))
    const page = await context.perform(
      request,
      EventLog.use((log) =>
        log.readAll({
          ...(cursor === undefined ? {} : { after: cursor }),
          limit: limit ?? 100,
          ...(type === undefined ? {} : { types: type.split(",") })
        })
      ).pipe(
        // The log's rows are the server's: one that does not decode is a 500, not the client's fault.
        Effect.catchTag("InvalidEvent", (error) => Effect.die(new Error(`stored event does not decode: ${error.message}`))),
        Effect.catchTag("IntegrityError", (error) => Effect.die(new Error(error.message)))
      )
    )
    return {
      items: page.events.map((event) => ({
        position: event.position,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        eventId: event.eventId,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        time: event.recordedAt
      })),
      next: LogCursor.format(page.next)
    }
  })
}

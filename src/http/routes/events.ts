/**
 * `GET /events`: the global log in commit-safe order, for integrations that
 * follow it. `after` is the `next` cursor of the previous page
 * (`<transaction id>.<position>`, the log's own LogCursor format).
 */
import type { FastifyPluginAsync } from "fastify"
import { EventLog, InvalidCursor, LogCursor } from "../../log/index.js"

import type { RouteContext } from "../context.js"
import { fieldsOf, fromTypedError } from "../errors.js"
import { anyJson, commonErrors, errors } from "../schemas.js"

/** Commit order: the transaction first, then the position. */
const compareCursors = (a: LogCursor, b: LogCursor) => {
  const byTransaction = BigInt(a.transactionId) - BigInt(b.transactionId)
  return byTransaction === 0n ? a.position - b.position : byTransaction < 0n ? -1 : 1
}

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
    time: { type: "string", format: "date-time" },
    broken: {
      type: "object",
      description: "Set instead of data, metadata and time on a row the server cannot give as recorded: its hash does not match (IntegrityError) or it no longer decodes (InvalidEvent). The page goes on past it.",
      properties: { error: { type: "string" }, message: { type: "string" }, details: anyJson }
    }
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
      properties: { items: { type: "array", items: eventSchema }, next: { type: "string", description: "Pass as `after` to read on: past the events read and, with `type`, past the other types' events scanned; unchanged when nothing was appended since" } }
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
      )
    )
    const events = page.events.map((event) => ({
      at: event,
      item: {
        position: event.position,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        eventId: event.eventId,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        time: event.recordedAt
      }
    }))
    // A broken row is named where it stands in the log, so a follower sees it and reads on.
    const broken = page.broken.map((row) => ({
      at: row,
      item: {
        position: row.position,
        streamId: row.streamId,
        streamVersion: row.streamVersion,
        eventId: row.eventId,
        type: row.type,
        broken: { error: row.error._tag, message: row.error.message, details: fieldsOf(row.error) }
      }
    }))
    return {
      items: [...events, ...broken].sort((a, b) => compareCursors(a.at, b.at)).map(({ item }) => item),
      next: LogCursor.format(page.next)
    }
  })
}

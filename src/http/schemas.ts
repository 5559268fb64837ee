/**
 * JSON Schemas shared by the route groups. The same objects validate requests
 * (Ajv), serialize answers (fast-json-stringify) and make the OpenAPI
 * document, so what /docs shows is what the server enforces.
 */

/** Workflow types and instance ids: the engine's identifier rule (they become stream names). */
export const identifier = {
  type: "string",
  pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
  description: "1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
} as const

/** A non-empty string without control characters (Postgres text cannot hold NUL). */
export const text = { type: "string", pattern: "^[^\\u0000-\\u001f]+$" } as const

export const anyJson = { description: "any JSON value" } as const

export const errorBody = {
  type: "object",
  description: "Every error: a stable name, a sentence for people, and details where there are some",
  required: ["error", "message"],
  properties: {
    error: { type: "string", description: "e.g. ValidationError, InstanceNotFound, EventNotAccepted, Unauthorized" },
    message: { type: "string" },
    details: { ...anyJson, description: "field and reason for a 400; the error id for a 500" },
    state: { ...anyJson, description: "EventNotAccepted: the state the instance is in" },
    accepted: { type: "array", items: { type: "string" }, description: "EventNotAccepted: the events that state takes" }
  },
  additionalProperties: true
} as const

const status = { type: "string", enum: ["running", "done", "failed", "cancelled"] } as const

const instanceRef = {
  type: "object",
  properties: { workflowType: { type: "string" }, instanceId: { type: "string" }, invokeId: { type: "string" } }
} as const

export const instance = {
  type: "object",
  description: "An instance's current state",
  required: ["id", "type", "machineVersion", "status", "state", "streamVersion"],
  properties: {
    id: { type: "string" },
    type: { type: "string" },
    machineVersion: { type: "integer" },
    status,
    state: { ...anyJson, description: "XState state value: a string, or an object for nested and parallel states" },
    context: anyJson,
    streamVersion: { type: "integer", description: "Version of the instance's stream: the count of its history entries" },
    output: { ...anyJson, description: "The final state's output, once done" },
    failure: { ...anyJson, description: "Why it failed or was cancelled" },
    corrupted: {
      type: "object",
      description: "Set when a read found its history changed behind the log's back: it refuses inputs until the rows are restored and it is verified (POST …/verify)",
      required: ["version", "reason", "detectedAt"],
      properties: {
        version: { type: "integer", description: "The first version that does not match its hash chain, or is missing" },
        reason: { type: "string", enum: ["changed", "missing"] },
        detectedAt: { type: "string", format: "date-time" }
      }
    },
    children: { type: "object", additionalProperties: instanceRef },
    parent: instanceRef,
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" }
  }
} as const

export const historyEntry = {
  type: "object",
  required: ["eventId", "position", "streamVersion", "kind", "type", "data", "metadata", "time"],
  properties: {
    eventId: { type: "string", format: "uuid" },
    position: { type: "integer", description: "Global position in the log" },
    streamVersion: { type: "integer" },
    kind: { type: "string", enum: ["input", "domain", "record"] },
    type: { type: "string" },
    data: anyJson,
    metadata: { type: "object", additionalProperties: true, description: "correlationId, causationId, actor, …" },
    time: { type: "string", format: "date-time" },
    worker: { type: "string", description: "The worker that ran this activity attempt (activity results and failed attempts)" }
  }
} as const

/** `responses` for the statuses a route answers with an error. */
export const errors = (...statuses: ReadonlyArray<number>) =>
  Object.fromEntries(statuses.map((code) => [code, { ...errorBody, description: errorDescriptions[code] ?? "Error" }]))

const errorDescriptions: Record<number, string> = {
  400: "Invalid request: the field and why",
  401: "No or unknown bearer token",
  403: "The token's role may not call this route",
  404: "Unknown workflow type or instance",
  409: "Not accepted in the current state, already final, or nothing to retry",
  413: "Body over the limit",
  415: "Body is not JSON",
  429: "Over the rate limit",
  503: "Database unavailable"
}

/** Errors any authenticated route can answer. */
export const commonErrors = [400, 401, 403, 429, 503] as const

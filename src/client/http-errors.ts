/**
 * What a refusal from the server becomes in the HTTP client. The engine's own
 * refusals (`InstanceNotFound`, `EventNotAccepted`, …) come back as the very
 * classes the engine raises, rebuilt from the fields the server sends in the
 * body, with the HTTP status beside them; everything else — a token refused, a
 * rate limit, a request the server's schema refused, a server fault, a server
 * that cannot be reached or answers something that is not JSON — is one of the
 * two client errors below. Nothing here imports Node: it runs in a browser too.
 */
import { Schema } from "effect"
import {
  EventNotAccepted,
  InstanceBusy,
  InstanceExists,
  InstanceFinal,
  InstanceNotFound,
  NothingToRetry,
  WorkflowNotFound
} from "../engine/errors.js"
import { IntegrityError, InvalidCursor, InvalidEvent, StoreUnavailable } from "../log/errors.js"

/**
 * The server answered with an error that is not one of the engine's: 401
 * `Unauthorized`, 403 `Forbidden`, 429 `RateLimited`, 400 `ValidationError`,
 * 5xx `InternalError`, … (`error` is the body's name for it), or an answer the
 * client cannot read (`error: "InvalidResponse"`).
 */
export class OrreryHttpError extends Schema.TaggedError<OrreryHttpError>()("OrreryHttpError", {
  /** The HTTP status. */
  status: Schema.Number,
  /** The body's stable name for the error, e.g. `Unauthorized`, `RateLimited`, `ValidationError`. */
  error: Schema.String,
  message: Schema.String,
  /** What the body adds: `{ field, reason }` for a 400, `{ retryAfterMs }` for a 429, `{ errorId }` for a 500. */
  details: Schema.optional(Schema.Unknown)
}) {}

/** The request never got an answer: the server is down, the address is wrong, or the network failed. */
export class OrreryUnreachable extends Schema.TaggedError<OrreryUnreachable>()("OrreryUnreachable", {
  /** The URL that was asked. */
  url: Schema.String,
  /** What the fetch implementation said. */
  reason: Schema.String
}) {
  override get message() {
    return `cannot reach ${this.url}: ${this.reason}`
  }
}

/** The engine's refusals the server may answer, as the HTTP client rebuilds them. */
export type EngineRefusal =
  | WorkflowNotFound
  | InstanceNotFound
  | InstanceExists
  | EventNotAccepted
  | InstanceFinal
  | NothingToRetry
  | InstanceBusy
  | InvalidEvent
  | InvalidCursor
  | IntegrityError
  | StoreUnavailable

/** Everything a call of the HTTP client may reject with (`result()` adds `WorkflowFailed`, `WorkflowCancelled`, `ResultTimeout`). */
export type ClientError = EngineRefusal | OrreryHttpError | OrreryUnreachable

interface ErrorBody {
  readonly error?: unknown
  readonly message?: unknown
  readonly details?: unknown
  readonly [extra: string]: unknown
}

const record = (value: unknown): Record<string, unknown> => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {})

/** Builds each engine error from the body; the server puts an error's own fields in `details`. */
const rebuild: Readonly<Record<string, (details: Record<string, unknown>, body: ErrorBody, server: string) => EngineRefusal>> = {
  WorkflowNotFound: (d) => new WorkflowNotFound({ workflowType: d.workflowType as string, ...(d.version === undefined ? {} : { version: d.version as number }) }),
  InstanceNotFound: (d) => new InstanceNotFound({ workflowType: d.workflowType as string, instanceId: d.instanceId as string }),
  InstanceExists: (d) => new InstanceExists({ workflowType: d.workflowType as string, instanceId: d.instanceId as string }),
  InstanceFinal: (d) => new InstanceFinal({ workflowType: d.workflowType as string, instanceId: d.instanceId as string, status: d.status as string }),
  NothingToRetry: (d) => new NothingToRetry({ workflowType: d.workflowType as string, instanceId: d.instanceId as string }),
  InstanceBusy: (d) => new InstanceBusy({ workflowType: d.workflowType as string, instanceId: d.instanceId as string }),
  // `state` and `accepted` were in the body before `details` was: read either.
  EventNotAccepted: (d, body) =>
    new EventNotAccepted({ eventType: d.eventType as string, state: d.state ?? body.state, accepted: (d.accepted ?? body.accepted) as ReadonlyArray<string> }),
  InvalidEvent: (d) => new InvalidEvent({ eventType: d.eventType as string, field: d.field as string, reason: d.reason as string }),
  InvalidCursor: (d) => new InvalidCursor({ cursor: d.cursor as string }),
  IntegrityError: (d) =>
    new IntegrityError({ stream: d.stream as string, version: d.version as number, ...(d.reason === "changed" || d.reason === "missing" ? { reason: d.reason } : {}) }),
  // The server never says where its database is: the location a client can name is the server.
  StoreUnavailable: (_d, body, server) => new StoreUnavailable({ location: server, message: String(body.message ?? "the database is unavailable") })
}

const statusKey = Symbol.for("orrery/client/status")

const withStatus = <E extends object>(error: E, status: number): E => {
  // Not enumerable: the error's fields stay exactly the engine's, so it compares equal to one raised in-process.
  Object.defineProperty(error, statusKey, { value: status, enumerable: false })
  return error
}

/**
 * The HTTP status an error of the HTTP client came with: the status of the
 * answer an engine error was rebuilt from, or `OrreryHttpError.status`;
 * undefined for anything else (a network failure, an error raised in-process).
 *
 * @example
 * ```ts
 * import { InstanceNotFound, httpStatus } from "orrery/client"
 *
 * try {
 *   await client.handle("signup", "s-404").get()
 * } catch (error) {
 *   if (error instanceof InstanceNotFound) console.log(httpStatus(error)) // 404
 * }
 * ```
 */
export const httpStatus = (error: unknown): number | undefined => {
  if (error instanceof OrreryHttpError) return error.status
  const status = typeof error === "object" && error !== null ? (error as { [statusKey]?: unknown })[statusKey] : undefined
  return typeof status === "number" ? status : undefined
}

/** The typed error for a non-2xx answer whose body parsed as JSON (or did not: `body` undefined). */
export const errorFromAnswer = (status: number, body: unknown, server: string): ClientError => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return new OrreryHttpError({ status, error: "InvalidResponse", message: `the server answered ${status} with a body that is not a JSON error` })
  }
  const answer = body as ErrorBody
  const name = typeof answer.error === "string" ? answer.error : `Http${status}`
  const message = typeof answer.message === "string" ? answer.message : `the server answered ${status}`
  const make = rebuild[name]
  if (make !== undefined) {
    try {
      return withStatus(make(record(answer.details), answer, server), status)
    } catch {
      // An older server without the fields: the error still arrives typed, only not as the engine's class.
    }
  }
  return new OrreryHttpError({ status, error: name, message, ...(answer.details === undefined ? {} : { details: answer.details }) })
}

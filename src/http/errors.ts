/**
 * Every error the API answers is `{ error, message, details? }` with the right
 * status. This module turns the engine's typed failures and Fastify's own
 * refusals (validation, body size, media type, bad URL) into that shape; what
 * it does not recognise is a 500 whose body carries only an error id, the id
 * that the log line with the cause carries too.
 */
import { randomUUID } from "node:crypto"
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify"

export interface ErrorBody {
  readonly error: string
  readonly message: string
  readonly details?: unknown
  readonly [extra: string]: unknown
}

/** A refusal with its status: thrown by handlers, answered by the error handler. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ErrorBody,
    /** Headers to send with it (Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {}
  ) {
    super(body.message)
  }
}

/**
 * A refusal to throw from a route of your own (a domain's read-side route): the
 * API answers it with this status and body, like its own refusals.
 *
 * @example
 * ```ts
 * if (order === undefined) throw httpError(404, "NotFound", `no order ${orderId}`)
 * ```
 */
export const httpError = (statusCode: number, error: string, message: string, details?: unknown, headers?: Record<string, string>) =>
  new HttpError(statusCode, details === undefined ? { error, message } : { error, message, details }, headers)

/** Where in the request a refused field was. */
export type RequestPart = "body" | "querystring" | "params" | "headers" | "request"

/**
 * A field a route's own rule refuses (one its JSON schema cannot say): 400
 * `ValidationError` with `details: { in, field, reason }`, the same shape as a
 * schema refusal.
 *
 * @example
 * ```ts
 * if (query.from === query.to) throw invalidField("querystring", "to", "must differ from from")
 * ```
 */
export const invalidField = (where: RequestPart, field: string, reason: string): HttpError => {
  const label = field === "" ? where : `${where === "body" ? "" : `${where} `}${field}`
  return httpError(400, "ValidationError", `${label} ${reason}`, { in: where, field, reason })
}

/** The engine's and the log's typed failures, by tag. */
const engineStatus: Readonly<Record<string, number>> = {
  WorkflowNotFound: 404,
  InstanceNotFound: 404,
  EventNotAccepted: 409,
  InstanceFinal: 409,
  InstanceExists: 409,
  NothingToRetry: 409,
  InstanceBusy: 409,
  InvalidEvent: 400,
  InvalidCursor: 400,
  // The stored history was changed behind the log's back: the server's fault, named so an operator can act.
  IntegrityError: 500,
  StoreUnavailable: 503
}

interface Tagged {
  readonly _tag: string
  readonly message: string
  readonly [field: string]: unknown
}

const isTagged = (value: unknown): value is Tagged =>
  typeof value === "object" && value !== null && typeof (value as { _tag?: unknown })._tag === "string"

/** A typed error's own fields (its schema's), without the tag: what a client needs to rebuild it. */
export const fieldsOf = (error: { readonly _tag: string }): Record<string, unknown> => {
  const { _tag, ...fields } = error as Tagged
  return fields
}

/**
 * The HTTP answer to a typed failure, or undefined when it is not one the API
 * knows (then it is a bug: 500). `details` carries the error's own fields, so
 * that `orrery/client` rebuilds the same class with the same values.
 */
export const fromTypedError = (error: unknown): HttpError | undefined => {
  if (!isTagged(error)) return undefined
  const status = engineStatus[error._tag]
  if (status === undefined) return undefined
  switch (error._tag) {
    case "EventNotAccepted":
      return new HttpError(status, { error: error._tag, message: error.message, state: error.state, accepted: error.accepted, details: fieldsOf(error) })
    case "InvalidEvent": {
      const field = String(error.field ?? "")
      const reason = String(error.reason ?? "is invalid")
      return httpError(status, "InvalidEvent", `${field === "" ? "the payload" : field} ${reason}`, { field, reason, eventType: String(error.eventType ?? "") })
    }
    case "StoreUnavailable":
      // The location may name a host; the client only needs to know to come back later.
      return httpError(status, "StoreUnavailable", "the database is unavailable; try again later", undefined, { "retry-after": "1" })
    case "InstanceBusy":
      return httpError(status, "InstanceBusy", "the instance is changing under heavy concurrent writes; try again", fieldsOf(error), { "retry-after": "1" })
    default:
      return httpError(status, error._tag, error.message, fieldsOf(error))
  }
}

/** Fastify's own 4xx codes, renamed for clients (anything else keeps its status and a generic name). */
const frameworkCodes: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "PayloadTooLarge",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UnsupportedMediaType",
  FST_ERR_CTP_EMPTY_JSON_BODY: "InvalidJson",
  FST_ERR_CTP_INVALID_JSON_BODY: "InvalidJson",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "BadRequest",
  FST_ERR_CTP_INVALID_TYPE: "UnsupportedMediaType",
  FST_ERR_BAD_URL: "BadUrl",
  FST_ERR_INVALID_URL: "BadUrl"
}

const statusNames: Readonly<Record<number, string>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  408: "RequestTimeout",
  413: "PayloadTooLarge",
  414: "UriTooLong",
  415: "UnsupportedMediaType",
  429: "RateLimited",
  431: "HeadersTooLarge"
}

interface AjvIssue {
  readonly instancePath: string
  readonly message?: string
  readonly keyword: string
  readonly params: Record<string, unknown>
}

/** `/input/amount` → `input.amount`; a missing property names itself rather than its parent. */
const fieldOf = (issue: AjvIssue): string => {
  const path = issue.instancePath
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
  const extra = issue.params.missingProperty ?? issue.params.additionalProperty
  if (typeof extra === "string") path.push(extra)
  return path.reduce((field, segment) => (/^\d+$/.test(segment) ? `${field}[${segment}]` : field === "" ? segment : `${field}.${segment}`), "")
}

const validationError = (error: FastifyError): HttpError => {
  const issue = (error.validation as ReadonlyArray<AjvIssue> | undefined)?.[0]
  const where = error.validationContext ?? "request"
  if (issue === undefined) return httpError(400, "ValidationError", error.message)
  const field = fieldOf(issue)
  const reason =
    issue.keyword === "additionalProperties" ? "is not allowed here" : issue.keyword === "required" ? "is required" : (issue.message ?? "is invalid")
  return invalidField(where as RequestPart, field, reason)
}

/** What a thrown error becomes; `unexpected` is set when it is a bug, to be logged with its id. */
export const toHttpError = (error: unknown): { readonly http: HttpError; readonly unexpected: boolean } => {
  if (error instanceof HttpError) return { http: error, unexpected: false }
  const typed = fromTypedError(error)
  if (typed !== undefined) return { http: typed, unexpected: false }
  // A value the database refuses as data (a NUL in text, a date out of range): the request's fault, not a bug.
  const sqlState = (error as { code?: unknown } | null)?.code
  if (typeof sqlState === "string" && /^22[0-9A-Z]{3}$/.test(sqlState)) {
    return { http: httpError(400, "InvalidValue", "a value in the request cannot be stored or compared by the database", { sqlState }), unexpected: false }
  }
  const fastifyError = error as Partial<FastifyError> | null
  if (fastifyError?.validation !== undefined) return { http: validationError(fastifyError as FastifyError), unexpected: false }
  const status = fastifyError?.statusCode
  if (typeof status === "number" && status >= 400 && status < 500) {
    const code = fastifyError?.code
    const name = (code !== undefined ? frameworkCodes[code] : undefined) ?? statusNames[status] ?? "BadRequest"
    // Fastify's 4xx messages describe the request, never the server's internals.
    const message = name === "UnsupportedMediaType" ? "the body must be JSON, sent with content-type: application/json" : String(fastifyError?.message ?? name)
    return { http: httpError(status, name, message), unexpected: false }
  }
  return { http: unexpectedError(), unexpected: true }
}

export const unexpectedError = (errorId: string = randomUUID()) =>
  httpError(500, "InternalError", `unexpected error; quote error id ${errorId} when reporting it`, { errorId })

/**
 * Makes `app` answer whatever its handlers throw in the API's shape; a bug
 * (anything not recognised) is logged with its error id through `request.log`.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * answerRefusals(app)
 * app.get("/orders/:id", async () => { throw httpError(404, "NotFound", "no order 7") })
 * ```
 */
export const answerRefusals = (app: FastifyInstance, logFields: (request: FastifyRequest) => object = () => ({})): void => {
  app.setErrorHandler(async (error, request, reply) => {
    const { http, unexpected } = toHttpError(error)
    if (unexpected) {
      request.log.error({ err: error, errorId: (http.body.details as { errorId: string }).errorId, ...logFields(request) }, "unexpected error")
    } else if (http.statusCode >= 500) {
      request.log.warn({ error: http.body.error }, http.body.message)
    }
    return reply.code(http.statusCode).headers(http.headers).send(http.body)
  })
}

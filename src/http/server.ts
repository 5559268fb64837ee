/**
 * Builds the Fastify app: JSON-only bodies with a size limit, strict body
 * validation, bearer auth, a per-token rate limit, redaction for the read
 * role, one error shape, request metrics, the OpenAPI document and UI, the
 * route groups, and the domains' own routes.
 */
import rateLimit from "@fastify/rate-limit"
import swagger from "@fastify/swagger"
import swaggerUi from "@fastify/swagger-ui"
import { Ajv } from "ajv"
import { Effect } from "effect"
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify"
import { STATUS_CODES } from "node:http"
import { randomUUID } from "node:crypto"
import type { Socket } from "node:net"
import { EngineRuntime } from "../engine/index.js"
import { inspectorRoutes } from "../inspector/plugin.js"
import { Database } from "../log/index.js"
import { makeAuthenticate } from "./auth.js"
import { type RouteContext, makeRouteContext, routeOf } from "./context.js"
import { httpError, toHttpError } from "./errors.js"
import { makeMetrics } from "./metrics/orrery.js"
import { type HttpOptions, resolveOptions } from "./options.js"
import { redactSecrets } from "./redact.js"
import { RequestLog, instanceFields } from "./request-log.js"
import { eventRoutes } from "./routes/events.js"
import { healthRoutes } from "./routes/health.js"
import { machineRoutes } from "./routes/machines.js"
import { metricsRoutes } from "./routes/metrics.js"
import { streamRoutes } from "./routes/stream.js"
import { workflowRoutes } from "./routes/workflows.js"
import { type Runner, perform } from "./runner.js"

/** JSON.parse turns 1e999 into Infinity, which JSON cannot say back: refuse it rather than store a null. */
const hasNonFinite = (value: unknown, depth = 0): boolean => {
  if (typeof value === "number") return !Number.isFinite(value)
  if (value === null || typeof value !== "object" || depth > 64) return false
  return Object.values(value).some((item) => hasNonFinite(item, depth + 1))
}

const correlationPattern = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's correlation id when it is a sane one, else this request's id. */
const correlationOf = (header: string | ReadonlyArray<string> | undefined, requestId: string) =>
  typeof header === "string" && correlationPattern.test(header) ? header : requestId

/**
 * Bodies are validated strictly (no type coercion, unknown fields refused
 * where a schema closes them); query strings, parameters and headers arrive
 * as text, so there numbers and booleans are coerced.
 */
const validators = () => {
  const options = { useDefaults: true, removeAdditional: false, allErrors: false, strictTypes: false } as const
  const body = new Ajv({ ...options, coerceTypes: false })
  const text = new Ajv({ ...options, coerceTypes: true })
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === "body" ? body : text).compile(schema)
}

/** A request Node's parser refused before Fastify saw it (headers too large, garbage): still a JSON answer. */
const clientErrorHandler = (error: Error & { code?: string }, socket: Socket) => {
  if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy()
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400
  const body = JSON.stringify({
    error: status === 431 ? "HeadersTooLarge" : status === 408 ? "RequestTimeout" : "BadRequest",
    message: status === 431 ? "the request's headers are too large" : status === 408 ? "the request took too long to arrive" : "the request is not valid HTTP"
  })
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
}

const openapi = {
  openapi: "3.1.0",
  info: {
    title: "Orrery",
    version: "1",
    description:
      "Start, drive and watch durable workflows. Authenticate with `Authorization: Bearer <token>`: the read role may call GET routes, the operate role every route. Every error is `{error, message, details?}`."
  },
  components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  security: [{ bearer: [] }],
  tags: [
    { name: "workflows", description: "Instances: start, send, cancel, retry, read, watch" },
    { name: "machines", description: "The catalogue of workflow types" },
    { name: "events", description: "The global event log" },
    { name: "health", description: "Probes (no token needed)" },
    { name: "operations", description: "Metrics" }
  ]
} as const

export interface RouteInfo {
  readonly method: string
  /** Fastify's template: `/workflows/:type/:id`. */
  readonly url: string
  /** Left out of the OpenAPI document (the UI's own assets). */
  readonly hidden: boolean
}

export interface HttpApp {
  readonly app: FastifyInstance
  readonly context: RouteContext
  /** Every route the server answers (HEAD routes aside), the domains' included. */
  readonly routes: ReadonlyArray<RouteInfo>
}

/** The app, ready to `listen` (or to `inject` into). */
export const buildHttpApp = async (run: Runner, httpOptions: HttpOptions): Promise<HttpApp> => {
  const options = resolveOptions(httpOptions)
  const context = makeRouteContext(run, await makeMetrics(run), options)
  const app = Fastify({
    logger: {
      level: options.logLevel,
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
      // Belt and braces: Fastify's request serializer leaves headers out; should one be logged, no credential goes with it.
      redact: { paths: ["req.headers.authorization", "req.headers.cookie", "headers.authorization", "headers.cookie"], censor: "[redacted]" }
    },
    bodyLimit: options.bodyLimit,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 256 },
    return503OnClosing: false,
    childLoggerFactory: (logger, bindings, childOptions, raw) =>
      logger.child({ ...bindings, correlationId: correlationOf(raw.headers["x-correlation-id"], String(bindings.reqId)) }, childOptions),
    frameworkErrors: (error, _request, reply) => {
      ;(reply as unknown as FastifyReply).code(400).send({ error: "BadUrl", message: error.message })
    },
    clientErrorHandler,
    logController: new RequestLog()
  })
  const routes: Array<RouteInfo> = []
  app.addHook("onRoute", (route) => {
    // The API's documentation describes it and holds no data: open, so that a browser can show it and take a token for "try it out".
    if (route.url.startsWith("/docs")) route.config = { ...route.config, access: "public", redact: false }
    for (const method of [route.method].flat()) {
      if (method !== "HEAD") routes.push({ method, url: route.url, hidden: (route.schema as { hide?: boolean } | undefined)?.hide === true })
    }
  })
  app.setValidatorCompiler(validators())
  // JSON only: a text/plain body is refused with 415 instead of reaching a schema as a string.
  app.removeContentTypeParser("text/plain")
  app.decorateRequest("principal", undefined)
  app.decorateRequest("correlationId", "")
  app.decorateRequest("instanceId", undefined)

  const authenticate = makeAuthenticate(options.tokens)
  app.addHook("onRequest", async (request, reply) => {
    request.correlationId = correlationOf(request.headers["x-correlation-id"], request.id)
    reply.header("x-correlation-id", request.correlationId).header("x-request-id", request.id)
    if (context.lifecycle.closing) {
      reply.header("connection", "close")
      throw httpError(503, "ShuttingDown", "the server is shutting down", undefined, { "retry-after": "1" })
    }
    authenticate(request)
  })

  if (options.rateLimit !== false) {
    await app.register(rateLimit, {
      global: true,
      hook: "onRequest",
      max: options.rateLimit.max,
      timeWindow: options.rateLimit.windowMs,
      keyGenerator: (request: FastifyRequest) => (options.tokens.length > 0 && request.principal !== undefined ? `token:${request.principal.name}` : `address:${request.ip}`),
      errorResponseBuilder: (_request, limit) =>
        httpError(429, "RateLimited", `over the limit of ${limit.max} requests per ${options.rateLimit === false ? 0 : options.rateLimit.windowMs} ms; retry in ${limit.after}`, {
          retryAfterMs: limit.ttl
        })
    })
  }

  app.addHook("preValidation", async (request) => {
    if (request.body !== undefined && hasNonFinite(request.body)) {
      throw httpError(400, "InvalidJson", "the body has a number too large to represent; numbers must be finite")
    }
  })

  app.addHook("preSerialization", async (request, _reply, payload) =>
    request.principal?.role === "read" && request.routeOptions.config?.redact !== false ? redactSecrets(payload) : payload
  )

  // A request that was in flight when shutdown began ends its connection with it: an idle keep-alive socket would hold close() open.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (context.lifecycle.closing) reply.header("connection", "close")
    return payload
  })

  app.addHook("onResponse", async (request, reply) => {
    context.metrics.observeRequest(request.method, routeOf(request), reply.statusCode, reply.elapsedTime / 1000)
  })

  app.setErrorHandler(async (error, request, reply) => {
    const { http, unexpected } = toHttpError(error)
    if (unexpected) {
      request.log.error({ err: error, errorId: (http.body.details as { errorId: string }).errorId, ...instanceFields(request) }, "unexpected error")
    } else if (http.statusCode >= 500) {
      request.log.warn({ error: http.body.error }, http.body.message)
    }
    return reply.code(http.statusCode).headers(http.headers).send(http.body)
  })
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: "NotFound", message: `no route ${request.method} ${request.url.split("?")[0]}` })
  )

  await app.register(swagger, { openapi: openapi as never })
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } })

  await app.register(healthRoutes, { context })
  await app.register(metricsRoutes, { context })
  await app.register(machineRoutes, { context })
  await app.register(eventRoutes, { context })
  await app.register(workflowRoutes, { context })
  await app.register(streamRoutes, { context })
  await app.register(inspectorRoutes)

  const domains = options.domains.filter((domain) => domain.routes !== undefined)
  if (domains.length > 0) {
    const { db, schema } = await perform(
      run,
      Effect.gen(function*() {
        return { db: yield* Database, schema: (yield* EngineRuntime).schema }
      })
    )
    for (const domain of domains) {
      await app.register(async (scope) => domain.routes!(scope, { db, schema, run: (effect) => perform(run, effect) }))
    }
  }

  // Shutdown: refuse new requests, end the streams (they would hold close() open), then Fastify drains the rest.
  app.addHook("preClose", async () => {
    context.lifecycle.closing = true
    for (const close of [...context.lifecycle.streams]) close()
  })
  await app.ready()
  return { app, context, routes }
}

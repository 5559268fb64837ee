/**
 * The HTTP API as one encapsulated Fastify context: strict validators, its
 * own serializers, JSON-only bodies, refusal of non-finite numbers, bearer auth and roles, an
 * optional per-token rate limit, redaction for the read role, the one error
 * shape `{error, message, details?}` (404s included), request metrics, the
 * OpenAPI document and UI, the route groups, the inspector, the domains' own
 * routes, and the end of open streams at shutdown.
 *
 * Everything here is set on this context only: registered under a prefix of a
 * host app (see plugin.ts), it answers its own routes in its own way and leaves
 * the host's handlers, parsers, validators and hooks as they were. The host's
 * hooks registered before it still run for these routes.
 */
import rateLimit from "@fastify/rate-limit"
import swagger from "@fastify/swagger"
import swaggerUi from "@fastify/swagger-ui"
import { Ajv } from "ajv"
import { Effect } from "effect"
import fastJson from "fast-json-stringify"
import type { FastifyPluginAsync, FastifyRequest } from "fastify"
import { EngineRuntime } from "../engine/index.js"
import { inspectorRoutes } from "../inspector/plugin.js"
import { Database } from "../log/index.js"
import { makeAuth } from "./auth.js"
import { correlationOf, makeRouteContext, routeOf } from "./context.js"
import { answerRefusals, httpError } from "./errors.js"
import { makeMetrics } from "./metrics/orrery.js"
import type { ResolvedApiOptions } from "./options.js"
import { redactSecrets } from "./redact.js"
import { instanceFields } from "./request-log.js"
import { doctorRoutes } from "./routes/doctor.js"
import { eventRoutes } from "./routes/events.js"
import { healthRoutes } from "./routes/health.js"
import { machineHeatRoutes } from "./routes/machine-heat.js"
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

/**
 * Answers are written from their response schemas (fast, and only the
 * documented fields) by fast-json-stringify, whatever serializer the host app
 * uses: a type provider's (zod, say) would choke on JSON Schema. Error
 * statuses are written as they are: the API's own errors fit the error schema
 * anyway, and a host's hook that refuses a request with a body of its own
 * (its auth) is answered as it wrote it rather than failing that schema with a 500.
 */
const serializers = () => ({ schema, httpStatus }: { schema: object; httpStatus?: string }) =>
  httpStatus === undefined || httpStatus.startsWith("2") ? fastJson(schema) : (payload: unknown) => JSON.stringify(payload)

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

export interface ApiRoutesOptions {
  readonly run: Runner
  readonly options: ResolvedApiOptions
}

export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (app, { run, options }) => {
  const context = makeRouteContext(run, await makeMetrics(run), options)
  const docs = `${app.prefix}/docs`

  app.addHook("onRoute", (route) => {
    // The API's documentation describes it and holds no data: open, so that a browser can show it and take a token for "try it out".
    if (route.url === docs || route.url.startsWith(`${docs}/`)) route.config = { ...route.config, access: "public", redact: false }
    // The API's own limit, whatever the host's is.
    route.bodyLimit ??= options.bodyLimit
  })
  app.setValidatorCompiler(validators())
  app.setSerializerCompiler(serializers())
  // JSON only: a text/plain body is refused with 415 instead of reaching a schema as a string.
  app.removeContentTypeParser("text/plain")
  app.decorateRequest("principal", undefined)
  app.decorateRequest("correlationId", "")
  app.decorateRequest("instanceId", undefined)

  const { authenticate, authorize } = makeAuth(options.tokens)
  app.addHook("onRequest", async (request, reply) => {
    request.correlationId = correlationOf(request.headers["x-correlation-id"], request.id)
    reply.header("x-correlation-id", request.correlationId).header("x-request-id", request.id)
    if (context.lifecycle.closing) {
      reply.header("connection", "close")
      throw httpError(503, "ShuttingDown", "the server is shutting down", undefined, { "retry-after": "1" })
    }
    authenticate(request)
  })
  // After every onRequest hook, the rate limit's included (it runs per route, so after the hooks above).
  app.addHook("preParsing", async (request) => {
    authorize(request)
  })

  const limit = options.rateLimit
  if (limit !== false) {
    await app.register(rateLimit, {
      global: true,
      hook: "onRequest",
      max: limit.max,
      timeWindow: limit.windowMs,
      keyGenerator: (request: FastifyRequest) => (options.tokens.length > 0 && request.principal !== undefined ? `token:${request.principal.name}` : `address:${request.ip}`),
      errorResponseBuilder: (_request, reached) =>
        httpError(429, "RateLimited", `over the limit of ${reached.max} requests per ${limit.windowMs} ms; retry in ${reached.after}`, { retryAfterMs: reached.ttl })
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

  answerRefusals(app, instanceFields)
  // Under a prefix this answers only what lies under it; the host's own 404s stay the host's.
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: "NotFound", message: `no route ${request.method} ${request.url.split("?")[0]}` })
  )

  if (options.docs) {
    await app.register(swagger, { openapi: openapi as never })
    await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } })
  }

  await app.register(healthRoutes, { context })
  await app.register(metricsRoutes, { context })
  await app.register(doctorRoutes, { context })
  await app.register(machineRoutes, { context })
  await app.register(machineHeatRoutes, { context })
  await app.register(eventRoutes, { context })
  await app.register(workflowRoutes, { context })
  await app.register(streamRoutes, { context })
  if (options.inspector) await app.register(inspectorRoutes, { domains: options.domains })

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
}

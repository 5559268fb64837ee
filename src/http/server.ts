/**
 * The server `orrery start` runs: a root Fastify with what only a server can
 * own — its logger (JSON lines, credentials redacted, one line per request
 * with its correlation id), request ids, the JSON answers to requests Node or
 * the router refuse before any route sees them, the longest path parameter,
 * the body limit, keep-alive handling at shutdown — and `orreryPlugin` at its
 * root, as a user's app would mount it under a prefix.
 */
import { Effect } from "effect"
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify"
import { STATUS_CODES } from "node:http"
import { randomUUID } from "node:crypto"
import type { Socket } from "node:net"
import { correlationOf } from "./context.js"
import { type HttpOptions, serverRateLimit } from "./options.js"
import { orreryPlugin } from "./plugin.js"
import { RequestLog } from "./request-log.js"
import type { Runner } from "./runner.js"

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

export interface RouteInfo {
  readonly method: string
  /** Fastify's template: `/workflows/:type/:id`. */
  readonly url: string
  /** Left out of the OpenAPI document (the UI's own assets). */
  readonly hidden: boolean
}

export interface HttpApp {
  readonly app: FastifyInstance
  /** Every route the server answers (HEAD routes aside), the domains' included. */
  readonly routes: ReadonlyArray<RouteInfo>
}

/** The app, ready to `listen` (or to `inject` into). */
export const buildHttpApp = async (run: Runner, options: HttpOptions): Promise<HttpApp> => {
  // A ManagedRuntime builds its layers on first use: do that here, not inside the plugin, where Fastify allows each plugin 10 s.
  await run(Effect.void)
  const bodyLimit = options.bodyLimit ?? 1024 * 1024
  const app = Fastify({
    logger: {
      level: options.logLevel,
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
      // Belt and braces: Fastify's request serializer leaves headers out; should one be logged, no credential goes with it.
      redact: { paths: ["req.headers.authorization", "req.headers.cookie", "headers.authorization", "headers.cookie"], censor: "[redacted]" }
    },
    bodyLimit,
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
    for (const method of [route.method].flat()) {
      if (method !== "HEAD") routes.push({ method, url: route.url, hidden: (route.schema as { hide?: boolean } | undefined)?.hide === true })
    }
  })
  await app.register(orreryPlugin, {
    orrery: { run, ...(options.domains === undefined ? {} : { domains: options.domains }) },
    tokens: options.tokens,
    rateLimit: serverRateLimit(options),
    bodyLimit,
    ...(options.streams === undefined ? {} : { streams: options.streams }),
    ...(options.maxSettleMs === undefined ? {} : { maxSettleMs: options.maxSettleMs }),
    ...(options.inspector === undefined ? {} : { inspector: options.inspector }),
    ...(options.docs === undefined ? {} : { docs: options.docs })
  })
  await app.ready()
  return { app, routes }
}

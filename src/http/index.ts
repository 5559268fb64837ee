/**
 * Orrery's HTTP front door. Two ways to run it:
 *
 * - from an Effect program whose context has the application's services (the
 *   `orrery start` way): `yield* serveHttp(options)` — it listens now and closes
 *   (stops accepting, ends streams, drains in-flight requests) when the scope
 *   closes, before the engine's layers release the worker and the pool;
 * - from plain code with a ManagedRuntime: `startHttpServer(runtime, options)`
 *   and later `server.close()`.
 *
 * Either way the server is a root Fastify with `orreryPlugin` at its root
 * (server.ts); to serve the API inside an app of your own, register the
 * plugin there instead. Without tokens the server listens on loopback only;
 * asking for another address is refused with `HttpServerRefused`.
 */
import { Effect, type ManagedRuntime, Schema, type Scope } from "effect"
import type { FastifyInstance } from "fastify"
import { type HttpOptions, isLoopback } from "./options.js"
import { type HttpServices, type Runner, runnerFromContext, runnerFromRuntime } from "./runner.js"
import { type RouteInfo, buildHttpApp } from "./server.js"

export { buildHttpApp, type HttpApp, type RouteInfo } from "./server.js"
export { type ApiOptions, type HttpOptions, InvalidOrreryOptions, type PlainApiToken, type RateLimitOptions, type StreamOptions, isLoopback } from "./options.js"
export { type OrreryApplication, type OrreryPluginOptions, orreryPlugin } from "./plugin.js"
export { type HttpServices, type Runner, runnerFromContext, runnerFromRuntime } from "./runner.js"
export { otlpTracingLayer } from "./tracing.js"
export { isSecretName, redactSecrets } from "./redact.js"

/** The server would not start: no tokens and a non-loopback address, or the address is taken. */
export class HttpServerRefused extends Schema.TaggedError<HttpServerRefused>()("HttpServerRefused", {
  message: Schema.String
}) {}

export interface HttpServer {
  readonly app: FastifyInstance
  readonly routes: ReadonlyArray<RouteInfo>
  /** e.g. http://127.0.0.1:7311 */
  readonly url: string
  /** Stops accepting, ends open streams, waits for in-flight requests. The caller closes the engine after. */
  readonly close: () => Promise<void>
}

const refuseOpenBinding = (options: HttpOptions) => {
  if (options.tokens.length === 0 && !isLoopback(options.host)) {
    throw new HttpServerRefused({
      message: `refusing to listen on ${options.host} without API tokens: anyone who can reach it could operate every workflow; set ORRERY_TOKENS, or listen on 127.0.0.1`
    })
  }
}

const listen = async (run: Runner, options: HttpOptions): Promise<HttpServer> => {
  refuseOpenBinding(options)
  const { app, routes } = await buildHttpApp(run, options)
  try {
    await app.listen({ host: options.host, port: options.port })
  } catch (error) {
    await app.close()
    throw new HttpServerRefused({ message: `cannot listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}` })
  }
  const address = app.server.address()
  const port = typeof address === "object" && address !== null ? address.port : options.port
  const host = options.host.includes(":") ? `[${options.host}]` : options.host
  const url = `http://${host}:${port}`
  if (options.tokens.length === 0) {
    app.log.warn({ url }, `no API tokens configured: listening on loopback only (${url}); every local caller may operate`)
  } else {
    app.log.info({ url, tokens: options.tokens.map((token) => `${token.name} (${token.role})`) }, `listening on ${url}`)
  }
  return { app, routes, url, close: () => app.close() }
}

export const startHttpServer = (runtime: ManagedRuntime.ManagedRuntime<HttpServices, unknown>, options: HttpOptions): Promise<HttpServer> =>
  listen(runnerFromRuntime(runtime), options)

/** Listens for as long as the scope is open. */
export const serveHttp = (options: HttpOptions): Effect.Effect<HttpServer, HttpServerRefused, HttpServices | Scope.Scope> =>
  Effect.gen(function*() {
    const services = yield* Effect.context<HttpServices>()
    return yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => listen(runnerFromContext(services), options),
        catch: (error) => (error instanceof HttpServerRefused ? error : new HttpServerRefused({ message: String(error) }))
      }),
      (server) => Effect.promise(() => server.close())
    )
  })

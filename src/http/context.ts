/**
 * What every route group gets: a way to run Effects for a request (with a span
 * named after the route, and the caller's correlation id and name for the
 * engine's event metadata), the metrics, the options, and the server's
 * lifecycle state.
 */
import { Effect } from "effect"
import type { FastifyRequest } from "fastify"
import type { Metrics } from "./metrics/orrery.js"
import type { ResolvedApiOptions } from "./options.js"
import { type HttpServices, type Runner, perform } from "./runner.js"
import { parentFromTraceparent } from "./tracing.js"

declare module "fastify" {
  interface FastifyRequest {
    correlationId: string
  }
}

export interface RouteContext {
  readonly run: Runner
  /** Runs `effect` for `request`: its value, or throws the HttpError its failure maps to. */
  readonly perform: <A, E>(request: FastifyRequest, effect: Effect.Effect<A, E, HttpServices>) => Promise<A>
  /** Correlation id and actor (the token's name) for the engine's CallOptions. */
  readonly callOptions: (request: FastifyRequest) => { readonly correlationId: string; readonly actor: string }
  readonly metrics: Metrics
  readonly options: ResolvedApiOptions
  /** Set when shutdown begins; open streams register a closer here. */
  readonly lifecycle: { closing: boolean; readonly streams: Set<() => void> }
}

const correlationPattern = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's correlation id when it is a sane one, else this request's id. */
export const correlationOf = (header: string | ReadonlyArray<string> | undefined, requestId: string) =>
  typeof header === "string" && correlationPattern.test(header) ? header : requestId

export const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? "unmatched"

export const makeRouteContext = (run: Runner, metrics: Metrics, options: ResolvedApiOptions): RouteContext => ({
  run,
  perform: (request, effect) => {
    const params = (request.params ?? {}) as { type?: string; id?: string }
    const parent = parentFromTraceparent(request.headers.traceparent)
    return perform(
      run,
      effect.pipe(
        Effect.withSpan(`${request.method} ${routeOf(request)}`, {
          kind: "server",
          ...(parent === undefined ? {} : { parent }),
          attributes: {
            "http.request.method": request.method,
            "http.route": routeOf(request),
            "orrery.correlation_id": request.correlationId,
            ...(params.type === undefined ? {} : { "orrery.workflow_type": params.type }),
            ...(params.id === undefined ? {} : { "orrery.instance_id": params.id })
          }
          // The route names the span well enough; capturing a stack per request costs more than it tells.
        }, { captureStackTrace: false })
      )
    )
  },
  callOptions: (request) => ({ correlationId: request.correlationId, actor: request.principal?.name ?? "anonymous" }),
  metrics,
  options,
  lifecycle: { closing: false, streams: new Set() }
})

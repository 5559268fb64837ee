/**
 * OpenTelemetry export of Effect spans. When OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, `otlpTracingLayer` provides
 * Effect's OTLP/HTTP JSON tracer; otherwise it provides nothing and spans stay
 * in-process. Put it into the layer the application's runtime is built from so
 * that the HTTP request spans and every span the engine opens are exported.
 * Incoming W3C `traceparent` headers become the parent of a request's span.
 */
import { Layer, Tracer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"

type Env = Readonly<Record<string, string | undefined>>

/** `k1=v1,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS), values percent-decoded. */
const parseHeaders = (raw: string | undefined): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const pair of (raw ?? "").split(",")) {
    const equals = pair.indexOf("=")
    if (equals <= 0) continue
    try {
      headers[pair.slice(0, equals).trim()] = decodeURIComponent(pair.slice(equals + 1).trim())
    } catch {
      // A malformed header value is skipped rather than failing start-up.
    }
  }
  return headers
}

/** The traces URL the OTel environment variables name, if any. */
export const otlpTracesUrl = (env: Env = process.env): string | undefined => {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  if (traces !== undefined && traces !== "") return traces
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (base === undefined || base === "") return undefined
  return `${base.replace(/\/+$/, "")}/v1/traces`
}

export const otlpTracingLayer = (env: Env = process.env, options: { readonly exportIntervalMs?: number } = {}): Layer.Layer<never> => {
  const url = otlpTracesUrl(env)
  if (url === undefined) return Layer.empty
  const headers = { ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) }
  return OtlpTracer.layer({
    url,
    headers,
    resource: { serviceName: env.OTEL_SERVICE_NAME ?? "orrery" },
    ...(options.exportIntervalMs === undefined ? {} : { exportInterval: `${options.exportIntervalMs} millis` })
  }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
}

/** The parent span a W3C `traceparent` header names (version 00), if it is well formed. */
export const parentFromTraceparent = (header: string | ReadonlyArray<string> | undefined): Tracer.ExternalSpan | undefined => {
  const value = Array.isArray(header) ? header[0] : header
  const match = typeof value === "string" ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value.trim()) : null
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined
  return Tracer.externalSpan({ traceId: match[1]!, spanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 })
}

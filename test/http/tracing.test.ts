/** OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, request spans reach an OTLP/HTTP collector, as children of the caller's traceparent. */
import { createServer } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { otlpTracesUrl, otlpTracingLayer, parentFromTraceparent } from "../../src/http/tracing.js"
import { drivers } from "../support/drivers.js"
import { type TestServer, client, startServer } from "./support.js"
import { flakyWorkflow } from "./workflows.js"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

/** A stand-in collector on loopback: keeps every span posted to /v1/traces. */
const collector = async () => {
  const spans: Array<OtlpSpan> = []
  const requests: Array<{ url: string; headers: Record<string, unknown> }> = []
  const server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => (body += chunk.toString()))
    request.on("end", () => {
      requests.push({ url: request.url ?? "", headers: request.headers })
      const payload = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }
      for (const resource of payload.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans)
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}`, spans, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe("OTLP settings", () => {
  it("reads the standard variables, and stays off without them", () => {
    expect(otlpTracesUrl({})).toBeUndefined()
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toBe("http://collector:4318/v1/traces")
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b/traces" })).toBe("http://b/traces")
    expect(parentFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true })
    for (const bad of ["", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"]) expect(parentFromTraceparent(bad)).toBeUndefined()
  })
})

describe.each(drivers)("tracing on %s", (driver) => {
  let otlp: Awaited<ReturnType<typeof collector>>
  let server: TestServer
  beforeAll(async () => {
    otlp = await collector()
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=collector-secret", OTEL_SERVICE_NAME: "orrery-test" }
    server = await startServer(driver, [flakyWorkflow], {}, { tracing: otlpTracingLayer(env, { exportIntervalMs: 100 }) })
  })
  afterAll(async () => {
    await server?.close()
    await otlp?.close()
  })

  it("exports a server span per request, named after the route, under the caller's trace", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const started = await client(server, "live")("POST", "/workflows/flaky", {
      body: { id: "traced-1", input: { paymentToken: "t" } },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-correlation-id": "corr-traced" }
    })
    expect(started.status).toBe(201)
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && !otlp.spans.some((span) => span.name === "POST /workflows/:type")) await new Promise((resolve) => setTimeout(resolve, 50))
    const span = otlp.spans.find((candidate) => candidate.name === "POST /workflows/:type")
    expect(span).toBeDefined()
    expect(span).toMatchObject({ traceId, parentSpanId: "00f067aa0ba902b7", kind: 2 })
    const attributes = Object.fromEntries(span!.attributes.map((attribute) => [attribute.key, Object.values(attribute.value)[0]]))
    expect(attributes).toMatchObject({ "http.route": "/workflows/:type", "http.request.method": "POST", "orrery.workflow_type": "flaky", "orrery.correlation_id": "corr-traced" })
    expect(otlp.requests[0]).toMatchObject({ url: "/v1/traces", headers: { "x-api-key": "collector-secret" } })
  })
})

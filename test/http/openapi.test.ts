/** The OpenAPI document: valid OpenAPI 3.1, every route in it, generated from the schemas that validate requests. */
import SwaggerParser from "@apidevtools/swagger-parser"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { drivers } from "../support/drivers.js"
import { thingsDomain } from "./domain.js"
import { type TestServer, asReader, client, startServer } from "./support.js"
import { flakyWorkflow } from "./workflows.js"

describe.each(drivers)("OpenAPI on %s", (driver) => {
  let server: TestServer
  let spec: any
  beforeAll(async () => {
    server = await startServer(driver, [paymentWorkflow(new Gateway()), flakyWorkflow], { domains: [thingsDomain] })
    spec = (await client(server, "inject", asReader)("GET", "/docs/json")).json
  })
  afterAll(async () => {
    await server?.close()
  })

  it("validates as OpenAPI 3.1", async () => {
    expect(spec.openapi).toBe("3.1.0")
    const validated = await SwaggerParser.validate(structuredClone(spec))
    expect(Object.keys(validated.paths ?? {}).length).toBeGreaterThan(10)
    expect(spec.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" })
  })

  it("lists every route the server answers, with its method", () => {
    const documented = new Set(Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)))
    const served = server.routes.filter((route) => !route.hidden).map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, "{$1}")}`)
    expect(served.length).toBeGreaterThan(15)
    for (const route of served) expect(documented).toContain(route)
    expect([...documented].sort()).toEqual([...new Set(served)].sort())
    for (const contract of [
      "POST /workflows/{type}",
      "GET /workflows/{type}/{id}",
      "POST /workflows/{type}/{id}/events",
      "POST /workflows/{type}/{id}/cancel",
      "POST /workflows/{type}/{id}/retry",
      "GET /workflows/{type}/{id}/history",
      "GET /workflows/{type}/{id}/stream",
      "GET /workflows",
      "GET /machines",
      "GET /machines/{type}",
      "GET /machines/{type}/compare",
      "GET /events",
      "GET /health/live",
      "GET /health/ready",
      "GET /metrics"
    ]) {
      expect(documented).toContain(contract)
    }
  })

  it("documents what the server enforces: the same body, parameter and header schemas, and the error shape", async () => {
    const start = spec.paths["/workflows/{type}"].post
    const body = start.requestBody.content["application/json"].schema
    expect(body).toMatchObject({ type: "object", required: ["input"], additionalProperties: false, properties: { id: { pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$" } } })
    expect(start.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: "header", name: "idempotency-key" }), expect.objectContaining({ in: "path", name: "type", required: true })]))
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(["200", "201", "400", "401", "403", "404", "409", "413", "415", "429", "503"]))
    expect(start.responses["409"].content["application/json"].schema.required).toEqual(["error", "message"])
    const send = spec.paths["/workflows/{type}/{id}/events"].post
    expect(send.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: "query", name: "wait", schema: expect.objectContaining({ enum: ["settled"] }) })]))
    expect(spec.paths["/health/ready"].get.security).toEqual([])

    // The documented pattern is the one enforced.
    const refused = await client(server, "inject")("POST", "/workflows/payment", { body: { id: "-starts-with-dash", input: { amount: 1 } } })
    expect(refused.status).toBe(400)
    expect(refused.json.details).toMatchObject({ field: "id" })
    expect(new RegExp(body.properties.id.pattern).test("-starts-with-dash")).toBe(false)
  })
})

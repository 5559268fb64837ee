/** Who may call what: each role exactly its routes, tokens never logged, secrets redacted for readers, rate limits per token. */
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { HttpServerRefused, startHttpServer } from "../../src/http/index.js"
import { drivers } from "../support/drivers.js"
import { thingsDomain } from "./domain.js"
import { type TestServer, asOperator, asReader, client, operateToken, orreryRuntime, readToken, startServer, tokens } from "./support.js"
import { flakyWorkflow } from "./workflows.js"

/** A concrete path for a route template: unknown ids, so that no request changes anything. */
const pathOf = (url: string) => url.replace(":type", "payment").replace(":id", "auth-probe").replace("*", "index.html")

describe.each(drivers)("auth on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [paymentWorkflow(new Gateway()), flakyWorkflow], { domains: [thingsDomain] })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("lets each role call exactly its routes: read the GET routes, operate all; nobody without a token but the probes, the docs and the inspector's files", async () => {
    const routes = server.routes
    expect(routes.length).toBeGreaterThan(15)
    expect(routes.map((route) => `${route.method} ${route.url}`)).toEqual(expect.arrayContaining(["GET /things/:id", "POST /things/boom", "GET /docs/json", "GET /inspect", "GET /inspect/*"]))
    for (const transport of ["inject", "live"] as const) {
      for (const route of routes) {
        const path = pathOf(route.url)
        const body = route.method === "POST" ? { body: {} } : {}
        const anonymous = await client(server, transport, {})(route.method, path, body)
        const reader = await client(server, transport, asReader)(route.method, path, body)
        const operator = await client(server, transport, asOperator)(route.method, path, body)
        const label = `${transport} ${route.method} ${route.url}`
        // The probes, the documentation and the inspector's files (a browser must be able to open them; they hold no data) need no token.
        if (route.url.startsWith("/health/") || route.url.startsWith("/docs") || route.url.startsWith("/inspect")) {
          expect([[401, 403].includes(anonymous.status), label]).toEqual([false, label])
          continue
        }
        expect([anonymous.status, anonymous.json?.error, label]).toEqual([401, "Unauthorized", label])
        expect(anonymous.headers["www-authenticate"]).toBe("Bearer")
        if (route.method === "GET") expect([[401, 403].includes(reader.status), label]).toEqual([false, label])
        else expect([reader.status, reader.json?.error, label]).toEqual([403, "Forbidden", label])
        expect([[401, 403].includes(operator.status), label]).toEqual([false, label])
      }
    }
  })

  it("refuses unknown and malformed tokens with 401, and never logs a token", async () => {
    const http = client(server, "live", {})
    for (const authorization of [`Bearer ${readToken}x`, `Bearer ${readToken.slice(0, -1)}`, readToken, `Basic ${readToken}`, "Bearer", `Bearer ${operateToken} extra`]) {
      const answer = await http("GET", "/machines", { headers: { authorization } })
      expect([authorization, answer.status, answer.json.error]).toEqual([authorization, 401, "Unauthorized"])
      expect(answer.headers["www-authenticate"]).toBe('Bearer error="invalid_token"')
    }
    expect((await http("GET", "/machines", { headers: { authorization: `bearer ${readToken}` } })).status).toBe(200)
    const logs = server.logs.join("")
    expect(logs.length).toBeGreaterThan(1000)
    expect(logs).not.toContain(readToken)
    expect(logs).not.toContain(operateToken.slice(0, 16))
  })

  it("redacts secret-named fields for the read role in state, history and the log, and keeps them for operators", async () => {
    const operator = client(server, "live", asOperator)
    const reader = client(server, "live", asReader)
    await operator("POST", "/workflows/flaky", { body: { id: "secret-1", input: { paymentToken: "tok_live_supersecret" } } })
    await operator("POST", "/workflows/flaky/secret-1/events", { body: { type: "CONFIGURE", apiKey: "sk_live_alsosecret", note: "visible" } })

    const seen = await reader("GET", "/workflows/flaky/secret-1")
    expect(seen.json.context).toEqual({ paymentToken: "[redacted]", apiKey: "[redacted]", note: "visible" })
    const history = await reader("GET", "/workflows/flaky/secret-1/history")
    expect(history.json.items[0].data.input).toEqual({ paymentToken: "[redacted]" })
    expect(history.json.items.at(-1).data.event).toEqual({ type: "CONFIGURE", apiKey: "[redacted]", note: "visible" })
    // The global log is read gap-free: an event shows once every older transaction on the server has ended,
    // and another test file's may still be open. Wait until both events show, then look at them.
    const deadline = Date.now() + 30_000
    let log = await reader("GET", "/events?type=workflow.started,workflow.event_received&limit=1000")
    while (log.json.items.filter((item: any) => item.streamId === "flaky-secret-1").length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      log = await reader("GET", "/events?type=workflow.started,workflow.event_received&limit=1000")
    }
    expect(log.text).not.toContain("supersecret")
    expect(log.text).not.toContain("alsosecret")
    expect(log.text).toContain("[redacted]")

    const full = await operator("GET", "/workflows/flaky/secret-1/history")
    expect(full.json.items[0].data.input).toEqual({ paymentToken: "tok_live_supersecret" })
    expect((await operator("GET", "/workflows/flaky/secret-1")).json.context.apiKey).toBe("sk_live_alsosecret")
    expect(server.logs.join("")).not.toContain("supersecret")
  })

  it("serves the domains' routes with the engine's statuses, and answers a bug with a 500 whose error id is in the log", async () => {
    const operator = client(server, "live", asOperator)
    expect((await operator("GET", "/things/secret-1")).json).toMatchObject({ id: "secret-1", type: "flaky" })
    expect((await operator("GET", "/things/nobody")).json).toMatchObject({ error: "InstanceNotFound" })
    expect((await operator("GET", "/things")).json.instances).toBeGreaterThan(0)
    const boom = await operator("POST", "/things/boom", { body: {} })
    expect(boom.status).toBe(500)
    expect(boom.json).toEqual({ error: "InternalError", message: expect.stringContaining(boom.json.details.errorId), details: { errorId: expect.any(String) } })
    expect(boom.text).not.toContain("kaboom")
    expect(boom.text).not.toContain("things.ts")
    const line = server.logs.find((entry) => entry.includes(boom.json.details.errorId) && entry.includes("kaboom"))
    expect(line).toBeDefined()
    expect(JSON.parse(line!)).toMatchObject({ level: 50, errorId: boom.json.details.errorId, err: { message: "kaboom in /srv/app/things.ts", stack: expect.stringContaining("Error: kaboom") } })
  })
})

describe.each(drivers)("without tokens, on %s", (driver) => {
  it("lets any local caller operate, listens on loopback only and says so, and refuses any other address", async () => {
    const server = await startServer(driver, [flakyWorkflow], { tokens: [] })
    try {
      const anonymous = client(server, "live", {})
      const started = await anonymous("POST", "/workflows/flaky", { body: { id: "open-1", input: { paymentToken: "t" } } })
      expect(started.status).toBe(201)
      const history = await anonymous("GET", "/workflows/flaky/open-1/history")
      expect(history.json.items[0].metadata.actor).toBe("anonymous")
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(server.logs.map((line) => JSON.parse(line).msg)).toContain(`no API tokens configured: listening on loopback only (${server.url}); every local caller may operate`)
    } finally {
      await server.close()
    }
    const runtime = orreryRuntime(driver, [flakyWorkflow])
    try {
      for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com"]) {
        const refused = await startHttpServer(runtime, { host, port: 0, tokens: [], logLevel: "warn" }).then(
          () => undefined,
          (error: unknown) => error
        )
        expect(refused).toBeInstanceOf(HttpServerRefused)
        expect((refused as HttpServerRefused).message).toContain(`refusing to listen on ${host} without API tokens`)
      }
    } finally {
      await runtime.dispose()
    }
  })
})

describe("rate limit", () => {
  it("limits each token on its own, with a JSON 429 and Retry-After; the probes are not limited", async () => {
    const two = [...tokens, { name: "reader2", role: "read" as const, token: Redacted.make("second-read-token-0123456789") }]
    const server = await startServer(drivers[0]!, [flakyWorkflow], { tokens: two, rateLimit: { max: 5, windowMs: 60_000 } })
    try {
      const reader = client(server, "live", asReader)
      for (let n = 0; n < 5; n++) expect((await reader("GET", "/machines")).status).toBe(200)
      const limited = await reader("GET", "/machines")
      expect(limited.status).toBe(429)
      expect(limited.json).toMatchObject({ error: "RateLimited", message: expect.stringContaining("5 requests per 60000 ms") })
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0)
      expect((await client(server, "live", { authorization: "Bearer second-read-token-0123456789" })("GET", "/machines")).status).toBe(200)
      expect((await client(server, "live", asOperator)("GET", "/machines")).status).toBe(200)
      for (let n = 0; n < 10; n++) expect((await reader("GET", "/health/ready")).status).toBe(200)
    } finally {
      await server.close()
    }
  })

  it("counts wrong tokens against their address: guessing is throttled, a valid token still gets through", async () => {
    const server = await startServer(drivers[0]!, [flakyWorkflow], { tokens, rateLimit: { max: 5, windowMs: 60_000 } })
    try {
      const statuses: Array<number> = []
      for (let n = 0; n < 8; n++) {
        statuses.push((await client(server, "live", { authorization: `Bearer guess-${n}-0123456789abcdef` })("GET", "/machines")).status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
      const anonymous = await client(server, "live", {})("GET", "/machines")
      expect(anonymous.json).toMatchObject({ error: "RateLimited" })
      expect((await client(server, "live", asReader)("GET", "/machines")).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe("what the server says and logs about a request", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(drivers[0]!, [flakyWorkflow], { tokens })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("answers an unknown route 404 for every role, and 401 to a caller without a token", async () => {
    for (const method of ["GET", "POST", "DELETE"] as const) {
      for (const path of ["/nowhere", "/workflows/flaky/x/nowhere"]) {
        const body = method === "POST" ? { body: {} } : {}
        for (const who of [asReader, asOperator]) {
          const answer = await client(server, "live", who)(method, path, body)
          expect([method, path, answer.status, answer.json.error]).toEqual([method, path, 404, "NotFound"])
        }
        expect((await client(server, "live", {})(method, path, body)).status).toBe(401)
      }
    }
  })

  it("logs secret-looking query parameters as [redacted]", async () => {
    const secrets = ["s3cret-access-0123456789", "s3cret-token-0123456789", "s3cret-key-0123456789", "s3cret-api-key-0123456789"]
    const query = `access_token=${secrets[0]}&token=${secrets[1]}&key=${secrets[2]}&apiKey=${secrets[3]}&type=flaky`
    expect((await client(server, "live", asReader)("GET", `/workflows?${query}`)).status).toBeLessThan(500)
    const line = server.logs.flatMap((text) => text.split("\n")).find((text) => text.includes("access_token="))
    expect(line).toBeDefined()
    expect(JSON.parse(line!).url).toBe("/workflows?access_token=[redacted]&token=[redacted]&key=[redacted]&apiKey=[redacted]&type=flaky")
    for (const secret of secrets) expect(server.logs.join("")).not.toContain(secret)
  })
})

/**
 * `orreryPlugin` inside a user's Fastify app: the API answers under its prefix
 * with its own validation, error shape and 404s; the host's routes, handlers,
 * validator, parsers and hooks stay the host's; the host's auth runs for the
 * API too; two instances under two prefixes keep apart; the server closes its
 * streams. On both drivers.
 */
import SwaggerParser from "@apidevtools/swagger-parser"
import type { FastifyInstance } from "fastify"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { InvalidOrreryOptions, orreryPlugin } from "../../src/fastify.js"
import { door } from "../http/door.js"
import { openStream } from "../http/sse.js"
import { createOrrery } from "../../src/orrery/create-orrery.js"
import { orreryRuntime } from "../http/support.js"
import { flakyWorkflow } from "../http/workflows.js"
import { databaseLayer, drivers, freshSchema } from "../support/drivers.js"
import { type HostApp, hostApp, hostKey } from "./host.js"

const otherToken = "other-operate-token-0123456789"
const otherReadToken = "other-read-token-0123456789ab"
const asHost = { "x-host-key": hostKey }

interface Answer {
  readonly status: number
  readonly headers: Record<string, unknown>
  readonly text: string
  readonly json: any
}

const inject = async (app: FastifyInstance, method: string, url: string, options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
  const headers: Record<string, string> = { ...asHost, ...options.headers }
  if (options.body !== undefined) headers["content-type"] ??= "application/json"
  const payload = options.body !== undefined ? JSON.stringify(options.body) : options.raw
  const response = await app.inject({ method: method as "GET", url, headers, ...(payload === undefined ? {} : { payload }) })
  let json: any
  try {
    json = JSON.parse(response.body)
  } catch {
    json = undefined
  }
  return { status: response.statusCode, headers: response.headers, text: response.body, json }
}

describe.each(drivers)("orreryPlugin in a host app on %s", (driver) => {
  // Orrery (doors) at /orrery, authenticated by the host alone; another Orrery (flaky) at /other with tokens of its own and a rate limit.
  const doors = orreryRuntime(driver, [door(1)])
  const flaky = orreryRuntime(driver, [flakyWorkflow])
  let host: HostApp
  let app: FastifyInstance

  beforeAll(async () => {
    // Built before registering: a ManagedRuntime builds its layers on first use, and Fastify gives a plugin 10 s.
    await Promise.all([doors.context(), flaky.context()])
    host = hostApp()
    app = host.app
    await app.register(orreryPlugin, { prefix: "/orrery", orrery: { runtime: doors } })
    await app.register(orreryPlugin, {
      prefix: "/other/",
      orrery: { runtime: flaky },
      inspector: false,
      tokens: [
        { name: "other-operator", role: "operate", token: otherToken },
        { name: "other-reader", role: "read", token: otherReadToken }
      ],
      rateLimit: { max: 40, windowMs: 60_000 }
    })
    // The host's own routes may come after the plugin too.
    app.get("/after", async () => ({ after: true }))
    await app.ready()
  }, 60_000)
  afterAll(async () => {
    await app?.close()
    await Promise.all([doors.dispose(), flaky.dispose()])
  })

  it("starts a workflow, takes an event, and reads it and its history under the prefix", async () => {
    const started = await inject(app, "POST", "/orrery/workflows/door", { body: { id: "front", input: {} } })
    expect([started.status, started.json]).toMatchObject([201, { id: "front", type: "door", state: "closed", status: "running" }])
    expect(started.headers["x-correlation-id"]).toEqual(expect.any(String))

    const opened = await inject(app, "POST", "/orrery/workflows/door/front/events", { body: { type: "OPEN", by: "ann" } })
    expect([opened.status, opened.json]).toMatchObject([200, { state: "open", context: { opened: 1, by: "ann" } }])

    const read = await inject(app, "GET", "/orrery/workflows/door/front")
    expect([read.status, read.json]).toMatchObject([200, { id: "front", state: "open", streamVersion: opened.json.streamVersion }])
    const history = await inject(app, "GET", "/orrery/workflows/door/front/history")
    expect(history.status).toBe(200)
    expect(history.json.items.map((entry: any) => [entry.kind, entry.type])).toEqual([
      ["input", "workflow.started"],
      ["input", "workflow.event_received"],
      ["domain", "door.opened"]
    ])
    expect(history.json.items[1].data).toEqual({ event: { type: "OPEN", by: "ann" } })
    expect(history.json.items[2].data).toEqual({ by: "ann" })
    expect(history.json.items.length).toBe(read.json.streamVersion)
    const listed = await inject(app, "GET", "/orrery/workflows?type=door")
    expect(listed.json.items.map((item: any) => item.id)).toEqual(["front"])
  })

  it("documents its own routes under the prefix, and only its own", async () => {
    const document = await inject(app, "GET", "/orrery/docs/json")
    expect(document.status).toBe(200)
    const paths = Object.keys(document.json.paths)
    expect(paths).toEqual(expect.arrayContaining(["/orrery/workflows/{type}", "/orrery/workflows/{type}/{id}/events", "/orrery/workflows/{type}/{id}/history", "/orrery/machines", "/orrery/health/ready"]))
    expect(paths.filter((path) => !path.startsWith("/orrery/"))).toEqual([])
    expect(paths.filter((path) => path.startsWith("/orrery/inspect") || path.startsWith("/orrery/docs"))).toEqual([])
    await SwaggerParser.validate(structuredClone(document.json))

    const other = await inject(app, "GET", "/other/docs/json")
    const otherPaths = Object.keys(other.json.paths)
    expect(otherPaths).toContain("/other/workflows/{type}")
    expect(otherPaths.filter((path) => !path.startsWith("/other/"))).toEqual([])
    // The UI is there too, open like the document.
    const ui = await inject(app, "GET", "/orrery/docs")
    expect([ui.status, ui.headers["content-type"]]).toEqual([200, expect.stringContaining("text/html")])
  })

  it("answers a validation error, an unknown route and a non-JSON body under its prefix in its own shape", async () => {
    const invalid = await inject(app, "POST", "/orrery/workflows/door", { body: { id: 5, input: {} } })
    expect([invalid.status, invalid.json]).toEqual([400, { error: "ValidationError", message: "id must be string", details: { in: "body", field: "id", reason: "must be string" } }])
    const unknown = await inject(app, "GET", "/orrery/nothing/here")
    expect([unknown.status, unknown.json]).toEqual([404, { error: "NotFound", message: "no route GET /orrery/nothing/here" }])
    const bare = await inject(app, "GET", "/orrery")
    expect([bare.status, bare.json?.error]).toEqual([404, "NotFound"])
    const text = await inject(app, "POST", "/orrery/workflows/door", { raw: "hello", headers: { "content-type": "text/plain" } })
    expect([text.status, text.json?.error]).toEqual([415, "UnsupportedMediaType"])
    const missing = await inject(app, "GET", "/orrery/workflows/door/nobody")
    expect([missing.status, missing.json.error]).toEqual([404, "InstanceNotFound"])
    const refused = await inject(app, "POST", "/orrery/workflows/door/front/events", { body: { type: "OPEN", by: "bob" } })
    expect([refused.status, refused.json]).toMatchObject([409, { error: "EventNotAccepted", state: "open", accepted: ["CLOSE"] }])
  })

  it("leaves the host's routes, error handler, not-found handler, validator, serializer and parsers as they were", async () => {
    expect(await inject(app, "GET", "/public", { headers: {} }).then((a) => [a.status, a.json])).toEqual([200, { hello: "world" }])
    expect(await inject(app, "GET", "/after").then((a) => [a.status, a.json])).toEqual([200, { after: true }])
    expect(await inject(app, "GET", "/boom").then((a) => [a.status, a.json])).toEqual([418, { hostError: "the host's own failure", validation: false }])
    expect(await inject(app, "GET", "/nowhere").then((a) => [a.status, a.json])).toEqual([404, { hostNotFound: "/nowhere" }])
    // A prefix that only starts like Orrery's is the host's.
    expect(await inject(app, "GET", "/orreryx").then((a) => [a.status, a.json])).toEqual([404, { hostNotFound: "/orreryx" }])
    expect(await inject(app, "GET", "/inspect").then((a) => [a.status, a.json])).toEqual([404, { hostNotFound: "/inspect" }])
    // Fastify's default validator coerces a body; the host's route still gets that, while Orrery's refused the same (above).
    expect(await inject(app, "POST", "/count", { body: { n: "5" } }).then((a) => [a.status, a.json])).toEqual([200, { n: 5 }])
    const invalid = await inject(app, "POST", "/count", { body: { n: "five" } })
    expect([invalid.status, invalid.json.validation, invalid.json.error]).toEqual([400, true, undefined])
    // text/plain is still parsed for the host's routes.
    expect(await inject(app, "POST", "/note", { raw: "twelve chars", headers: { "content-type": "text/plain" } }).then((a) => [a.status, a.json])).toEqual([200, { length: 12 }])
    // Each side's serializer writes its own answers.
    expect(await inject(app, "GET", "/typed").then((a) => a.json)).toEqual({ typed: true, extra: "kept", serializedBy: "host" })
    const catalogue = await inject(app, "GET", "/orrery/machines")
    expect(catalogue.json).toEqual({ items: [{ type: "door", kind: "aggregate", versions: [1], newestVersion: 1 }] })
    // Orrery's request decorations and headers stay on its own routes.
    expect((await inject(app, "GET", "/public")).headers["x-correlation-id"]).toBeUndefined()
  })

  it("runs the host's auth hook for every route under the prefix: the API, its 404s, the docs and the inspector", async () => {
    for (const path of ["/orrery/machines", "/orrery/workflows/door/front", "/orrery/nothing", "/orrery/docs/json", "/orrery/inspect", "/other/machines"]) {
      const seen = host.seenByHostAuth.length
      const refused = await inject(app, "GET", path, { headers: { "x-host-key": "wrong" } })
      expect([path, refused.status, refused.json]).toEqual([path, 401, { hostSays: "who are you?" }])
      expect(host.seenByHostAuth.slice(seen)).toEqual([path])
    }
    // The host's onSend hook runs for Orrery's answers too.
    expect((await inject(app, "GET", "/orrery/machines")).headers["x-host"]).toBe("yes")
  })

  it("serves the inspector under the prefix: the page names its files there, with the same strict policy", async () => {
    const page = await inject(app, "GET", "/orrery/inspect")
    expect([page.status, page.headers["content-type"]]).toEqual([200, "text/html; charset=utf-8"])
    expect(page.text).toContain('<script type="module" src="/orrery/inspect/app.js"></script>')
    expect(page.text).toContain('<link rel="stylesheet" href="/orrery/inspect/style.css">')
    expect(page.text).not.toMatch(/"\/inspect\//)
    expect(page.headers["content-security-policy"]).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    for (const path of ["/orrery/inspect/app.js", "/orrery/inspect/api.js", "/orrery/inspect/elk.js", "/orrery/inspect/style.css", "/orrery/inspect/views/machines.js"]) {
      const file = await inject(app, "GET", path)
      expect([path, file.status]).toEqual([path, 200])
    }
    const missing = await inject(app, "GET", "/orrery/inspect/nope.js")
    expect([missing.status, missing.json?.error]).toEqual([404, "NotFound"])
    // Turned off for the other instance.
    const off = await inject(app, "GET", "/other/inspect", { headers: { authorization: `Bearer ${otherToken}` } })
    expect([off.status, off.json]).toEqual([404, { error: "NotFound", message: "no route GET /other/inspect" }])
  })

  it("keeps two instances apart: each its own workflows, tokens, rate limit and 404s", async () => {
    const doorsCatalogue = await inject(app, "GET", "/orrery/machines")
    expect(doorsCatalogue.json.items.map((item: any) => item.type)).toEqual(["door"])
    const asOther = { authorization: `Bearer ${otherToken}` }
    const flakyCatalogue = await inject(app, "GET", "/other/machines", { headers: asOther })
    expect(flakyCatalogue.json.items.map((item: any) => item.type)).toEqual(["flaky"])
    // /other asks for its own tokens (given as plain strings); /orrery leaves auth to the host.
    const anonymous = await inject(app, "GET", "/other/machines")
    expect([anonymous.status, anonymous.json.error, anonymous.headers["www-authenticate"]]).toEqual([401, "Unauthorized", "Bearer"])
    const reader = await inject(app, "POST", "/other/workflows/flaky", { body: { input: { paymentToken: "t" } }, headers: { authorization: `Bearer ${otherReadToken}` } })
    expect([reader.status, reader.json.error]).toEqual([403, "Forbidden"])
    // The same instance id in each is two instances.
    expect((await inject(app, "POST", "/other/workflows/flaky", { body: { id: "front", input: { paymentToken: "t" } }, headers: asOther })).status).toBe(201)
    expect((await inject(app, "GET", "/other/workflows/door/front", { headers: asOther })).json.error).toBe("WorkflowNotFound")
    expect((await inject(app, "GET", "/orrery/workflows/door/front")).json.type).toBe("door")
    expect((await inject(app, "GET", "/other/nothing", { headers: asOther })).json.message).toBe("no route GET /other/nothing")

    // /other's rate limit counts its own requests only.
    let limited: Answer | undefined
    for (let i = 0; i < 45 && limited === undefined; i++) {
      const answer = await inject(app, "GET", "/other/machines", { headers: asOther })
      if (answer.status === 429) limited = answer
    }
    expect(limited?.json).toMatchObject({ error: "RateLimited", details: { retryAfterMs: expect.any(Number) } })
    for (let i = 0; i < 45; i++) expect((await inject(app, "GET", "/orrery/machines")).status).toBe(200)
    expect((await inject(app, "GET", "/public")).status).toBe(200)
  })

  it("ends its open streams when the host app closes", async () => {
    const { app: closing } = hostApp()
    await closing.register(orreryPlugin, { prefix: "/orrery", orrery: { runtime: doors } })
    await closing.listen({ host: "127.0.0.1", port: 0 })
    const address = closing.server.address()
    const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    await inject(closing, "POST", "/orrery/workflows/door", { body: { id: "watched", input: {} } })
    const stream = await openStream(`${url}/orrery/workflows/door/watched/stream`, asHost)
    expect(stream.status).toBe(200)
    await stream.waitFor((event) => event.event === "state")
    await closing.close()
    await stream.ended
  })
})

describe.each(drivers)("orreryPlugin serving createOrrery on %s", (driver) => {
  it("takes the Orrery as it is, and both doors see the same instances", async () => {
    const schema = freshSchema()
    const orrery = await createOrrery({ workflows: [door(1)], database: databaseLayer(driver, schema), schema })
    const { app } = hostApp()
    try {
      await app.register(orreryPlugin, { prefix: "/orrery", orrery })
      const started = await inject(app, "POST", "/orrery/workflows/door", { body: { id: "garden", input: {} } })
      expect([started.status, started.json.state]).toEqual([201, "closed"])
      await orrery.handle("door", "garden").send({ type: "OPEN", by: "in-process" })
      const read = await inject(app, "GET", "/orrery/workflows/door/garden")
      expect([read.json.state, read.json.context]).toEqual(["open", { opened: 1, by: "in-process" }])
    } finally {
      await app.close()
      await orrery.close()
    }
  })
})

describe("orreryPlugin's options", () => {
  const runtime = orreryRuntime("pglite", [door(1)])
  afterAll(() => runtime.dispose())

  it("refuses what cannot work with InvalidOrreryOptions naming the option, never echoing a token", async () => {
    const cases: ReadonlyArray<[unknown, string, string]> = [
      [{}, "orrery", "must be { runtime } (from createOrrery) or { run }"],
      [{ orrery: { runtime }, tokens: [{ name: "ops", role: "operate", token: "short-secret" }] }, "tokens[0]", "must have a token of at least 16 printable characters"],
      [{ orrery: { runtime }, tokens: [{ name: "ops", role: "admin", token: "long-enough-secret-0123" }] }, "tokens[0]", "must have the role read or operate"],
      [
        { orrery: { runtime }, tokens: [{ name: "a", role: "read", token: "long-enough-secret-0123" }, { name: "b", role: "operate", token: "long-enough-secret-0123" }] },
        "tokens[1]",
        "repeats the name or the token"
      ],
      [{ orrery: { runtime }, rateLimit: { max: 0, windowMs: 1000 } }, "rateLimit.max", "must be a positive whole number"],
      [{ orrery: { runtime }, bodyLimit: -1 }, "bodyLimit", "must be a positive whole number"],
      [{ orrery: { runtime }, streams: { pollMs: 1.5 } }, "streams.pollMs", "must be a positive whole number"]
    ]
    for (const [options, option, message] of cases) {
      const { app } = hostApp()
      const failure = await app.register(orreryPlugin, { prefix: "/orrery", ...(options as { orrery: never }) }).ready().then(
        () => undefined,
        (error: unknown) => error
      )
      expect(failure).toBeInstanceOf(InvalidOrreryOptions)
      expect([(failure as InvalidOrreryOptions).option, (failure as InvalidOrreryOptions).message]).toEqual([option, expect.stringContaining(message)])
      expect((failure as Error).message).not.toContain("secret")
      await app.close()
    }
  })
})

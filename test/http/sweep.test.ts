/**
 * The bad-input sweep: thousands of generated malformed requests against a
 * live server — wrong types, missing and extra fields, huge bodies, wrong
 * content types, unknown ids and types, broken JSON, injection strings in ids,
 * bad query strings, bad tokens, garbage HTTP. Every answer must be JSON
 * `{error, message}` with one of the statuses documented for that case, never
 * a 5xx; and afterwards a good request still works.
 */
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { drivers } from "../support/drivers.js"
import { type TestServer, asOperator, asReader, client, eventually, startServer } from "./support.js"
import { flakyWorkflow } from "./workflows.js"

interface Case {
  readonly label: string
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  /** Sent as is; with no content-type given, as application/json. */
  readonly body?: string | Buffer
  readonly expect: ReadonlyArray<number>
  /** It creates what other cases expect to be absent (an instance whose id is an injection string): sent after them. */
  readonly creates?: true
}

/** A seeded generator: the same sweep every run. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
  return seed / 0x7fffffff
}

const wrongValues: ReadonlyArray<unknown> = [null, true, false, 0, -1, 1.5, "", " ", [], [1, 2], {}, { nested: { deep: [1] } }, "x".repeat(10_000), "\u0000", "😀", -0]
const injections: ReadonlyArray<string> = [
  "' OR '1'='1",
  "1; DROP TABLE orrery.events; --",
  "\"; select pg_sleep(10); --",
  "../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "<script>alert(1)</script>",
  "${jndi:ldap://x/a}",
  "{{7*7}}",
  "%00",
  "\u0000",
  "a\u0000b",
  "\r\nX-Injected: 1",
  "-leading-dash",
  ".dot",
  "a b",
  "a+b",
  "é",
  "😀",
  "x".repeat(129),
  "x".repeat(300),
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "a/b",
  "a?b=c",
  "a#b",
  "a;b",
  "a,b",
  "a*b",
  "$where",
  "{\"$gt\":\"\"}",
  "1' AND SLEEP(5)#",
  "\\x00",
  "%",
  "%%",
  "`id`",
  "$(id)",
  "|id",
  "~"
]
const contentTypes = ["text/plain", "application/xml", "text/html", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/octet-stream", "image/png", "application/jsonx", "json", "application/vnd.api+json"]
const brokenJson = ['{"input":', "{'input':1}", '{"input":1,}', "NaN", "{input:1}", '{"a":1}{"b":2}', "[", "}", '"unterminated', "tru", "{\"input\":\u0001}", '{"__proto__":{"polluted":1},"input":{}}', '{"constructor":{"prototype":{"x":1}},"input":{}}', "\u00ff\u00fe", "0x10", "{\"input\":{\"amount\":1e999999}}"]

const buildCases = (finalId: string, idleId: string): Array<Case> => {
  const next = random(42)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  const json = (value: unknown) => JSON.stringify(value)
  const cases: Array<Case> = []
  const add = (c: Case) => cases.push(c)
  const instanceRoutes = (type: string, id: string) => [
    { method: "GET", path: `/workflows/${type}/${id}` },
    { method: "GET", path: `/workflows/${type}/${id}/history` },
    { method: "GET", path: `/workflows/${type}/${id}/stream` },
    { method: "POST", path: `/workflows/${type}/${id}/events`, body: json({ type: "GO" }) },
    { method: "POST", path: `/workflows/${type}/${id}/cancel`, body: json({ reason: "sweep" }) },
    { method: "POST", path: `/workflows/${type}/${id}/retry` }
  ]
  const postRoutes = ["/workflows/payment", `/workflows/flaky/${idleId}/events`, `/workflows/flaky/${idleId}/cancel`, `/workflows/flaky/${idleId}/retry`]

  // Wrong types in the start body: the id, the body itself, the input, extra fields.
  for (const value of wrongValues) {
    add({ label: `start id ${json(value)?.slice(0, 20)}`, method: "POST", path: "/workflows/payment", body: json({ id: value, input: { amount: 1 } }), expect: [400] })
    if (typeof value !== "object" || value === null || Array.isArray(value)) add({ label: "start body not an object", method: "POST", path: "/workflows/payment", body: json(value), expect: [400] })
    add({ label: "start input wrong", method: "POST", path: "/workflows/payment", body: json({ input: typeof value === "number" && value > 0 ? { amount: -value } : value }), expect: [400] })
    add({ label: "start amount wrong", method: "POST", path: "/workflows/payment", body: json({ input: { amount: typeof value === "number" && value > 0 ? -value : value } }), expect: [400] })
    add({ label: "start extra field", method: "POST", path: "/workflows/payment", body: json({ input: { amount: 1 }, extra: value }), expect: [400] })
    // A string type is well formed: the state then refuses it (409) unless it is too long for the schema.
    const typeIsText = typeof value === "string" && value.length >= 1 && value.length <= 200
    add({ label: "event type wrong", method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ type: value }), expect: typeIsText ? [409] : [400] })
    add({ label: "event payload wrong", method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ type: "CONFIGURE", apiKey: typeof value === "string" && value.length >= 4 ? 4 : value }), expect: [400] })
    add({ label: "cancel reason wrong", method: "POST", path: `/workflows/flaky/${idleId}/cancel`, body: json({ reason: typeof value === "string" && value.length > 0 && value.length <= 1000 ? 7 : value }), expect: [400] })
    add({ label: "cancel extra field", method: "POST", path: `/workflows/flaky/${idleId}/cancel`, body: json({ reason: "x", because: value }), expect: [400] })
  }
  // Missing fields.
  add({ label: "start without input", method: "POST", path: "/workflows/payment", body: json({ id: "sweep-missing" }), expect: [400] })
  add({ label: "event without type", method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ apiKey: "abcd" }), expect: [400] })
  add({ label: "event missing payload field", method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ type: "CONFIGURE" }), expect: [400] })
  add({ label: "empty json body", method: "POST", path: "/workflows/payment", body: "", expect: [400] })
  // Events a state does not take, and anything sent to a final instance.
  for (const type of ["NOPE", "xstate.init", "xstate.done.actor.work", "DELIVERED"]) {
    add({ label: `event ${type} not accepted`, method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ type }), expect: [409] })
  }
  // Names every object inherits: refused by the schema (the engine would look them up as schemas).
  for (const type of ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf"]) {
    add({ label: `event ${type} refused`, method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ type }), expect: [400] })
  }
  // Text Postgres cannot store, inside otherwise valid requests: refused, nothing written.
  add({ label: "NUL in an event payload", method: "POST", path: `/workflows/flaky/${idleId}/events`, body: json({ type: "CONFIGURE", apiKey: "abcd", note: "a\u0000b" }), expect: [400] })
  add({ label: "NUL in a start input", method: "POST", path: "/workflows/flaky", body: json({ id: "sweep-nul", input: { paymentToken: "a\u0000b" } }), expect: [400] })
  add({ label: "NUL in a cancel reason", method: "POST", path: `/workflows/flaky/${idleId}/cancel`, body: json({ reason: "a\u0000b" }), expect: [400] })
  const cursorOf = (parts: ReadonlyArray<string>) => Buffer.from(JSON.stringify(parts)).toString("base64url")
  for (const parts of [["2020-01-01T00:00:00.000Z", "a\u0000b", "c"], ["not a date", "a", "b"], ["2020-01-01", "a"], ["2020-01-01T00:00:00.000Z", "flaky", "x\u0000"]]) {
    add({ label: `forged cursor ${JSON.stringify(parts)}`, method: "GET", path: `/workflows?cursor=${cursorOf(parts)}`, expect: [400] })
  }
  // Random events to a final instance: 400 when the payload is wrong, else 409.
  for (let n = 0; n < 500; n++) {
    const event: Record<string, unknown> = { type: pick(["GO", "CONFIGURE", "NOPE", "CANCEL", "DELIVERED"]) }
    for (let k = 0; k < Math.floor(next() * 4); k++) event[pick(["apiKey", "note", "reason", "x", "amount"])] = pick(wrongValues)
    add({ label: "fuzz event to final instance", method: "POST", path: `/workflows/flaky/${finalId}/events`, body: json(event), expect: [400, 409] })
  }
  // Random start bodies with a field the schema does not allow.
  for (let n = 0; n < 300; n++) {
    const body: Record<string, unknown> = { input: pick(wrongValues), [pick(["name", "ID", "Input", "type", "meta", "x"])]: pick(wrongValues) }
    add({ label: "fuzz start body", method: "POST", path: "/workflows/payment", body: json(body), expect: [400] })
  }
  // Huge bodies: over the 1 MiB limit.
  for (const path of postRoutes) {
    for (const size of [1024 * 1024 + 1, 2 * 1024 * 1024, 5 * 1024 * 1024]) {
      add({ label: `huge body ${size}`, method: "POST", path, body: json({ input: { amount: 1, pad: "x".repeat(size) } }), expect: [413] })
    }
  }
  // Wrong content types, on every POST route.
  for (const path of postRoutes) {
    for (const type of contentTypes) add({ label: `content-type ${type}`, method: "POST", path, headers: { "content-type": type }, body: json({ input: { amount: 1 } }), expect: [415] })
  }
  // Broken JSON, on every POST route.
  for (const path of postRoutes) {
    for (const text of brokenJson) add({ label: `broken json ${text.slice(0, 12)}`, method: "POST", path, body: text, expect: [400] })
  }
  // Unknown instances and unknown types.
  for (let n = 0; n < 25; n++) {
    const unknownId = `sweep-unknown-${n}-${Math.floor(next() * 1e9)}`
    for (const route of instanceRoutes("flaky", unknownId)) add({ label: `unknown id ${route.method} ${route.path}`, ...route, expect: [404] })
    for (const route of instanceRoutes("nosuchtype", unknownId)) add({ label: `unknown type ${route.method} ${route.path}`, ...route, expect: [404] })
  }
  add({ label: "start unknown type", method: "POST", path: "/workflows/nosuchtype", body: json({ input: {} }), expect: [404] })
  add({ label: "machine unknown type", method: "GET", path: "/machines/nosuchtype", expect: [404] })
  // Injection strings where ids go: refused by the id pattern (400), or no such route (404).
  // Some of these are well-formed identifiers ("null", "constructor"): then they are just unknown (404) or new (201).
  const isIdentifier = (text: string) => /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(text)
  const isText = (text: string) => /^[^\u0000-\u001f]{1,200}$/.test(text)
  // A state filter is a path of keys joined by dots: no empty key, no leading, trailing or double dot.
  const isStatePath = (text: string) => isText(text) && /^[^.\u0000-\u001f]+(\.[^.\u0000-\u001f]+)*$/.test(text)
  for (const text of injections) {
    const encoded = encodeURIComponent(text)
    for (const route of [...instanceRoutes("flaky", encoded), ...instanceRoutes(encoded, "x1")]) add({ label: `injection ${JSON.stringify(text).slice(0, 20)} ${route.method}`, ...route, expect: [400, 404] })
    add({ label: "injection in body id", method: "POST", path: "/workflows/flaky", body: json({ id: text, input: { paymentToken: "t" } }), expect: isIdentifier(text) ? [201] : [400], creates: true })
    add({ label: "injection in machine type", method: "GET", path: `/machines/${encoded}`, expect: [400, 404] })
    add({ label: "injection in list filter", method: "GET", path: `/workflows?type=${encoded}`, expect: isIdentifier(text) ? [200] : [400] })
    add({ label: "injection in list state", method: "GET", path: `/workflows?state=${encoded}&limit=1`, expect: isStatePath(text) ? [200] : [400] })
    add({ label: "injection in cursor", method: "GET", path: `/workflows?cursor=${encoded}`, expect: [400] })
    add({ label: "injection in event type filter", method: "GET", path: `/events?type=${encoded}&limit=1`, expect: text.length <= 2000 && text.split(",").every((part) => /^[^\u0000-\u001f]+$/.test(part)) ? [200] : [400] })
  }
  // Bad query strings.
  const badQueries: ReadonlyArray<[string, ReadonlyArray<string>]> = [
    ["/workflows", ["limit=0", "limit=-1", "limit=501", "limit=abc", "limit=1.5", "status=sleeping", "status=", "type=", "cursor=", "cursor=abc", "unknown=1", "limit=1&limit=2", "type=a%20b"]],
    ["/events", ["after=abc", "after=1", "after=1.x", "after=-1.1", "limit=0", "limit=1001", "limit=x", "type=", "type=a,,b", "type=,", "bogus=1"]],
    [`/workflows/flaky/${idleId}/stream`, ["after=-1", "after=x", "after=1.5", "nope=1"]]
  ]
  for (const [path, queries] of badQueries) for (const query of queries) add({ label: `query ${path}?${query}`, method: "GET", path: `${path}?${query}`, expect: [400] })
  for (const query of ["wait=now", "wait=settled&timeout=forever", "wait=settled&timeout=-1s", "wait=settled&timeout=99999999", "wait=settled&timeout=600s", "timeout=5s", "wait=", "other=1"]) {
    add({ label: `send query ${query}`, method: "POST", path: `/workflows/flaky/${finalId}/events?${query}`, body: json({ type: "GO" }), expect: [400] })
  }
  // Headers.
  for (const key of ["", "x".repeat(201), "has space", "tab\tkey"]) {
    add({ label: `idempotency key ${key.slice(0, 10)}`, method: "POST", path: "/workflows/payment", headers: { "idempotency-key": key }, body: json({ input: { amount: 1 } }), expect: [400] })
  }
  add({ label: "bad last-event-id", method: "GET", path: `/workflows/flaky/${idleId}/stream`, headers: { "last-event-id": "abc" }, expect: [400] })
  // Auth: no token, wrong tokens, the read role on operate routes.
  const everyRoute = [...instanceRoutes("flaky", idleId), { method: "POST", path: "/workflows/flaky", body: json({ input: { paymentToken: "t" } }) }, { method: "GET", path: "/workflows" }, { method: "GET", path: "/machines" }, { method: "GET", path: "/events" }, { method: "GET", path: "/metrics" }]
  for (const route of everyRoute) {
    for (const authorization of ["", "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer read-token-0123456789abcdeF", `Bearer ${"x".repeat(4000)}`]) {
      add({ label: `auth ${authorization.slice(0, 12)} ${route.method} ${route.path}`, ...route, headers: { authorization }, expect: [401] })
    }
    if (route.method === "POST") add({ label: `reader ${route.path}`, ...route, headers: asReader, expect: [403] })
  }
  // Routes and methods that do not exist (no CORS preflight either).
  for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS"]) {
    for (const path of ["/workflows/payment", `/workflows/flaky/${idleId}`, "/machines", "/events", "/metrics"]) add({ label: `${method} ${path}`, method, path, expect: [404] })
  }
  for (const path of ["/", "/workflow", "/workflows/payment/x/y/z", "/admin", "/.env", "/docs/../../etc/passwd", "/workflows//events", "/machines/payment/extra"]) add({ label: `no route ${path}`, method: "GET", path, expect: [404, 400] })
  // Broken percent-encoding in the path.
  for (const path of ["/workflows/payment/%E0%A4%A", "/workflows/payment/%", "/workflows/%ZZ/x", "/machines/%C0%AF"]) add({ label: `bad url ${path}`, method: "GET", path, expect: [400] })
  return cases
}

/** One request on a fresh socket, bytes exactly as given: Node's parser refusals answer here. */
const raw = (port: number, text: string): Promise<{ status: number; headers: string; body: string }> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let data = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (data += chunk))
    socket.on("error", reject)
    socket.on("close", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n")
      resolve({ status: Number(head.split(" ")[1]), headers: head, body })
    })
    socket.write(text)
    setTimeout(() => socket.end(), 200)
  })

describe.each(drivers)("bad-input sweep on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [paymentWorkflow(new Gateway()), flakyWorkflow], { rateLimit: { max: 1_000_000, windowMs: 60_000 }, logLevel: "warn" })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("answers 2,000+ malformed requests with JSON errors of the documented statuses, never a 5xx, and still serves a good request", async () => {
    const http = client(server, "live")
    await http("POST", "/workflows/flaky", { body: { id: "sweep-final", input: { paymentToken: "t" } } })
    await http("POST", "/workflows/flaky/sweep-final/cancel", { body: { reason: "final" } })
    await http("POST", "/workflows/flaky", { body: { id: "sweep-idle", input: { paymentToken: "t" } } })
    const before = (await http("GET", "/workflows/flaky/sweep-idle/history")).json.items.length

    const cases = buildCases("sweep-final", "sweep-idle")
    expect(cases.length).toBeGreaterThanOrEqual(2000)
    const failures: Array<string> = []
    const statuses = new Map<number, number>()
    // Cases that create instances go last, once the others have all been answered: eight requests run at
    // once, and an injection id started as a new instance is no longer unknown to a route sent after it.
    let index = 0
    let phase: ReadonlyArray<Case> = []
    const worker = async () => {
      while (index < phase.length) {
        const c = phase[index++]!
        const headers: Record<string, string> = { ...asOperator, ...c.headers }
        if (c.body !== undefined && !("content-type" in headers)) headers["content-type"] = "application/json"
        if (headers.authorization === "") delete headers.authorization
        let status = 0
        let text = ""
        let type = ""
        try {
          const response = await fetch(`${server.url}${c.path}`, { method: c.method, headers, ...(c.body === undefined ? {} : { body: c.body }) })
          status = response.status
          type = response.headers.get("content-type") ?? ""
          text = await response.text()
        } catch (error) {
          failures.push(`${c.label}: request failed: ${String(error)}`)
          continue
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        let body: any
        try {
          body = JSON.parse(text)
        } catch {
          body = undefined
        }
        const isError = status >= 400
        const ok =
          status < 500 &&
          c.expect.includes(status) &&
          type.startsWith("application/json") &&
          body !== undefined &&
          (!isError || (typeof body.error === "string" && typeof body.message === "string" && !/\n\s+at /.test(text)))
        if (!ok) failures.push(`${c.label}: ${c.method} ${c.path.slice(0, 80)} → ${status} ${type} ${text.slice(0, 160)} (expected ${c.expect.join("/")})`)
      }
    }
    for (const creates of [false, true]) {
      phase = cases.filter((c) => (c.creates === true) === creates)
      index = 0
      await Promise.all(Array.from({ length: 8 }, worker))
    }
    console.log(`sweep on ${driver}: ${cases.length} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)
    expect(failures.slice(0, 20)).toEqual([])
    expect([...statuses.keys()].every((status) => status < 500)).toBe(true)

    // Node's own parser refusals: oversized headers, a huge URL, garbage instead of HTTP.
    const port = Number(new URL(server.url).port)
    const refusals = [
      await raw(port, `GET /machines HTTP/1.1\r\nHost: x\r\nX-Big: ${"x".repeat(20_000)}\r\n\r\n`),
      await raw(port, `GET /workflows/flaky/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
      await raw(port, "THIS IS NOT HTTP\r\n\r\n"),
      await raw(port, "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
    ]
    expect(refusals.map((answer) => answer.status)).toEqual([431, 431, 400, 400])
    for (const answer of refusals) {
      expect(answer.headers).toMatch(/content-type: application\/json/i)
      expect(JSON.parse(answer.body)).toEqual({ error: expect.any(String), message: expect.any(String) })
    }

    // Nothing the sweep sent changed the instances it aimed at.
    expect((await http("GET", "/workflows/flaky/sweep-idle/history")).json.items.length).toBe(before)
    expect((await http("GET", "/workflows/flaky/sweep-final")).json.status).toBe("cancelled")
    // And a good request still works.
    const started = await http("POST", "/workflows/payment", { body: { id: "after-sweep", input: { amount: 9 } } })
    expect(started.status).toBe(201)
    const shipped = await eventually(() => http("GET", "/workflows/payment/after-sweep"), (answer) => answer.json.state === "shipped")
    expect(shipped.json.context).toMatchObject({ amount: 9, trackingId: expect.stringMatching(/^trk-/) })
  })
})

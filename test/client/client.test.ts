/**
 * `orrery/client` against a real server listening on 127.0.0.1, on both
 * drivers: the example end to end, starts (idempotent or refused),
 * handles on existing instances, lists with filters and pages, cancel and
 * retry, `result()` in every outcome, auth, and every refusal arriving as its
 * typed class with its fields and status.
 */
import { type AddressInfo, createServer } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type HttpClient,
  EventNotAccepted,
  InstanceExists,
  InstanceFinal,
  InstanceNotFound,
  InvalidEvent,
  NothingToRetry,
  OrreryHttpError,
  OrreryUnreachable,
  ResultTimeout,
  StoreUnavailable,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowNotFound,
  createClient,
  httpStatus
} from "../../src/client.js"
import type { DatabaseShape } from "../../src/log/index.js"
import { asOperator, call, operateToken, readToken, startServer, type TestServer } from "../http/support.js"
import { drivers } from "../support/drivers.js"
import { mail, signupWorkflow, workflows } from "./signup.js"

/** A database that can be cut off (a refused connection) or broken (an error that is nobody's fault but the server's). */
const switchable = () => {
  const state = { mode: "ok" as "ok" | "refused" | "broken" }
  const fail = () =>
    Promise.reject(
      state.mode === "refused"
        ? Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })
        : Object.assign(new Error("internal error in the storage"), { code: "XX000" })
    )
  const wrap = (db: DatabaseShape): DatabaseShape => ({
    driver: db.driver,
    location: db.location,
    query: (text, params) => (state.mode === "ok" ? db.query(text, params) : fail()),
    exec: (text) => (state.mode === "ok" ? db.exec(text) : fail()),
    transaction: (work) => (state.mode === "ok" ? db.transaction(work) : fail()),
    listen: (channel, onNotify) => db.listen(channel, onNotify)
  })
  return { state, wrap }
}

interface Exchange {
  readonly method: string
  readonly url: string
  readonly headers: Headers
  readonly status: number
}

/** `fetch` that notes every exchange, for what the server cannot tell (headers sent, statuses of chained waits). */
const recording = () => {
  const exchanges: Array<Exchange> = []
  const fetchAndNote: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    exchanges.push({ method: init?.method ?? "GET", url: String(input), headers: new Headers(init?.headers), status: response.status })
    return response
  }
  return { exchanges, fetch: fetchAndNote }
}

/** A loopback port nothing listens on: one the system just handed out and took back. */
const closedPort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })

/** The rejection of `promise`, which must reject. */
const refusal = async (promise: Promise<unknown>): Promise<any> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

describe.each(drivers)("orrery/client on %s", (driver) => {
  let server: TestServer
  let client: HttpClient<typeof workflows>
  const database = switchable()

  beforeAll(async () => {
    // Each result wait is cut at 1 s, so that longer ones are chained by the client.
    server = await startServer(driver, [...workflows], { maxSettleMs: 1000 }, { wrapDatabase: database.wrap })
    client = createClient<typeof workflows>({ url: server.url, token: operateToken })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("runs the issue's example: start, send, get, result, a handle, a list", async () => {
    const signup = await client.start("signup", { email: "a@example.com" }, { id: "s-1", idempotencyKey: "k-1" })
    expect(signup).toMatchObject({ type: "signup", id: "s-1", created: true })
    expect(signup.instance).toMatchObject({ id: "s-1", type: "signup", status: "running", state: "waiting", streamVersion: expect.any(Number) })
    expect(signup.instance.context).toEqual({ email: "a@example.com", expiresInMs: 86_400_000, resends: 0, code: null, welcomeId: null })
    expect(signup.instance.createdAt).toBeInstanceOf(Date)

    const sent = await signup.send({ type: "CONFIRM", code: "123456" })
    expect(sent.context.code).toBe("123456")
    expect(sent.streamVersion).toBeGreaterThan(signup.instance.streamVersion)
    const view = await signup.get()
    expect(view).toMatchObject({ id: "s-1", type: "signup", machineVersion: 1 })
    expect(["welcoming", "welcomed"]).toContain(view.state)
    expect(view.updatedAt).toBeInstanceOf(Date)
    expect(view.updatedAt.getTime()).toBeGreaterThanOrEqual(view.createdAt.getTime())

    const output = await signup.result({ timeout: "30s" })
    expect(output).toEqual({ email: "a@example.com", confirmed: true, resends: 0, welcomeId: "msg-a@example.com" })

    const again = client.handle("signup", "s-1")
    const done = await again.get()
    expect(done).toMatchObject({ status: "done", state: "welcomed", output })
    // What the client reads is what the API answers, times as Dates.
    const raw = (await call(server, "GET", "/workflows/signup/s-1", { headers: asOperator })).json
    expect({ ...done, createdAt: done.createdAt.toISOString(), updatedAt: done.updatedAt.toISOString() }).toEqual(raw)
    expect(await again.result()).toEqual(output)

    const history = await again.history()
    expect(history.map((entry) => entry.streamVersion)).toEqual(history.map((_, index) => index + 1))
    expect(history.every((entry) => entry.time instanceof Date)).toBe(true)
    expect(history.filter((entry) => entry.kind === "input").map((entry) => entry.type)).toEqual(["workflow.started", "workflow.event_received", "activity.completed"])
    const rawHistory = (await call(server, "GET", "/workflows/signup/s-1/history", { headers: asOperator })).json.items
    expect(history.map((entry) => ({ ...entry, time: entry.time.toISOString() }))).toEqual(rawHistory)

    const page = await client.list({ type: "signup", status: "running" })
    expect(page.items.every((item) => item.type === "signup" && item.status === "running")).toBe(true)
    expect(page.items.map((item) => item.id)).not.toContain("s-1")
    expect((await client.list({ type: "signup", status: "done" })).items.map((item) => item.id)).toContain("s-1")
  })

  it("starts idempotently with a key, refuses a second start of the same id with InstanceExists, and starts from a definition", async () => {
    const first = await client.start("signup", { email: "b@example.com" }, { id: "s-idem", idempotencyKey: "key-idem" })
    const second = await client.start("signup", { email: "b@example.com" }, { id: "s-idem", idempotencyKey: "key-idem" })
    expect(first.created).toBe(true)
    expect(second.created).toBe(false)
    expect(second.instance).toEqual(await first.get())
    // The key alone finds it, whatever id would have been drawn.
    const third = await client.start("signup", { email: "b@example.com" }, { idempotencyKey: "key-idem" })
    expect(third).toMatchObject({ id: "s-idem", created: false })

    const exists = await refusal(client.start("signup", { email: "b@example.com" }, { id: "s-idem" }))
    expect(exists).toBeInstanceOf(InstanceExists)
    expect(exists).toMatchObject({ _tag: "InstanceExists", workflowType: "signup", instanceId: "s-idem" })
    expect(httpStatus(exists)).toBe(409)

    // A definition names its type; nothing of it but the name is sent.
    const untyped = createClient({ url: server.url, token: operateToken })
    const byDefinition = await untyped.start(signupWorkflow, { email: "c@example.com" })
    expect(byDefinition).toMatchObject({ type: "signup", created: true })
    expect(byDefinition.id).toMatch(/^[0-9a-f-]{36}$/)
    expect((await untyped.handle(signupWorkflow, byDefinition.id).get()).context.email).toBe("c@example.com")
  })

  it("gives a handle on an existing instance, from any client: send, get, pending, history, replay", async () => {
    await client.start("signup", { email: "d@example.com" }, { id: "s-handle" })
    const elsewhere = createClient<typeof workflows>({ url: `${server.url}/`, token: operateToken }).handle("signup", "s-handle")
    expect(elsewhere).toMatchObject({ type: "signup", id: "s-handle" })
    const resent = await elsewhere.send({ type: "RESEND" }, { correlationId: "corr-resend-1" })
    expect(resent).toMatchObject({ state: "waiting", context: { resends: 1 } })

    const pending = await elsewhere.pending()
    expect(pending).toHaveLength(1)
    expect(pending[0]).toMatchObject({ kind: "timer", lockedBy: null, leasedUntil: null })
    const view = await elsewhere.get()
    // The expiry timer is due a day after the start.
    expect(pending[0]!.dueAt).toBeInstanceOf(Date)
    expect(Math.abs(pending[0]!.dueAt.getTime() - view.createdAt.getTime() - 86_400_000)).toBeLessThan(60_000)

    const history = await elsewhere.history()
    expect(history.find((entry) => entry.metadata.correlationId === "corr-resend-1")).toBeDefined()

    await elsewhere.send({ type: "CONFIRM", code: "654321" })
    expect(await elsewhere.result()).toMatchObject({ confirmed: true, resends: 1 })
    const replayed = await elsewhere.replay()
    expect(replayed).toMatchObject({ recordedVersion: 1, machineVersion: 1, divergence: null })
    const inputs = (await elsewhere.history()).filter((entry) => entry.kind === "input")
    expect(replayed.steps.map((step) => step.input)).toEqual(inputs)
    expect(replayed.steps.at(-1)!.state).toBe("welcomed")
    expect(replayed.steps.map((step) => step.state)).toEqual(inputs.map((entry) => entry.metadata.state))
  })

  it("lists with filters by type, status and state, newest first, page by page", async () => {
    for (const n of [1, 2, 3, 4, 5]) await client.start("newsletter", { email: `n${n}@example.com` }, { id: `n-${n}` })
    await client.handle("newsletter", "n-1").send({ type: "CONFIRM", code: "111111" })
    await client.handle("newsletter", "n-2").send({ type: "CONFIRM", code: "222222" })
    await client.handle("newsletter", "n-3").cancel("unsubscribed")
    await client.handle("newsletter", "n-1").result()
    await client.handle("newsletter", "n-2").result()

    const all = await client.list({ type: "newsletter" })
    expect(all.items.map((item) => item.id).sort()).toEqual(["n-1", "n-2", "n-3", "n-4", "n-5"])
    expect(all.nextCursor).toBeNull()
    const times = all.items.map((item) => item.createdAt.getTime())
    expect(times).toEqual([...times].sort((a, b) => b - a))

    const ids = async (filter: Parameters<typeof client.list>[0]) => (await client.list(filter)).items.map((item) => item.id).sort()
    expect(await ids({ type: "newsletter", status: "running" })).toEqual(["n-4", "n-5"])
    expect(await ids({ type: "newsletter", status: "done" })).toEqual(["n-1", "n-2"])
    expect(await ids({ type: "newsletter", status: "cancelled" })).toEqual(["n-3"])
    // A cancelled instance keeps the state it was in.
    expect(await ids({ type: "newsletter", state: "waiting" })).toEqual(["n-3", "n-4", "n-5"])
    expect(await ids({ type: "newsletter", state: "welcomed" })).toEqual(["n-1", "n-2"])
    expect(await ids({ type: "newsletter", status: "failed" })).toEqual([])

    const pages: Array<Array<string>> = []
    let cursor: string | undefined
    do {
      const page = await client.list({ type: "newsletter", limit: 2, ...(cursor === undefined ? {} : { cursor }) })
      pages.push(page.items.map((item) => item.id))
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1])
    expect(pages.flat()).toEqual(all.items.map((item) => item.id))
  })

  it("cancels (the reason is recorded; a second cancel is InstanceFinal) and retries a failed activity (NothingToRetry when nothing failed)", async () => {
    const leaving = await client.start("signup", { email: "e@example.com" }, { id: "s-cancel" })
    const cancelled = await leaving.cancel("changed my mind", { correlationId: "corr-cancel-1" })
    expect(cancelled).toMatchObject({ status: "cancelled", failure: { reason: "changed my mind" } })
    const history = await leaving.history()
    expect(history.some((entry) => entry.metadata.correlationId === "corr-cancel-1")).toBe(true)
    const final = await refusal(leaving.cancel())
    expect(final).toBeInstanceOf(InstanceFinal)
    expect(final).toMatchObject({ _tag: "InstanceFinal", workflowType: "signup", instanceId: "s-cancel", status: "cancelled" })
    expect(httpStatus(final)).toBe(409)

    mail.bouncing.add("f@example.com")
    const bouncing = await client.start("signup", { email: "f@example.com" }, { id: "s-retry" })
    const nothing = await refusal(bouncing.retry())
    expect(nothing).toBeInstanceOf(NothingToRetry)
    expect(nothing).toMatchObject({ _tag: "NothingToRetry", workflowType: "signup", instanceId: "s-retry" })
    expect(httpStatus(nothing)).toBe(409)
    await bouncing.send({ type: "CONFIRM", code: "123123" })
    const failed = await refusal(bouncing.result({ timeout: "20s" }))
    expect(failed).toBeInstanceOf(WorkflowFailed)
    expect(failed).toMatchObject({ _tag: "WorkflowFailed", workflowType: "signup", instanceId: "s-retry" })
    expect(failed.failure).toMatchObject({ activity: { src: "welcome", error: { _tag: "MailBounced", email: "f@example.com" } } })
    expect((await bouncing.get()).status).toBe("failed")

    mail.bouncing.delete("f@example.com")
    const retried = await bouncing.retry()
    expect(retried.status).toBe("running")
    expect(await bouncing.result({ timeout: "20s" })).toEqual({ email: "f@example.com", confirmed: true, resends: 0, welcomeId: "msg-f@example.com" })
  })

  it("result() resolves after a timer, chaining waits the server cuts short; rejects with WorkflowCancelled; times out with ResultTimeout", async () => {
    const recorder = recording()
    const watching = createClient<typeof workflows>({ url: server.url, token: operateToken, fetch: recorder.fetch })
    // Expires 2.5 s after the start: longer than one server-side wait (1 s here).
    const expiring = await watching.start("signup", { email: "g@example.com", expiresInMs: 2500 }, { id: "s-expire" })
    expect(await expiring.result({ timeout: "1m" })).toEqual({ email: "g@example.com", confirmed: false, resends: 0, welcomeId: null })
    expect((await expiring.get()).state).toBe("expired")
    const waits = recorder.exchanges.filter((exchange) => exchange.url.includes("/workflows/signup/s-expire/result"))
    expect(waits.length).toBeGreaterThanOrEqual(2)
    expect(waits.slice(0, -1).every((exchange) => exchange.status === 202)).toBe(true)
    expect(waits.at(-1)!.status).toBe(200)

    const pending = await watching.start("signup", { email: "h@example.com" }, { id: "s-wait" })
    const waiting = pending.result({ timeout: "30s" })
    await pending.cancel("nobody came")
    const cancelled = await refusal(waiting)
    expect(cancelled).toBeInstanceOf(WorkflowCancelled)
    expect(cancelled).toMatchObject({ _tag: "WorkflowCancelled", workflowType: "signup", instanceId: "s-wait", reason: "nobody came" })

    const slow = await watching.start("signup", { email: "i@example.com" }, { id: "s-slow" })
    const timedOut = await refusal(slow.result({ timeout: 300 }))
    expect(timedOut).toBeInstanceOf(ResultTimeout)
    expect(timedOut).toMatchObject({ _tag: "ResultTimeout", workflowType: "signup", instanceId: "s-slow", timeoutMs: 300 })
    const chained = await refusal(slow.result({ timeout: "1500ms" }))
    expect(chained).toMatchObject({ _tag: "ResultTimeout", timeoutMs: 1500 })
    expect((await slow.get()).status).toBe("running")
    await expect(slow.result({ timeout: "soon" })).rejects.toBeInstanceOf(RangeError)
  })

  it("answers every engine refusal as the engine's own class, with its fields and the HTTP status", async () => {
    const untyped = createClient({ url: server.url, token: operateToken })
    await client.start("signup", { email: "j@example.com" }, { id: "s-refusals" })

    const unknownType = await refusal(untyped.start("signin", { email: "j@example.com" }))
    expect(unknownType).toBeInstanceOf(WorkflowNotFound)
    expect({ ...unknownType }).toEqual({ _tag: "WorkflowNotFound", workflowType: "signin" })
    expect(unknownType.message).toBe("no workflow type signin")
    expect(httpStatus(unknownType)).toBe(404)
    const unknownMachine = await refusal(untyped.machine("signin"))
    expect(unknownMachine).toBeInstanceOf(WorkflowNotFound)

    const missing = await refusal(client.handle("signup", "ghost").get())
    expect(missing).toBeInstanceOf(InstanceNotFound)
    expect({ ...missing }).toEqual({ _tag: "InstanceNotFound", workflowType: "signup", instanceId: "ghost" })
    expect(missing.message).toBe(new InstanceNotFound({ workflowType: "signup", instanceId: "ghost" }).message)
    expect(httpStatus(missing)).toBe(404)
    for (const read of [() => client.handle("signup", "ghost").history(), () => client.handle("signup", "ghost").result(), () => client.handle("signup", "ghost").replay()]) {
      expect(await refusal(read())).toBeInstanceOf(InstanceNotFound)
    }

    const notAccepted = await refusal(untyped.handle("signup", "s-refusals").send({ type: "FLY" }))
    expect(notAccepted).toBeInstanceOf(EventNotAccepted)
    expect({ ...notAccepted }).toEqual({ _tag: "EventNotAccepted", eventType: "FLY", state: "waiting", accepted: ["CONFIRM", "RESEND"] })
    expect(httpStatus(notAccepted)).toBe(409)

    const badPayload = await refusal(client.handle("signup", "s-refusals").send({ type: "CONFIRM", code: "abc" }))
    expect(badPayload).toBeInstanceOf(InvalidEvent)
    expect(badPayload).toMatchObject({ _tag: "InvalidEvent", eventType: "CONFIRM", field: "code", reason: expect.stringContaining("six digits") })
    expect(httpStatus(badPayload)).toBe(400)
    const badInput = await refusal(untyped.start("signup", { email: 7 }))
    expect(badInput).toBeInstanceOf(InvalidEvent)
    expect(badInput).toMatchObject({ field: "input.email" })

    await client.handle("signup", "s-refusals").cancel()
    const final = await refusal(client.handle("signup", "s-refusals").send({ type: "RESEND" }))
    expect(final).toBeInstanceOf(InstanceFinal)
    expect({ ...final }).toEqual({ _tag: "InstanceFinal", workflowType: "signup", instanceId: "s-refusals", status: "cancelled" })

    // Refused by the request's schema before the engine: the client's own error, with the field.
    const badId = await refusal(client.start("signup", { email: "j@example.com" }, { id: "not an id!" }))
    expect(badId).toBeInstanceOf(OrreryHttpError)
    expect(badId).toMatchObject({ _tag: "OrreryHttpError", status: 400, error: "ValidationError", details: { field: "id" } })
  })

  it("answers a database that is down with StoreUnavailable (503) and a server fault with OrreryHttpError 500", async () => {
    await client.start("signup", { email: "k@example.com" }, { id: "s-db" })
    database.state.mode = "refused"
    try {
      const down = await refusal(client.handle("signup", "s-db").get())
      expect(down).toBeInstanceOf(StoreUnavailable)
      expect(down).toMatchObject({ _tag: "StoreUnavailable", location: server.url, message: "the database is unavailable; try again later" })
      expect(httpStatus(down)).toBe(503)
      expect(await client.ready()).toEqual({ ready: false, reason: "the database does not answer" })
      database.state.mode = "broken"
      const fault = await refusal(client.handle("signup", "s-db").get())
      expect(fault).toBeInstanceOf(OrreryHttpError)
      expect(fault).toMatchObject({ status: 500, error: "InternalError", details: { errorId: expect.any(String) } })
      expect(fault.message).toContain(fault.details.errorId)
    } finally {
      database.state.mode = "ok"
    }
    expect(await client.ready()).toEqual({ ready: true, migrations: { log: expect.any(Number), engine: expect.any(Number) } })
    expect((await client.handle("signup", "s-db").get()).status).toBe("running")
  })

  it("sends the token as a bearer; answers 401 and 403 with OrreryHttpError; lets the read role read and wait", async () => {
    const recorder = recording()
    const operator = createClient<typeof workflows>({ url: server.url, token: operateToken, fetch: recorder.fetch, headers: { "x-team": "billing" } })
    await operator.start("signup", { email: "l@example.com" }, { id: "s-auth", idempotencyKey: "key-auth", correlationId: "corr-auth" })
    const [sent] = recorder.exchanges
    expect(sent!.headers.get("authorization")).toBe(`Bearer ${operateToken}`)
    expect(sent!.headers.get("x-team")).toBe("billing")
    expect(sent!.headers.get("idempotency-key")).toBe("key-auth")
    expect(sent!.headers.get("x-correlation-id")).toBe("corr-auth")

    const anonymous = await refusal(createClient({ url: server.url }).list())
    expect(anonymous).toBeInstanceOf(OrreryHttpError)
    expect(anonymous).toMatchObject({ _tag: "OrreryHttpError", status: 401, error: "Unauthorized" })
    expect(httpStatus(anonymous)).toBe(401)
    const wrong = await refusal(createClient({ url: server.url, token: "not-a-token" }).handle("signup", "s-auth").get())
    expect(wrong).toMatchObject({ _tag: "OrreryHttpError", status: 401, error: "Unauthorized", message: "the bearer token is not valid" })

    const reader = createClient<typeof workflows>({ url: server.url, token: readToken })
    const forbidden = await refusal(reader.start("signup", { email: "l@example.com" }))
    expect(forbidden).toBeInstanceOf(OrreryHttpError)
    expect(forbidden).toMatchObject({ status: 403, error: "Forbidden" })
    const readable = reader.handle("signup", "s-auth")
    expect((await readable.get()).state).toBe("waiting")
    expect(await refusal(readable.send({ type: "RESEND" }))).toMatchObject({ status: 403 })
    const waited = readable.result({ timeout: "20s" })
    await operator.handle("signup", "s-auth").send({ type: "CONFIRM", code: "999999" })
    expect(await waited).toMatchObject({ email: "l@example.com", confirmed: true })
    expect((await reader.list({ type: "signup", limit: 1 })).items).toHaveLength(1)
  })

  it("reads the catalogue, the census, the global log and the metrics", async () => {
    const machines = await client.machines()
    expect(machines.map((machine) => machine.type)).toEqual(["newsletter", "signup"])
    expect(machines[1]).toEqual({ type: "signup", kind: "saga", versions: [1], newestVersion: 1 })
    const graph = await client.machine("signup")
    expect(graph.versions[0]).toMatchObject({ version: 1, machineId: "signup", activities: ["welcome"] })
    expect(graph.versions[0]!.transitions.some((transition) => transition.trigger === "after" && transition.delay === "expiry")).toBe(true)

    await client.start("signup", { email: "m@example.com" }, { id: "s-census" })
    const census = await client.census("signup")
    const rows = (await call(server, "GET", "/machines/signup/states", { headers: asOperator })).json.items
    expect(census).toEqual(rows)
    expect(census.find((row) => row.status === "running" && row.state === "waiting")!.count).toBeGreaterThanOrEqual(1)

    const first = await client.events({ limit: 3 })
    expect(first.items).toHaveLength(3)
    expect(first.items[0]!.time).toBeInstanceOf(Date)
    const next = await client.events({ after: first.next, limit: 3 })
    expect(next.items[0]!.position).toBeGreaterThan(first.items[2]!.position)
    const started = await client.events({ types: ["workflow.started"], limit: 1000 })
    expect(started.items.length).toBeGreaterThan(0)
    expect(started.items.every((event) => event.type === "workflow.started")).toBe(true)
    expect(started.items.map((event) => event.streamId)).toContain("signup-s-census")

    expect(await client.metrics()).toMatch(/^orrery_tasks\{/m)
  })

  it("GET .../result is in the OpenAPI document; answers 202 at once with timeout=0, 200 when final, 400 for a timeout it cannot read", async () => {
    const spec = (await call(server, "GET", "/docs/json", { headers: asOperator })).json
    const operation = spec.paths["/workflows/{type}/{id}/result"].get
    expect(operation.operationId).toBe("awaitWorkflowResult")
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["200", "202", "401", "403", "404"]))
    expect(operation.parameters.map((parameter: any) => parameter.name)).toEqual(expect.arrayContaining(["type", "id", "timeout"]))

    await client.start("signup", { email: "o@example.com" }, { id: "s-route" })
    const running = await call(server, "GET", "/workflows/signup/s-route/result?timeout=0", { headers: asOperator })
    expect(running.status).toBe(202)
    expect(running.json).toMatchObject({ id: "s-route", status: "running", state: "waiting" })
    const unreadable = await call(server, "GET", "/workflows/signup/s-route/result?timeout=soon", { headers: asOperator })
    expect(unreadable.status).toBe(400)
    expect(unreadable.json).toMatchObject({ error: "ValidationError", details: { in: "querystring", field: "timeout" } })
    await client.handle("signup", "s-route").cancel("route test")
    const final = await call(server, "GET", "/workflows/signup/s-route/result?timeout=30s", { headers: asOperator })
    expect(final.status).toBe(200)
    expect(final.json).toMatchObject({ status: "cancelled", failure: { reason: "route test" } })
  })

  it("rejects with OrreryUnreachable when nothing listens, and OrreryHttpError for an answer that is not JSON", async () => {
    const port = await closedPort()
    const closed = await refusal(createClient({ url: `http://127.0.0.1:${port}` }).list())
    expect(closed).toBeInstanceOf(OrreryUnreachable)
    expect(closed).toMatchObject({ _tag: "OrreryUnreachable", url: `http://127.0.0.1:${port}/workflows` })
    expect(closed.message).toContain("ECONNREFUSED")
    expect(httpStatus(closed)).toBeUndefined()

    // A proxy in front of the server answers a page of HTML.
    const proxy: typeof fetch = async () => new Response("<html><body>502 Bad Gateway</body></html>", { status: 502, headers: { "content-type": "text/html" } })
    const gateway = await refusal(createClient({ url: server.url, fetch: proxy }).handle("signup", "s-1").get())
    expect(gateway).toMatchObject({ _tag: "OrreryHttpError", status: 502, error: "InvalidResponse" })
    const portal: typeof fetch = async () => new Response("<html>log in to the wifi</html>", { status: 200 })
    expect(await refusal(createClient({ url: server.url, fetch: portal }).list())).toMatchObject({ _tag: "OrreryHttpError", status: 200, error: "InvalidResponse" })
  })
})

describe.each(drivers)("result waits when the server shuts down, on %s", (driver) => {
  it(
    "ends the waits the server holds with 202 at once, and the client's next wait is refused instead of hanging",
    async () => {
      // The wait polls its instance's stream version: seeing that query means the wait is under way on the server.
      const polled: Array<string> = []
      const spy = (db: DatabaseShape): DatabaseShape => ({
        ...db,
        query: (text, params) => {
          if (text.includes("coalesce(max(stream_version), 0)")) polled.push(String(params?.[0]))
          return db.query(text, params)
        }
      })
      // Waits as long as 50 s are allowed: were shutdown to leave one running, close() would outlast this test's limit.
      const server = await startServer(driver, [...workflows], { maxSettleMs: 50_000 }, { wrapDatabase: spy })
      let closed = false
      try {
        await createClient<typeof workflows>({ url: server.url, token: operateToken }).start("signup", { email: "n@example.com" }, { id: "s-shutdown" })
        const recorder = recording()
        const watching = createClient<typeof workflows>({ url: server.url, token: operateToken, fetch: recorder.fetch }).handle("signup", "s-shutdown")
        const waiting = refusal(watching.result({ timeout: "1m" }))
        const deadline = Date.now() + 30_000
        while (!polled.includes("signup-s-shutdown")) {
          if (Date.now() > deadline) throw new Error("the result wait never started")
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        await server.app.close()
        closed = true
        const refused = await waiting
        expect(recorder.exchanges[0]).toMatchObject({ status: 202 })
        expect(refused._tag === "OrreryUnreachable" || (refused._tag === "OrreryHttpError" && refused.status === 503)).toBe(true)
      } finally {
        if (closed) await server.runtime.dispose()
        else await server.close()
      }
    },
    20_000
  )
})

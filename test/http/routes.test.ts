/** Every route, through `fastify.inject` and through a real socket, on both drivers; answers checked against what the engine recorded. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { drivers } from "../support/drivers.js"
import { type TestServer, asReader, client, eventually, startServer, transports } from "./support.js"
import { control, flakyWorkflow } from "./workflows.js"

describe.each(drivers)("HTTP routes on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [paymentWorkflow(new Gateway()), flakyWorkflow])
  })
  afterAll(async () => {
    await server?.close()
  })

  describe.each(transports)("over %s", (transport) => {
    const http = () => client(server, transport)
    const reader = () => client(server, transport, asReader)
    const id = (name: string) => `${transport}-${name}`

    it("POST /workflows/{type} starts an instance (201), and the same Idempotency-Key answers it again (200)", async () => {
      const started = await http()("POST", "/workflows/payment", { body: { id: id("p1"), input: { amount: 42 } } })
      expect(started.status).toBe(201)
      expect(started.json).toMatchObject({ id: id("p1"), type: "payment", machineVersion: 1, status: "running", state: "charging", context: { amount: 42 }, streamVersion: expect.any(Number) })
      expect(started.headers.location).toBe(`/workflows/payment/${id("p1")}`)

      const read = await reader()("GET", `/workflows/payment/${id("p1")}`)
      expect(read.status).toBe(200)
      expect(read.json).toMatchObject({ id: id("p1"), type: "payment", machineVersion: 1 })

      const first = await http()("POST", "/workflows/payment", { body: { input: { amount: 7 } }, headers: { "idempotency-key": id("key-1") } })
      const again = await http()("POST", "/workflows/payment", { body: { input: { amount: 7 } }, headers: { "idempotency-key": id("key-1") } })
      expect(first.status).toBe(201)
      expect(again.status).toBe(200)
      expect(again.json.id).toBe(first.json.id)
      expect(again.json.context).toMatchObject({ amount: 7 })
      const listed = await reader()("GET", "/workflows?type=payment&limit=500")
      expect(listed.json.items.filter((item: { id: string }) => item.id === first.json.id)).toHaveLength(1)
    })

    it("POST /workflows/{type} refuses a taken id (409), an unknown type (404), invalid input naming the field (400)", async () => {
      await http()("POST", "/workflows/flaky", { body: { id: id("taken"), input: { paymentToken: "tok_1" } } })
      const taken = await http()("POST", "/workflows/flaky", { body: { id: id("taken"), input: { paymentToken: "tok_1" } } })
      expect(taken.status).toBe(409)
      expect(taken.json).toMatchObject({ error: "InstanceExists", message: expect.stringContaining(id("taken")) })

      const unknown = await http()("POST", "/workflows/nope", { body: { input: {} } })
      expect(unknown.status).toBe(404)
      expect(unknown.json).toMatchObject({ error: "WorkflowNotFound" })

      const invalid = await http()("POST", "/workflows/payment", { body: { input: { amount: -1 } } })
      expect(invalid.status).toBe(400)
      expect(invalid.json).toMatchObject({ error: "InvalidEvent", details: { field: "input.amount" } })

      const missing = await http()("POST", "/workflows/payment", { body: { id: id("x") } })
      expect(missing.status).toBe(400)
      expect(missing.json).toMatchObject({ error: "ValidationError", details: { field: "input", reason: "is required" } })
    })

    it("GET /workflows/{type}/{id} answers 404 for an unknown instance and 400 for an id that cannot exist", async () => {
      const unknown = await reader()("GET", "/workflows/payment/never-started")
      expect(unknown.status).toBe(404)
      expect(unknown.json).toEqual({
        error: "InstanceNotFound",
        message: "no payment instance never-started",
        details: { workflowType: "payment", instanceId: "never-started" }
      })
      const malformed = await reader()("GET", `/workflows/payment/${encodeURIComponent("'; drop table x; --")}`)
      expect(malformed.status).toBe(400)
      expect(malformed.json).toMatchObject({ error: "ValidationError", details: { in: "params", field: "id" } })
    })

    it("POST .../events moves the instance; refuses with 409 what the state does not take and with 400 an invalid payload", async () => {
      await http()("POST", "/workflows/payment", { body: { id: id("p2"), input: { amount: 10 } } })
      await eventually(() => reader()("GET", `/workflows/payment/${id("p2")}`), (answer) => answer.json.state === "shipped")

      const refused = await http()("POST", `/workflows/payment/${id("p2")}/events`, { body: { type: "CANCEL", reason: "too late" } })
      expect(refused.status).toBe(409)
      expect(refused.json).toMatchObject({ error: "EventNotAccepted", state: "shipped", accepted: ["DELIVERED"] })

      const delivered = await http()("POST", `/workflows/payment/${id("p2")}/events`, { body: { type: "DELIVERED" } })
      expect(delivered.status).toBe(200)
      expect(delivered.json).toMatchObject({ status: "done", state: "delivered", output: { trackingId: expect.stringMatching(/^trk-/) } })

      const final = await http()("POST", `/workflows/payment/${id("p2")}/events`, { body: { type: "DELIVERED" } })
      expect(final.status).toBe(409)
      expect(final.json).toMatchObject({ error: "InstanceFinal" })

      await http()("POST", "/workflows/flaky", { body: { id: id("f1"), input: { paymentToken: "tok_2" } } })
      const invalid = await http()("POST", `/workflows/flaky/${id("f1")}/events`, { body: { type: "CONFIGURE", apiKey: 12 } })
      expect(invalid.status).toBe(400)
      expect(invalid.json).toMatchObject({ error: "InvalidEvent", details: { field: "apiKey" } })
      const noType = await http()("POST", `/workflows/flaky/${id("f1")}/events`, { body: { apiKey: "abcd" } })
      expect(noType.status).toBe(400)
      expect(noType.json).toMatchObject({ error: "ValidationError", details: { field: "type" } })
      const unknownType = await http()("POST", `/workflows/flaky/${id("f1")}/events`, { body: { type: "LAUNCH" } })
      expect(unknownType.status).toBe(409)
      expect(unknownType.json).toMatchObject({ error: "EventNotAccepted", state: "idle", accepted: ["CONFIGURE", "GO"] })
      const missingInstance = await http()("POST", "/workflows/flaky/not-there/events", { body: { type: "GO" } })
      expect(missingInstance.status).toBe(404)
    })

    it("POST .../events?wait=settled answers once the activity has run", async () => {
      control.failing = false
      await http()("POST", "/workflows/flaky", { body: { id: id("f2"), input: { paymentToken: "tok_3" } } })
      const runs = control.runs
      const settled = await http()("POST", `/workflows/flaky/${id("f2")}/events?wait=settled&timeout=10s`, { body: { type: "GO" } })
      expect(settled.status).toBe(200)
      expect(settled.json).toMatchObject({ status: "done", state: "done" })
      expect(control.runs).toBe(runs + 1)
      const badTimeout = await http()("POST", `/workflows/flaky/${id("f2")}/events?wait=settled&timeout=soon`, { body: { type: "GO" } })
      expect(badTimeout.status).toBe(400)
      expect(badTimeout.json.details).toMatchObject({ in: "querystring", field: "timeout" })
    })

    it("POST .../cancel cancels (200), then answers 409: already final", async () => {
      await http()("POST", "/workflows/flaky", { body: { id: id("c1"), input: { paymentToken: "tok_4" } } })
      const cancelled = await http()("POST", `/workflows/flaky/${id("c1")}/cancel`, { body: { reason: "changed my mind" } })
      expect(cancelled.status).toBe(200)
      expect(cancelled.json).toMatchObject({ status: "cancelled", failure: { reason: "changed my mind" } })
      const again = await http()("POST", `/workflows/flaky/${id("c1")}/cancel`, { body: { reason: "twice" } })
      expect(again.status).toBe(409)
      expect(again.json).toMatchObject({ error: "InstanceFinal" })

      await http()("POST", "/workflows/flaky", { body: { id: id("c2"), input: { paymentToken: "tok_5" } } })
      const noBody = await http()("POST", `/workflows/flaky/${id("c2")}/cancel`)
      expect(noBody.status).toBe(200)
      expect(noBody.json.failure.reason).toMatch(/operator/)
    })

    it("POST .../retry re-runs a failed activity (200), and answers 409 when nothing failed", async () => {
      control.failing = true
      await http()("POST", "/workflows/flaky", { body: { id: id("r1"), input: { paymentToken: "tok_6" } } })
      const failed = await http()("POST", `/workflows/flaky/${id("r1")}/events?wait=settled`, { body: { type: "GO" } })
      expect(failed.json).toMatchObject({ status: "failed", state: "working" })
      control.failing = false
      const retried = await http()("POST", `/workflows/flaky/${id("r1")}/retry`)
      expect(retried.status).toBe(200)
      expect(retried.json.status).toBe("running")
      const done = await eventually(() => reader()("GET", `/workflows/flaky/${id("r1")}`), (answer) => answer.json.status === "done")
      expect(done.json.state).toBe("done")
      const nothing = await http()("POST", `/workflows/flaky/${id("r1")}/retry`)
      expect(nothing.status).toBe(409)
      expect(nothing.json).toMatchObject({ error: "NothingToRetry" })
      const history = await reader()("GET", `/workflows/flaky/${id("r1")}/history`)
      expect(history.json.items.map((entry: { type: string }) => entry.type)).toContain("workflow.retried")
    })

    it("GET .../history lists inputs, records and domain events in order, with the caller's correlation id and name", async () => {
      const correlation = id("corr-1")
      await http()("POST", "/workflows/payment", { body: { id: id("h1"), input: { amount: 5 } }, headers: { "x-correlation-id": correlation } })
      await eventually(() => reader()("GET", `/workflows/payment/${id("h1")}`), (answer) => answer.json.state === "shipped")
      await http()("POST", `/workflows/payment/${id("h1")}/events`, { body: { type: "DELIVERED" }, headers: { "x-correlation-id": correlation } })
      const history = await reader()("GET", `/workflows/payment/${id("h1")}/history`)
      expect(history.status).toBe(200)
      const items = history.json.items as Array<{ position: number; streamVersion: number; kind: string; type: string; data: any; metadata: any; time: string }>
      expect(items.map((entry) => entry.streamVersion)).toEqual(items.map((_, index) => index + 1))
      expect(items.every((entry, index) => index === 0 || entry.position > items[index - 1]!.position)).toBe(true)
      expect(items[0]).toMatchObject({ kind: "input", type: "workflow.started", data: { input: { amount: 5 } }, metadata: { correlationId: correlation, actor: "operator" } })
      expect(Date.parse(items[0]!.time)).not.toBeNaN()
      expect(items.filter((entry) => entry.kind === "domain").map((entry) => entry.type)).toEqual(["test.charged", "test.shipped"])
      expect(items.at(-1)).toMatchObject({ kind: "input", type: "workflow.event_received", data: { event: { type: "DELIVERED" } }, metadata: { correlationId: correlation } })
      expect(items.some((entry) => entry.kind === "record" && entry.type === "activity.scheduled")).toBe(true)
      expect((await reader()("GET", "/workflows/payment/none/history")).status).toBe(404)

      // One JSON log line per request, naming the request, the correlation, the caller and the instance.
      const lines = server.logs.map((line) => JSON.parse(line)).filter((line) => line.correlationId === correlation && line.msg === "request completed")
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatchObject({ level: 30, reqId: expect.any(String), caller: "operator", workflowType: "payment", instanceId: id("h1"), method: "POST", route: "/workflows/:type", statusCode: 201 })
      expect(lines[1]).toMatchObject({ instanceId: id("h1"), method: "POST", url: `/workflows/payment/${id("h1")}/events`, route: "/workflows/:type/:id/events", statusCode: 200 })
    })

    it("GET .../pending lists what an instance waits on: an activity a worker holds (its secrets redacted for the read role), then nothing", async () => {
      const path = `/workflows/flaky/${id("w1")}/pending`
      await http()("POST", "/workflows/flaky", { body: { id: id("w1"), input: { paymentToken: "tok-very-secret" } } })
      expect((await reader()("GET", path)).json).toEqual({ items: [] })
      control.delayMs = 1_500
      try {
        await http()("POST", `/workflows/flaky/${id("w1")}/events`, { body: { type: "GO" } })
        const held = await eventually(() => reader()("GET", path), (answer) => answer.json.items.some((task: any) => task.lockedBy !== null))
        expect(held.status).toBe(200)
        expect(held.json.items).toEqual([
          expect.objectContaining({ kind: "activity", key: expect.stringContaining("work"), lockedBy: expect.any(String), attempts: expect.any(Number) })
        ])
        const [task] = held.json.items
        expect(Date.parse(task.leasedUntil)).toBeGreaterThan(Date.now() - 1_000)
        expect(Date.parse(task.dueAt)).not.toBeNaN()
        expect(JSON.stringify(task.payload)).not.toContain("tok-very-secret")
        expect(JSON.stringify((await http()("GET", path)).json.items[0]?.payload)).toContain("tok-very-secret")
      } finally {
        control.delayMs = 0
      }
      await eventually(() => reader()("GET", `/workflows/flaky/${id("w1")}`), (answer) => answer.json.status === "done")
      expect((await reader()("GET", path)).json).toEqual({ items: [] })
      expect((await reader()("GET", "/workflows/flaky/nobody/pending")).json).toMatchObject({ error: "InstanceNotFound" })
    })

    it("GET /workflows lists newest first, filters, and pages with nextCursor", async () => {
      for (const n of [1, 2, 3]) await http()("POST", "/workflows/flaky", { body: { id: id(`l${n}`), input: { paymentToken: "tok" } } })
      await http()("POST", `/workflows/flaky/${id("l2")}/cancel`, { body: { reason: "filter me" } })
      const all: Array<string> = []
      let cursor: string | null = null
      do {
        const page: any = await reader()("GET", `/workflows?type=flaky&limit=2${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`)
        expect(page.status).toBe(200)
        expect(page.json.items.length).toBeLessThanOrEqual(2)
        all.push(...page.json.items.map((item: { id: string }) => item.id))
        cursor = page.json.nextCursor
      } while (cursor !== null)
      const mine = all.filter((instanceId) => /^.*-l\d$/.test(instanceId) && instanceId.startsWith(transport))
      expect(mine).toEqual([id("l3"), id("l2"), id("l1")])
      expect(new Set(all).size).toBe(all.length)

      const cancelled = await reader()("GET", "/workflows?type=flaky&status=cancelled&limit=500")
      expect(cancelled.json.items.map((item: { id: string }) => item.id)).toContain(id("l2"))
      expect(cancelled.json.items.every((item: { status: string }) => item.status === "cancelled")).toBe(true)
      const idle = await reader()("GET", "/workflows?type=flaky&state=idle&limit=500")
      expect(idle.json.items.map((item: { id: string }) => item.id)).toEqual(expect.arrayContaining([id("l1"), id("l3")]))
      expect(idle.json.items.every((item: { state: string }) => item.state === "idle")).toBe(true)

      const badCursor = await reader()("GET", "/workflows?cursor=not-a-cursor")
      expect(badCursor.status).toBe(400)
      expect(badCursor.json).toMatchObject({ error: "InvalidCursor", details: { cursor: "not-a-cursor" } })
      expect((await reader()("GET", "/workflows?limit=0")).status).toBe(400)
      expect((await reader()("GET", "/workflows?status=sleeping")).status).toBe(400)
    })

    it("GET /machines and /machines/{type}: the catalogue and each machine as a graph", async () => {
      const catalogue = await reader()("GET", "/machines")
      expect(catalogue.status).toBe(200)
      expect(catalogue.json.items).toEqual([
        { type: "flaky", kind: "saga", versions: [1], newestVersion: 1 },
        { type: "payment", kind: "saga", versions: [1], newestVersion: 1 }
      ])
      const payment = await reader()("GET", "/machines/payment")
      expect(payment.status).toBe(200)
      const [v1] = payment.json.versions
      expect(v1).toMatchObject({ version: 1, kind: "saga", machineId: "payment", initial: ["payment.charging"], emits: ["test.charged", "test.shipped", "test.cancelled"], activities: ["charge", "ship"] })
      expect(v1.states.map((state: { id: string; kind: string }) => [state.id, state.kind])).toEqual([
        ["payment", "compound"],
        ["payment.charging", "atomic"],
        ["payment.shipping", "atomic"],
        ["payment.shipped", "atomic"],
        ["payment.delivered", "final"],
        ["payment.cancelled", "final"]
      ])
      expect(v1.states.find((state: { id: string }) => state.id === "payment.charging").invokes).toEqual([{ id: "charge", src: "charge" }])
      expect(v1.transitions).toContainEqual({
        source: "payment.charging",
        event: "xstate.after.paymentWindow.payment.charging",
        trigger: "after",
        guard: null,
        delay: "paymentWindow",
        delayMs: 60_000,
        targets: ["payment.cancelled"],
        reenter: false
      })
      expect(v1.transitions).toContainEqual(expect.objectContaining({ source: "payment.shipped", event: "DELIVERED", trigger: "event", targets: ["payment.delivered"] }))
      expect(v1.transitions).toContainEqual(expect.objectContaining({ source: "payment.charging", event: "xstate.error.actor.charge", trigger: "error" }))
      expect(v1.accepts.CANCEL).toMatchObject({ type: "object", properties: { reason: { type: "string" } } })
      expect((await reader()("GET", "/machines/nope")).json).toMatchObject({ error: "WorkflowNotFound" })
    })

    it("GET /events reads the global log in pages, filtered by type", async () => {
      const first = await reader()("GET", "/events?limit=3")
      expect(first.status).toBe(200)
      expect(first.json.items).toHaveLength(3)
      expect(first.json.items[0]).toMatchObject({ position: expect.any(Number), streamId: expect.any(String), streamVersion: 1, type: "workflow.started" })
      const second = await reader()("GET", `/events?limit=3&after=${first.json.next}`)
      expect(second.json.items[0].position).toBeGreaterThan(first.json.items[2].position)
      const charged = await reader()("GET", "/events?type=test.charged,test.shipped&limit=1000")
      expect(charged.json.items.length).toBeGreaterThan(0)
      expect(charged.json.items.every((event: { type: string }) => event.type === "test.charged" || event.type === "test.shipped")).toBe(true)
      expect((await reader()("GET", "/events?after=12")).status).toBe(400)
      for (const cursor of ["garbage", "99999999999999999999.1", "1.99999999999999999"]) {
        const refused = await reader()("GET", `/events?after=${cursor}`)
        expect(refused.status).toBe(400)
        expect(refused.json).toMatchObject({ error: "InvalidCursor", details: { cursor } })
      }
      let pages = 0
      for (let next: string | undefined = undefined; ; pages++) {
        const page: { status: number; json: { items: Array<unknown>; next: string } } = await reader()("GET", `/events?limit=50${next === undefined ? "" : `&after=${next}`}`)
        expect(page.status).toBe(200)
        if (page.json.items.length === 0) break
        next = page.json.next
      }
      expect(pages).toBeGreaterThan(0)
      expect((await reader()("GET", "/events?limit=abc")).json).toMatchObject({ error: "ValidationError", details: { field: "limit" } })
    })

    it("GET /health/live and /health/ready answer without a token", async () => {
      const anonymous = client(server, transport, {})
      expect((await anonymous("GET", "/health/live")).json).toEqual({ status: "live" })
      const ready = await anonymous("GET", "/health/ready")
      expect(ready.status).toBe(200)
      expect(ready.json).toEqual({ status: "ready", migrations: { log: expect.any(Number), engine: expect.any(Number) } })
      expect(ready.json.migrations.log).toBeGreaterThan(0)
    })

    it("GET /metrics is Prometheus text with latency by route and the engine's counts", async () => {
      await http()("POST", "/workflows/payment", { body: { id: id("m1"), input: { amount: 3 } } })
      await eventually(() => reader()("GET", `/workflows/payment/${id("m1")}`), (answer) => answer.json.state === "shipped")
      const metrics = await reader()("GET", "/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.headers["content-type"]).toMatch(/^text\/plain; version=0.0.4/)
      expect(metrics.text).toMatch(/^# HELP orrery_http_request_duration_seconds /m)
      expect(metrics.text).toMatch(/^orrery_http_request_duration_seconds_bucket\{method="POST",route="\/workflows\/:type",status="201",le="\+Inf"\} [1-9]\d*$/m)
      expect(metrics.text).toMatch(/^orrery_inputs_total\{type="workflow.started"\} [1-9]\d*$/m)
      expect(metrics.text).toMatch(/^orrery_activities_total\{activity="charge",outcome="completed"\} [1-9]\d*$/m)
      expect(metrics.text).toMatch(/^orrery_circuit_state\{dependency="charge",state="closed"\} 1$/m)
      // Circuits come from the database's circuits table (every worker's); a circuit that never opened moved nowhere.
      expect(metrics.text).toMatch(/^# TYPE orrery_circuit_transitions_total counter$/m)
      expect(metrics.text).toMatch(/^orrery_circuit_transitions_total\{dependency="charge",to="open"\} 0$/m)
      expect(metrics.text).toMatch(/^orrery_database_up 1$/m)
      // The payment instance waits in "shipped" with nothing to do; its cancelled payment-window timer left no task.
      expect(metrics.text).toMatch(/^# TYPE orrery_tasks gauge$/m)
      expect(metrics.text).toMatch(/^# TYPE orrery_subscription_lag_events gauge$/m)
    })

    it("GET /docs serves the UI and /docs/json the OpenAPI document", async () => {
      const ui = await reader()("GET", "/docs/")
      expect(ui.status).toBe(200)
      expect(ui.text).toContain("swagger")
      const spec = await reader()("GET", "/docs/json")
      expect(spec.status).toBe(200)
      expect(spec.json.openapi).toBe("3.1.0")
    })
  })
})

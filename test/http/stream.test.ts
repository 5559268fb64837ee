/** The live stream: new history entries and states as they happen, resumption, the end, and its bounds. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { drivers } from "../support/drivers.js"
import { openStream } from "./sse.js"
import { type TestServer, asOperator, asReader, client, startServer } from "./support.js"
import { flakyWorkflow } from "./workflows.js"

describe.each(drivers)("SSE stream on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [paymentWorkflow(new Gateway()), flakyWorkflow], { streams: { pollMs: 20, maxOpen: 3 } })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("sends each new entry and the state as they happen, then `end` when the instance is final", async () => {
    const http = client(server, "live")
    await http("POST", "/workflows/flaky", { body: { id: "s1", input: { paymentToken: "tok_secret_1" } } })
    const stream = await openStream(`${server.url}/workflows/flaky/s1/stream`, asReader)
    expect(stream.status).toBe(200)
    expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
    const first = await stream.waitFor((event) => event.event === "state")
    expect(first.data).toMatchObject({ id: "s1", state: "idle", streamVersion: 1 })
    // The read role sees secrets redacted, in the stream as everywhere.
    expect(first.data.context.paymentToken).toBe("[redacted]")

    await http("POST", "/workflows/flaky/s1/events", { body: { type: "CONFIGURE", apiKey: "key-abcdef", note: "hello" } })
    const configured = await stream.waitFor((event) => event.event === "entry" && event.data.type === "workflow.event_received")
    expect(configured.id).toBe("2")
    expect(configured.data).toMatchObject({ streamVersion: 2, kind: "input", data: { event: { type: "CONFIGURE", apiKey: "[redacted]", note: "hello" } } })
    await stream.waitFor((event) => event.event === "state" && event.data.streamVersion === 2)

    await http("POST", "/workflows/flaky/s1/events", { body: { type: "GO" } })
    const end = await stream.waitFor((event) => event.event === "end")
    expect(end.data).toEqual({ status: "done" })
    await stream.ended
    const versions = stream.events.filter((event) => event.event === "entry").map((event) => event.data.streamVersion)
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, index) => index + 2))
    const history = await client(server, "live")("GET", "/workflows/flaky/s1/history")
    expect(versions.at(-1)).toBe(history.json.items.at(-1).streamVersion)
    const lastState = stream.events.filter((event) => event.event === "state").at(-1)!
    expect(lastState.data).toMatchObject({ status: "done", state: "done" })
  })

  it("resumes after Last-Event-ID, and replays everything with ?after=0 (through inject too, for a final instance)", async () => {
    const http = client(server, "live")
    await http("POST", "/workflows/flaky", { body: { id: "s2", input: { paymentToken: "tok" } } })
    await http("POST", "/workflows/flaky/s2/events?wait=settled", { body: { type: "GO" } })
    const resumed = await openStream(`${server.url}/workflows/flaky/s2/stream`, { ...asOperator, "last-event-id": "2" })
    await resumed.ended
    const entries = resumed.events.filter((event) => event.event === "entry")
    expect(entries[0]!.data.streamVersion).toBe(3)
    expect(resumed.events.at(-1)).toEqual({ event: "end", data: { status: "done" } })

    const injected = await server.app.inject({ method: "GET", url: "/workflows/flaky/s2/stream?after=0", headers: asOperator })
    expect(injected.statusCode).toBe(200)
    const ids = [...injected.body.matchAll(/^id: (\d+)\nevent: entry$/gm)].map((match) => Number(match[1]))
    const history = await http("GET", "/workflows/flaky/s2/history")
    expect(ids).toEqual(history.json.items.map((entry: { streamVersion: number }) => entry.streamVersion))
    expect(injected.body).toMatch(/event: end\ndata: {"status":"done"}\n\n$/)
  })

  it("answers 404 before streaming for an unknown instance, bounds the open streams, and stops when the client leaves", async () => {
    expect((await client(server, "live")("GET", "/workflows/flaky/none/stream")).status).toBe(404)
    const http = client(server, "live")
    await http("POST", "/workflows/flaky", { body: { id: "s3", input: { paymentToken: "tok" } } })
    const open = await Promise.all([1, 2, 3].map(() => openStream(`${server.url}/workflows/flaky/s3/stream`, asReader)))
    await Promise.all(open.map((stream) => stream.waitFor((event) => event.event === "state")))
    const refused = await http("GET", "/workflows/flaky/s3/stream")
    expect(refused.status).toBe(503)
    expect(refused.json).toMatchObject({ error: "TooManyStreams" })
    expect((await http("GET", "/metrics")).text).toMatch(/^orrery_http_streams_open 3$/m)
    for (const stream of open) stream.close()
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && !/^orrery_http_streams_open 0$/m.test((await http("GET", "/metrics")).text)) await new Promise((r) => setTimeout(r, 20))
    expect((await http("GET", "/metrics")).text).toMatch(/^orrery_http_streams_open 0$/m)
    const again = await openStream(`${server.url}/workflows/flaky/s3/stream`, asReader)
    expect(again.status).toBe(200)
    again.close()
  })
})

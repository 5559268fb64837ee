/** Operations: graceful shutdown, the database going away (503, never 500), and readiness following it. */
import { describe, expect, it } from "vitest"
import type { DatabaseShape } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { openStream } from "./sse.js"
import { asOperator, asReader, client, startServer } from "./support.js"
import { control, flakyWorkflow } from "./workflows.js"

/** A database that can be cut off: every call then fails as a refused connection does. */
const cuttable = () => {
  const state = { cut: false }
  const refused = () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))
  const wrap = (db: DatabaseShape): DatabaseShape => ({
    driver: db.driver,
    location: db.location,
    query: (text, params) => (state.cut ? refused() : db.query(text, params)),
    exec: (text) => (state.cut ? refused() : db.exec(text)),
    transaction: (work) => (state.cut ? refused() : db.transaction(work)),
    listen: (channel, onNotify) => db.listen(channel, onNotify)
  })
  return { state, wrap }
}

describe.each(drivers)("lifecycle on %s", (driver) => {
  it("shuts down gracefully: in-flight requests finish, streams end, nothing new is accepted", async () => {
    const server = await startServer(driver, [flakyWorkflow])
    let disposed = false
    try {
      const http = client(server, "live")
      control.failing = false
      control.delayMs = 800
      await http("POST", "/workflows/flaky", { body: { id: "slow-1", input: { paymentToken: "t" } } })
      const stream = await openStream(`${server.url}/workflows/flaky/slow-1/stream`, asReader)
      await stream.waitFor((event) => event.event === "state")
      const inFlight = http("POST", "/workflows/flaky/slow-1/events?wait=settled&timeout=10s", { body: { type: "GO" } })
      await new Promise((resolve) => setTimeout(resolve, 200))
      const closing = server.app.close()
      await stream.ended
      const refused = await fetch(`${server.url}/health/live`).then(
        (response) => response.status,
        () => "refused"
      )
      expect([503, "refused"]).toContain(refused)
      const answer = await inFlight
      expect(answer.status).toBe(200)
      expect(answer.json).toMatchObject({ status: "done", state: "done" })
      await closing
      // The engine outlives the server: the caller closes it after.
      await server.runtime.dispose()
      disposed = true
    } finally {
      control.delayMs = 0
      if (!disposed) await server.close()
    }
  })

  it("answers 503 while the database is unreachable — requests and readiness — and recovers", async () => {
    const database = cuttable()
    const server = await startServer(driver, [flakyWorkflow], {}, { wrapDatabase: database.wrap })
    try {
      for (const transport of ["inject", "live"] as const) {
        const http = client(server, transport)
        await http("POST", "/workflows/flaky", { body: { id: `db-${transport}`, input: { paymentToken: "t" } } })
        database.state.cut = true
        const reads = [
          await http("GET", `/workflows/flaky/db-${transport}`),
          await http("POST", "/workflows/flaky", { body: { input: { paymentToken: "t" } } }),
          await http("POST", `/workflows/flaky/db-${transport}/events`, { body: { type: "GO" } }),
          await http("GET", "/workflows"),
          await http("GET", "/events")
        ]
        for (const answer of reads) {
          expect(answer.status).toBe(503)
          expect(answer.json).toEqual({ error: "StoreUnavailable", message: "the database is unavailable; try again later" })
          expect(answer.headers["retry-after"]).toBe("1")
        }
        const ready = await client(server, transport, {})("GET", "/health/ready")
        expect(ready.status).toBe(503)
        expect(ready.json).toMatchObject({ error: "NotReady", message: "the database does not answer" })
        expect((await http("GET", "/health/live")).status).toBe(200)
        expect((await http("GET", "/metrics")).text).toMatch(/^orrery_database_up 0$/m)

        database.state.cut = false
        expect((await http("GET", `/workflows/flaky/db-${transport}`)).json).toMatchObject({ id: `db-${transport}`, state: "idle" })
        expect((await client(server, transport, {})("GET", "/health/ready")).status).toBe(200)
        expect((await http("GET", "/metrics")).text).toMatch(/^orrery_database_up 1$/m)
      }
    } finally {
      database.state.cut = false
      await server.close()
    }
  })
})

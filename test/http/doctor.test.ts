/**
 * GET /doctor: the installation's checkup over HTTP, for any token, as
 * `orrery doctor` prints it through a running server — healthy, then failing
 * once an event is changed behind the log's back.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EngineRuntime } from "../../src/engine/index.js"
import { Database } from "../../src/log/index.js"
import { createClient } from "../../src/client.js"
import { drivers } from "../support/drivers.js"
import { door } from "./door.js"
import { type TestServer, asReader, client, readToken, startServer } from "./support.js"

describe.each(drivers)("GET /doctor on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [door(1)])
  })
  afterAll(async () => {
    await server?.close()
  })
  const http = () => client(server, "inject")

  it("reports every check, healthy for a sound installation; the typed client reads the same", async () => {
    for (const id of ["a", "b"]) expect((await http()("POST", "/workflows/door", { body: { id, input: {} } })).status).toBe(201)
    await http()("POST", "/workflows/door/b/events", { body: { type: "LOCK" } })

    const answer = await client(server, "inject", asReader)("GET", "/doctor")
    expect(answer.status).toBe(200)
    expect(answer.json.problems).toBe(0)
    const subjects = answer.json.checks.map((check: any) => check.subject)
    expect(subjects).toEqual(["database", "migrations", "migrations", "door", "history", "tasks", "read models"])
    expect(answer.json.checks).toContainEqual({ level: "ok", subject: "door", message: "1 running, 1 done" })
    expect(answer.json.checks).toContainEqual({ level: "ok", subject: "history", message: expect.stringMatching(/^\d+ entries of 2 instances read back, hash chains intact$/) })

    const typed = await createClient({ url: server.url, token: readToken }).doctor()
    expect(typed).toEqual(answer.json)
    expect((await client(server, "inject", {})("GET", "/doctor")).status).toBe(401)
  })

  it("fails the history of an instance whose event was changed behind the log's back, and still answers 200", async () => {
    await server.runtime.runPromise(
      Effect.gen(function*() {
        const db = yield* Database
        const { schema } = yield* EngineRuntime
        yield* Effect.promise(() => db.query(`update ${schema}.events set data = jsonb_set(data, '{input}', '{"x":1}') where stream_id = 'door-a' and stream_version = 1`))
      })
    )
    const answer = await client(server, "inject", asReader)("GET", "/doctor")
    expect(answer.status).toBe(200)
    expect(answer.json.problems).toBe(1)
    expect(answer.json.checks).toContainEqual({ level: "fail", subject: "history of door/a", message: expect.stringContaining("door-a") })
  })
})

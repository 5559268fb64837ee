/**
 * GET /doctor: the installation's checkup over HTTP, for any token, as
 * `orrery doctor` prints it through a running server — healthy, then failing
 * once an event is changed or the last one deleted behind the log's back; the
 * changed row named by history, replay and the global feed.
 */
import { Effect, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EngineRuntime } from "../../src/engine/index.js"
import { Database, defineEvent, EventLog, IntegrityError } from "../../src/log/index.js"
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
    expect(answer.json.checks).toContainEqual({ level: "ok", subject: "history", message: expect.stringMatching(/^\d+ events in \d+ streams? read back, hash chains intact; 2 instances checked against them$/) })

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

  it("names the changed row in history and replay (typed IntegrityError, never a bare InternalError); /events flags it and pages on", async () => {
    const named = { error: "IntegrityError", message: "stream door-a version 1 does not match its hash chain", details: { stream: "door-a", version: 1, reason: "changed" } }
    for (const path of ["/workflows/door/a/history", "/workflows/door/a/replay"]) {
      const answer = await client(server, "inject", asReader)("GET", path)
      expect(answer.status).toBe(500)
      expect(answer.json).toEqual(named)
    }
    const refusal = await createClient({ url: server.url, token: readToken }).handle("door", "a").history().catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(IntegrityError)
    expect(refusal).toMatchObject({ _tag: "IntegrityError", stream: "door-a", version: 1, reason: "changed" })
    // The instance next to it reads as ever.
    expect((await client(server, "inject", asReader)("GET", "/workflows/door/b/history")).status).toBe(200)

    // The global feed names the row where it stands and goes on past it, page after page.
    const items: Array<any> = []
    for (let next: string | undefined; ;) {
      const page = await client(server, "inject", asReader)("GET", `/events?limit=1${next === undefined ? "" : `&after=${next}`}`)
      expect(page.status).toBe(200)
      if (page.json.items.length === 0) break
      items.push(...page.json.items)
      next = page.json.next
    }
    const broken = items.filter((item) => item.broken !== undefined)
    expect(broken).toEqual([
      { position: expect.any(Number), streamId: "door-a", streamVersion: 1, eventId: expect.any(String), type: "workflow.started", broken: { error: "IntegrityError", message: named.message, details: named.details } }
    ])
    expect(items.filter((item) => item.streamId === "door-b").length).toBeGreaterThan(1)
    expect(items.every((item) => item.broken !== undefined || item.data !== undefined)).toBe(true)
  })

  it("finds a stream whose last event was deleted behind the log's back: the instance row is ahead of its history", async () => {
    const before = (await client(server, "inject", asReader)("GET", "/workflows/door/b")).json.streamVersion
    await server.runtime.runPromise(
      Effect.gen(function*() {
        const db = yield* Database
        const { schema } = yield* EngineRuntime
        yield* Effect.promise(() => db.query(`delete from ${schema}.events where stream_id = 'door-b' and stream_version = (select max(stream_version) from ${schema}.events where stream_id = 'door-b')`))
      })
    )
    const answer = await client(server, "inject", asReader)("GET", "/doctor")
    expect(answer.json.problems).toBe(2)
    expect(answer.json.checks).toContainEqual({
      level: "fail",
      subject: "history of door/b",
      message: `stream door-b version ${before} is missing: rows were deleted behind the log's back; it refuses inputs until the rows are restored and it is verified (orrery verify door b)`
    })
  })

  it("names a broken stream that is no instance's history, and a row missing from the middle of an instance's", async () => {
    const Entry = defineEvent("ledger.entry", Schema.Struct({ amount: Schema.Number }))
    await server.runtime.runPromise(
      Effect.gen(function*() {
        const db = yield* Database
        const log = yield* EventLog
        const { schema } = yield* EngineRuntime
        yield* log.append("ledger-1", "no_stream", [Entry.make({ amount: 1 }), Entry.make({ amount: 2 })])
        yield* Effect.promise(() => db.query(`update ${schema}.events set data = '{"amount": 3}' where stream_id = 'ledger-1' and stream_version = 2`))
      })
    )
    expect((await http()("POST", "/workflows/door", { body: { id: "c", input: {} } })).status).toBe(201)
    for (const body of [{ type: "OPEN", by: "ann" }, { type: "CLOSE" }]) expect((await http()("POST", "/workflows/door/c/events", { body })).status).toBeLessThan(300)
    await server.runtime.runPromise(
      Effect.gen(function*() {
        const db = yield* Database
        const { schema } = yield* EngineRuntime
        yield* Effect.promise(() => db.query(`delete from ${schema}.events where stream_id = 'door-c' and stream_version = 2`))
      })
    )
    const answer = await client(server, "inject", asReader)("GET", "/doctor")
    expect(answer.json.problems).toBe(4)
    expect(answer.json.checks).toContainEqual({ level: "fail", subject: "stream ledger-1", message: "stream ledger-1 version 2 does not match its hash chain" })
    expect(answer.json.checks).toContainEqual({
      level: "fail",
      subject: "history of door/c",
      message: "stream door-c version 3 does not match its hash chain; it refuses inputs until the rows are restored and it is verified (orrery verify door c)"
    })
    // The doctor's read marked the instance, as any read that meets the break does.
    expect((await http()("POST", "/workflows/door/c/events", { body: { type: "LOCK" } })).json).toMatchObject({ error: "IntegrityError", details: { stream: "door-c", version: 3 } })
  })

  it("warns of a read model a rebuild still owns: one that failed or was stopped keeps the live subscriptions aside", async () => {
    const sql = (text: string) =>
      server.runtime.runPromise(
        Effect.gen(function*() {
          const db = yield* Database
          const { schema } = yield* EngineRuntime
          yield* Effect.promise(() => db.exec(text.replaceAll("$schema", schema)))
        })
      )
    await sql(`insert into $schema.projection_checkpoints (projection, transaction_id, position, rebuilding) values ('bookings', '0', 0, true)`)
    const answer = await client(server, "inject", asReader)("GET", "/doctor")
    expect(answer.json.checks).toContainEqual({
      level: "warn",
      subject: "read models",
      message: expect.stringMatching(/^bookings is being rebuilt \(last page at \d{4}-\d\d-\d\dT[^)]+\); if no rebuild runs, run orrery projections rebuild bookings again$/)
    })
    // A warning, not a problem: the problems are the broken histories of the tests before.
    expect(answer.json.problems).toBe(4)
    await sql(`delete from $schema.projection_checkpoints where projection = 'bookings'`)
    const after = await client(server, "inject", asReader)("GET", "/doctor")
    expect(after.json.checks.filter((check: any) => check.level === "warn" && check.subject === "read models")).toEqual([])
  })
})

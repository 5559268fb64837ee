/**
 * An instance whose history was changed behind the log's back: the read that
 * meets the break marks it corrupted, it refuses every input with the
 * IntegrityError naming where, nothing is appended on top of the broken chain,
 * and once an operator restores the rows `verify` lets it go on.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createClient } from "../../src/client.js"
import { EngineRuntime } from "../../src/engine/index.js"
import { Database, IntegrityError } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { door } from "./door.js"
import { type TestServer, asReader, client, operateToken, startServer } from "./support.js"

describe.each(drivers)("a corrupted instance on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [door(1)])
  })
  afterAll(async () => {
    await server?.close()
  })
  const http = () => client(server, "inject")
  const sql = <A>(text: string) =>
    server.runtime.runPromise(
      Effect.gen(function*() {
        const db = yield* Database
        const { schema } = yield* EngineRuntime
        return yield* Effect.promise(() => db.query<A>(text.replaceAll("$schema", schema)))
      })
    )
  const entries = async (stream: string) => (await sql<{ n: number }>(`select count(*)::int as n from $schema.events where stream_id = '${stream}'`))[0]!.n
  const startDoor = async (id: string) => {
    expect((await http()("POST", "/workflows/door", { body: { id, input: {} } })).status).toBe(201)
    expect((await http()("POST", `/workflows/door/${id}/events`, { body: { type: "OPEN", by: "ann" } })).status).toBe(200)
  }

  it("a changed row: the history read marks it, every input is refused with the same error and writes nothing; restored and verified, it goes on", async () => {
    await startDoor("c1")
    const [original] = await sql<{ data: unknown }>(`select data from $schema.events where stream_id = 'door-c1' and stream_version = 1`)
    await sql(`update $schema.events set data = jsonb_set(data, '{input}', '{"x":1}') where stream_id = 'door-c1' and stream_version = 1`)

    const named = { error: "IntegrityError", message: "stream door-c1 version 1 does not match its hash chain", details: { stream: "door-c1", version: 1, reason: "changed" } }
    const read = await http()("GET", "/workflows/door/c1/history")
    expect(read.status).toBe(500)
    expect(read.json).toEqual(named)

    const view = (await http()("GET", "/workflows/door/c1")).json
    expect(view.corrupted).toEqual({ version: 1, reason: "changed", detectedAt: expect.any(String) })
    expect(Date.parse(view.corrupted.detectedAt)).not.toBeNaN()

    const written = await entries("door-c1")
    for (const [path, body] of [
      ["/workflows/door/c1/events", { type: "CLOSE" }],
      ["/workflows/door/c1/cancel", { reason: "try" }]
    ] as const) {
      const refused = await http()("POST", path, { body })
      expect(refused.status).toBe(500)
      expect(refused.json).toEqual(named)
    }
    expect(await entries("door-c1")).toBe(written)
    const typed = await createClient({ url: server.url, token: operateToken }).handle("door", "c1").send({ type: "CLOSE" } as never).catch((error: unknown) => error)
    expect(typed).toBeInstanceOf(IntegrityError)
    expect(typed).toMatchObject({ stream: "door-c1", version: 1, reason: "changed" })

    // Verify before the repair: still broken, still marked.
    expect((await http()("POST", "/workflows/door/c1/verify")).json).toEqual(named)
    // Reading needs only the read role; verifying changes what the instance accepts: operate.
    expect((await client(server, "inject", asReader)("POST", "/workflows/door/c1/verify")).status).toBe(403)

    await sql(`update $schema.events set data = '${JSON.stringify(original!.data)}'::jsonb where stream_id = 'door-c1' and stream_version = 1`)
    const verified = await http()("POST", "/workflows/door/c1/verify")
    expect(verified.status).toBe(200)
    expect(verified.json.corrupted).toBeUndefined()
    expect(verified.json.streamVersion).toBe(written)
    const closed = await http()("POST", "/workflows/door/c1/events", { body: { type: "CLOSE" } })
    expect(closed.status).toBe(200)
    expect(closed.json.state).toBe("closed")
    expect((await http()("GET", "/workflows/door/c1/history")).json.items.length).toBeGreaterThan(written)
  })

  it("deleted last rows: the next input meets the instance row ahead of its log, marks it `missing` instead of spinning, and verify cannot clear it", async () => {
    await startDoor("c2")
    const version = (await http()("GET", "/workflows/door/c2")).json.streamVersion
    await sql(`delete from $schema.events where stream_id = 'door-c2' and stream_version = ${version}`)

    // No read has met the break yet: the step's append conflicts with a log that is behind.
    const refused = await http()("POST", "/workflows/door/c2/events", { body: { type: "CLOSE" } })
    expect(refused.status).toBe(500)
    const named = {
      error: "IntegrityError",
      message: `stream door-c2 version ${version} is missing: rows were deleted behind the log's back`,
      details: { stream: "door-c2", version, reason: "missing" }
    }
    expect(refused.json).toEqual(named)
    expect((await http()("GET", "/workflows/door/c2")).json.corrupted).toMatchObject({ version, reason: "missing" })
    expect(await entries("door-c2")).toBe(version - 1)
    expect((await http()("POST", "/workflows/door/c2/verify")).json).toEqual(named)
    expect((await http()("GET", "/workflows/door/c2/replay")).json).toEqual(named)

    const doctor = await client(server, "inject", asReader)("GET", "/doctor")
    expect(doctor.json.checks).toContainEqual({
      level: "fail",
      subject: "history of door/c2",
      message: `${named.message}; it refuses inputs until the rows are restored and it is verified (orrery verify door c2)`
    })
  })

  it("a mark set by another process is honoured by a step on a cached instance: the database refuses the write", async () => {
    await startDoor("c3")
    // This process has door/c3 cached at its current version; the mark comes from elsewhere.
    await sql(`update $schema.instances set corrupted = '{"version":2,"reason":"changed","detectedAt":"2026-12-06T00:00:00.000Z"}' where instance_id = 'c3'`)
    const written = await entries("door-c3")
    const refused = await http()("POST", "/workflows/door/c3/events", { body: { type: "CLOSE" } })
    expect(refused.status).toBe(500)
    expect(refused.json.details).toEqual({ stream: "door-c3", version: 2, reason: "changed" })
    expect(await entries("door-c3")).toBe(written)
    // Its history is whole: verify clears the mark.
    expect((await http()("POST", "/workflows/door/c3/verify")).status).toBe(200)
    expect((await http()("POST", "/workflows/door/c3/events", { body: { type: "CLOSE" } })).json.state).toBe("closed")
  })
})

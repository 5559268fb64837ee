/**
 * GET /machines/{type}/compare: the gate of test/inspector/versions in two versions, with
 * instances left on version 1 (served first alone, then with version 2 beside it, on the
 * same database). The comparison names exactly the states and transitions added and
 * removed, counts the running version-1 instances standing in each removed state (not the
 * cancelled one, not the ones elsewhere), and refuses bad or unknown versions.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createClient } from "../../src/client.js"
import { Engine } from "../../src/engine/index.js"
import { Database } from "../../src/log/index.js"
import { gateChanges, gateV1, gateV2 } from "../inspector/versions/gate.js"
import { databaseLayer, drivers, freshSchema } from "../support/drivers.js"
import { type TestServer, asReader, client, orreryRuntime, readToken, startServer } from "./support.js"

/** Instances driven on version 1 alone, by id: the events each takes. */
const onVersion1: Record<string, ReadonlyArray<string>> = {
  "g-open": ["OPEN"],
  "g-jam1": ["OPEN", "JAM"],
  "g-jam2": ["OPEN", "JAM"],
  "g-jam-cancelled": ["OPEN", "JAM"],
  "g-latched": ["LOCK", "UNBOLT"],
  "g-bolted": ["LOCK"],
  "g-retired": ["OPEN", "JAM", "FIX", "RETIRE"]
}

const paths = (items: ReadonlyArray<{ path: string }>) => items.map((item) => item.path).sort()
const edges = (items: ReadonlyArray<{ source: string; event: string; targets: ReadonlyArray<string> }>) =>
  items.map((item) => `${item.source} ${item.event} -> ${item.targets.join(",")}`).sort()

describe.each(drivers)("machine version comparison on %s", (driver) => {
  const schema = freshSchema()
  const database = ManagedRuntime.make(databaseLayer(driver, schema))
  let server: TestServer
  beforeAll(async () => {
    const existing = { database: Layer.succeed(Database, await database.runPromise(Database.use((db) => Effect.succeed(db)))), schema }
    // Version 1 alone first: every instance started now stays on it.
    const before = orreryRuntime(driver, [gateV1], { existing })
    await before.runPromise(
      Effect.gen(function*() {
        const engine = yield* Engine
        for (const [id, events] of Object.entries(onVersion1)) {
          yield* engine.start("gate", {}, { id })
          for (const type of events) yield* engine.send("gate", id, { type })
        }
        yield* engine.cancel("gate", "g-jam-cancelled", "test")
      })
    )
    await before.dispose()
    server = await startServer(driver, [gateV1, gateV2], {}, { existing })
    const http = client(server, "inject")
    expect((await http("POST", "/workflows/gate", { body: { id: "g-new", input: {} } })).json).toMatchObject({ machineVersion: 2 })
    await http("POST", "/workflows/gate/g-new/events", { body: { type: "OPEN" } })
  })
  afterAll(async () => {
    await server?.close()
    await database.dispose()
  })
  const reader = () => client(server, "inject", asReader)

  it("names exactly the states and transitions version 2 adds and removes, and the version-1 instances stranded in removed states", async () => {
    const answer = await reader()("GET", "/machines/gate/compare?from=1&to=2")
    expect(answer.status).toBe(200)
    const { json } = answer
    expect([json.type, json.from, json.to]).toEqual(["gate", 1, 2])
    expect(paths(json.states.added)).toEqual(gateChanges.added)
    expect(paths(json.states.removed)).toEqual(gateChanges.removed)
    expect(json.states.removed.find((state: any) => state.path === "locked.latched")).toEqual({ path: "locked.latched", id: "gate.locked.latched", parent: "gate.locked", kind: "atomic" })
    expect(json.states.removed.find((state: any) => state.path === "jammed")).toMatchObject({ parent: "gate", kind: "compound" })

    // The same as the two versions' own graphs say, state by state.
    const graph = (await reader()("GET", "/machines/gate")).json
    const pathsOf = (version: any) => version.states.filter((state: any) => state.parent !== null).map((state: any) => state.id.replace(/^gate\./, ""))
    const [v1, v2] = graph.versions.map(pathsOf)
    expect(paths(json.states.added)).toEqual(v2.filter((path: string) => !v1.includes(path)).sort())
    expect(paths(json.states.removed)).toEqual(v1.filter((path: string) => !v2.includes(path)).sort())

    expect(edges(json.transitions.added)).toEqual(["closed OPEN -> opening", "locked.alarmed SILENCE -> locked.bolted", "locked.bolted ALARM -> locked.alarmed", "opening OPENED -> open"])
    expect(edges(json.transitions.removed)).toEqual([
      "closed OPEN -> open",
      "jammed FIX -> closed",
      "locked.bolted UNBOLT -> locked.latched",
      "locked.latched BOLT -> locked.bolted",
      "open JAM -> jammed"
    ])
    expect(json.transitions.added.find((edge: any) => edge.event === "OPENED")).toMatchObject({ sourceId: "gate.opening", targetIds: ["gate.open"], trigger: "event", guard: null })

    // Running on version 1 in a removed state: two jammed, so stuck inside it (the cancelled one is not running), one latched.
    expect(json.stranded.map((row: any) => ({ ...row, instances: [...row.instances].sort() }))).toEqual([
      { state: "jammed", count: 2, instances: ["g-jam1", "g-jam2"] },
      { state: "jammed.stuck", count: 2, instances: ["g-jam1", "g-jam2"] },
      { state: "locked.latched", count: 1, instances: ["g-latched"] }
    ])
    const jammed = (await reader()("GET", "/workflows?type=gate&state=jammed&status=running")).json.items
    expect(jammed.map((item: any) => [item.id, item.machineVersion]).sort()).toEqual([["g-jam1", 1], ["g-jam2", 1]])
  })

  it("reads the other way round, and a version against itself changes nothing", async () => {
    const back = (await reader()("GET", "/machines/gate/compare?from=2&to=1")).json
    expect(paths(back.states.added)).toEqual(gateChanges.removed)
    expect(paths(back.states.removed)).toEqual(gateChanges.added)
    // The one version-2 instance stands in opening, which version 1 does not have.
    expect(back.stranded.map((row: any) => row.state)).toEqual(back.states.removed.map((state: any) => state.path))
    expect([...back.stranded].sort((a: any, b: any) => a.state.localeCompare(b.state))).toEqual([
      { state: "locked.alarmed", count: 0, instances: [] },
      { state: "opening", count: 1, instances: ["g-new"] }
    ])

    const same = (await reader()("GET", "/machines/gate/compare?from=2&to=2")).json
    expect(same).toEqual({ type: "gate", from: 2, to: 2, states: { added: [], removed: [] }, transitions: { added: [], removed: [] }, stranded: [] })
  })

  it("refuses a missing or malformed version (400) and an unknown type or version (404)", async () => {
    for (const query of ["", "?from=1", "?to=2", "?from=one&to=2", "?from=0&to=2", "?from=1&to=2&extra=1"]) {
      const refused = await reader()("GET", `/machines/gate/compare${query}`)
      expect([query, refused.status, refused.json.error]).toEqual([query, 400, "ValidationError"])
    }
    const version = await reader()("GET", "/machines/gate/compare?from=1&to=9")
    expect([version.status, version.json.error, version.json.message]).toEqual([404, "WorkflowNotFound", "workflow gate version 9 is not registered"])
    const type = await reader()("GET", "/machines/nope/compare?from=1&to=2")
    expect([type.status, type.json.error]).toEqual([404, "WorkflowNotFound"])
  })

  it("the client's compare answers the same, and an unknown version as WorkflowNotFound", async () => {
    const http = createClient({ url: server.url, token: readToken })
    expect(await http.compare("gate", 1, 2)).toEqual((await reader()("GET", "/machines/gate/compare?from=1&to=2")).json)
    await expect(http.compare("gate", 1, 9)).rejects.toMatchObject({ _tag: "WorkflowNotFound", version: 9 })
  })
})

/**
 * What the inspector reads besides the catalogue: instances counted by state
 * (GET /machines/{type}/states) and an instance replayed step by step, against
 * its own machine or another registered version (GET .../replay).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { drivers } from "../support/drivers.js"
import { door } from "./door.js"
import { type TestServer, asReader, client, startServer } from "./support.js"

describe.each(drivers)("inspection routes on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [door(1), door(2)])
  })
  afterAll(async () => {
    await server?.close()
  })
  const http = () => client(server, "inject")
  const reader = () => client(server, "inject", asReader)

  it("GET /machines/{type}/states counts the instances in each state, by version and status", async () => {
    for (const id of ["d1", "d2", "d3", "d4"]) expect((await http()("POST", "/workflows/door", { body: { id, input: {} } })).status).toBe(201)
    await http()("POST", "/workflows/door/d2/events", { body: { type: "OPEN", by: "ann" } })
    await http()("POST", "/workflows/door/d3/events", { body: { type: "LOCK" } })
    const counted = await reader()("GET", "/machines/door/states")
    expect(counted.status).toBe(200)
    expect(counted.json.type).toBe("door")
    expect(counted.json.items).toHaveLength(3)
    expect(counted.json.items).toEqual(
      expect.arrayContaining([
        { machineVersion: 2, status: "running", state: "closed", count: 2 },
        { machineVersion: 2, status: "running", state: "ajar", count: 1 },
        { machineVersion: 2, status: "done", state: "locked", count: 1 }
      ])
    )
    expect((await reader()("GET", "/machines/nope/states")).json).toMatchObject({ error: "WorkflowNotFound" })
  })

  it("GET .../replay folds the history through the instance's own machine: every step's state, context and events", async () => {
    await http()("POST", "/workflows/door", { body: { id: "r1", input: {} } })
    await http()("POST", "/workflows/door/r1/events", { body: { type: "OPEN", by: "bo" } })
    await http()("POST", "/workflows/door/r1/events", { body: { type: "CLOSE" } })
    const replayed = await reader()("GET", "/workflows/door/r1/replay")
    expect(replayed.status).toBe(200)
    expect(replayed.json).toMatchObject({ recordedVersion: 2, machineVersion: 2, divergence: null })
    expect(replayed.json.steps.map((step: any) => [step.step, step.input.type, step.state, step.context])).toEqual([
      [1, "workflow.started", "closed", { opened: 0, by: null }],
      [2, "workflow.event_received", "ajar", { opened: 1, by: "bo" }],
      [3, "workflow.event_received", "closed", { opened: 1, by: "bo" }]
    ])
    expect(replayed.json.steps[1].emitted).toEqual([{ type: "door.opened", by: "bo" }])
    expect(replayed.json.steps[1].input.data).toEqual({ event: { type: "OPEN", by: "bo" } })

    // The states it re-derived are the ones the history recorded.
    const history = await reader()("GET", "/workflows/door/r1/history")
    const recorded = history.json.items.filter((entry: any) => entry.kind === "input")
    expect(recorded.map((entry: any) => entry.metadata.state)).toEqual(replayed.json.steps.map((step: any) => step.state))
    expect(recorded.map((entry: any) => entry.streamVersion)).toEqual(replayed.json.steps.map((step: any) => step.streamVersion))
  })

  it("GET .../replay?version= replays against another version and names the step where it departs", async () => {
    const against1 = await reader()("GET", "/workflows/door/r1/replay?version=1")
    expect(against1.status).toBe(200)
    expect(against1.json).toMatchObject({ recordedVersion: 2, machineVersion: 1 })
    expect(against1.json.divergence).toMatchObject({ step: 2, expected: { state: "ajar" }, actual: { state: "open" } })
    expect(against1.json.divergence.message).toContain("step 2")
    expect(against1.json.steps.map((step: any) => step.state)).toEqual(["closed"])

    // Nothing was written: the instance and its history are as they were.
    expect((await reader()("GET", "/workflows/door/r1")).json).toMatchObject({ state: "closed", machineVersion: 2 })
    expect((await reader()("GET", "/workflows/door/r1/replay")).json.divergence).toBeNull()

    expect((await reader()("GET", "/workflows/door/r1/replay?version=9")).json).toMatchObject({ error: "WorkflowNotFound" })
    expect((await reader()("GET", "/workflows/door/r1/replay?version=zero")).status).toBe(400)
    expect((await reader()("GET", "/workflows/door/nobody/replay")).status).toBe(404)
  })
})

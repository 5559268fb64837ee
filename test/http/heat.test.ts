/**
 * `GET /machines/{type}/heat`: the counts equal the transitions the inputs
 * recorded, as the history route shows them; 404 for an unknown type, 400 for
 * a window it does not know. On both drivers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createClient } from "../../src/client.js"
import { transitionHeatProjection } from "../../src/projections/transition-heat.js"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { drivers } from "../support/drivers.js"
import { type TestServer, asReader, client, eventually, readToken, startServer } from "./support.js"

type Row = { source: string; event: string; target: string | null; count: number }

/** One count per (source, event, target) of every input's `metadata.transitions`, as the history route answers them. */
const countsFromHistories = (histories: ReadonlyArray<ReadonlyArray<{ kind: string; metadata: { transitions?: Array<Array<string>> } }>>) => {
  const counts = new Map<string, number>()
  for (const entry of histories.flat()) {
    if (entry.kind !== "input") continue
    for (const [source, event, ...targets] of entry.metadata.transitions!) {
      for (const target of targets.length === 0 ? [null] : targets) {
        const key = JSON.stringify([source, event, target])
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
    }
  }
  return counts
}

const countsFromHeat = (rows: ReadonlyArray<Row>) => new Map(rows.map((row) => [JSON.stringify([row.source, row.event, row.target]), row.count]))

describe.each(drivers)("GET /machines/{type}/heat on %s", (driver) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(driver, [paymentWorkflow(new Gateway(), { declineOver: 100 })], {}, { projections: [transitionHeatProjection] })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("counts exactly the transitions recorded in the histories, over each window", async () => {
    const http = client(server, "inject")
    const ids = ["h1", "h2", "h3", "h4"]
    // Two delivered, one declined (the activity's error transition), one left in shipped.
    for (const [index, id] of ids.entries()) {
      const started = await http("POST", "/workflows/payment", { body: { id, input: { amount: index === 2 ? 500 : 10 } } })
      expect(started.status).toBe(201)
    }
    for (const id of ids) {
      await eventually(() => http("GET", `/workflows/payment/${id}`), (answer) => ["shipped", "cancelled"].includes(answer.json.state))
    }
    for (const id of ["h1", "h2"]) expect((await http("POST", `/workflows/payment/${id}/events`, { body: { type: "DELIVERED" } })).status).toBe(200)
    // Refused: no transition, nothing counted.
    expect((await http("POST", "/workflows/payment/h4/events", { body: { type: "CANCEL", reason: "too late" } })).status).toBe(409)

    const histories = await Promise.all(ids.map(async (id) => (await http("GET", `/workflows/payment/${id}/history`, { headers: asReader })).json.items))
    const expected = countsFromHistories(histories)
    expect(expected.get(JSON.stringify(["payment.charging", "xstate.error.actor.charge", "payment.cancelled"]))).toBe(1)
    expect(expected.get(JSON.stringify(["payment.shipped", "DELIVERED", "payment.delivered"]))).toBe(2)

    // The read model catches up on its own: wait until it has counted every recorded transition.
    const total = [...expected.values()].reduce((sum, count) => sum + count, 0)
    const reader = client(server, "live", asReader)
    const heat = await eventually(() => reader("GET", "/machines/payment/heat?window=all"), (answer) => answer.status === 200 && (answer.json.transitions as Array<Row>).reduce((sum, row) => sum + row.count, 0) >= total)
    expect(countsFromHeat(heat.json.transitions)).toEqual(expected)
    expect(heat.json).toMatchObject({ type: "payment", window: "all", since: null, unrecorded: 0 })
    const counts = (heat.json.transitions as Array<Row>).map((row) => row.count)
    expect(counts).toEqual([...counts].sort((a, b) => b - a))

    for (const window of ["hour", "day"]) {
      const answer = await reader("GET", `/machines/payment/heat?window=${window}`)
      expect(answer.status).toBe(200)
      expect(countsFromHeat(answer.json.transitions)).toEqual(expected)
      expect(Date.parse(answer.json.since)).toBeLessThanOrEqual(Date.now() - (window === "hour" ? 59 : 23 * 60) * 60_000)
    }
    // No window: the last hour.
    expect((await reader("GET", "/machines/payment/heat")).json.window).toBe("hour")

    const viaClient = await createClient({ url: server.url, token: readToken }).heat("payment", "all")
    expect(viaClient.transitions).toEqual(heat.json.transitions)
  })

  it("answers 404 for an unknown type and 400 for an unknown window", async () => {
    const reader = client(server, "inject", asReader)
    const unknown = await reader("GET", "/machines/nope/heat")
    expect(unknown.status).toBe(404)
    expect(unknown.json).toMatchObject({ error: "WorkflowNotFound" })
    const bad = await reader("GET", "/machines/payment/heat?window=week")
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ error: "ValidationError" })
  })
})

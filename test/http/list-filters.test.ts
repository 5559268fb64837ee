/**
 * GET /workflows's filters on a user's workflow with nested and parallel states, on
 * both drivers: a state as a dotted path (any depth, regions included), the time an
 * instance last moved, its id exactly or by how it begins, with and without a type.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ticketPaths, ticketWorkflow } from "../inspector/project/ticket.js"
import { drivers } from "../support/drivers.js"
import { type TestServer, asReader, client, startServer } from "./support.js"
import { door } from "./door.js"

describe.each(drivers)("GET /workflows filters on %s", (driver) => {
  let server: TestServer
  /** The instances started here, by where they stand. */
  let startedBefore = ""
  beforeAll(async () => {
    server = await startServer(driver, [ticketWorkflow, door(1)])
    const http = client(server, "inject")
    for (const [name, events] of Object.entries(ticketPaths)) {
      expect((await http("POST", "/workflows/ticket", { body: { id: `t-${name}`, input: {} } })).status).toBe(201)
      for (const type of events) expect((await http("POST", `/workflows/ticket/t-${name}/events`, { body: { type } })).status).toBe(200)
    }
    // The database's clock and this process's are the same machine's; step past the last move.
    await new Promise((resolve) => setTimeout(resolve, 20))
    startedBefore = new Date().toISOString()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect((await http("POST", "/workflows/ticket", { body: { id: "t-late", input: {} } })).status).toBe(201)
    expect((await http("POST", "/workflows/door", { body: { id: "t-working", input: {} } })).status).toBe(201)
  })
  afterAll(async () => {
    await server?.close()
  })

  const ids = async (query: string) => {
    const answer = await client(server, "live", asReader)("GET", `/workflows?${query}&limit=500`)
    expect(answer.status, answer.text).toBe(200)
    return answer.json.items.map((item: { type: string; id: string }) => `${item.type}/${item.id}`).sort()
  }
  const tickets = (...names: Array<string>) => names.map((name) => `ticket/t-${name}`).sort()

  it("a state path matches that state at any depth, the states inside it, and a parallel state's regions", async () => {
    expect(await ids("type=ticket&state=open")).toEqual(tickets("triage", "working", "paused", "late"))
    expect(await ids("type=ticket&state=open.triage")).toEqual(tickets("triage", "late"))
    expect(await ids("type=ticket&state=open.assigned")).toEqual(tickets("working", "paused"))
    expect(await ids("type=ticket&state=open.assigned.paused")).toEqual(tickets("paused"))
    expect(await ids("type=ticket&state=review")).toEqual(tickets("reviewing", "codeApproved"))
    expect(await ids("type=ticket&state=review.code")).toEqual(tickets("reviewing", "codeApproved"))
    expect(await ids("type=ticket&state=review.code.approved")).toEqual(tickets("codeApproved"))
    expect(await ids("type=ticket&state=review.docs.pending")).toEqual(tickets("reviewing", "codeApproved"))
    expect(await ids("type=ticket&state=closed")).toEqual(tickets("closed"))
    // A leaf has nothing inside it; a key that is no state's matches nothing.
    expect(await ids("type=ticket&state=open.triage.deeper")).toEqual([])
    expect(await ids("type=ticket&state=triage")).toEqual([])
    expect(await ids("type=ticket&state=assigned.paused")).toEqual([])
    // Combined with the status.
    expect(await ids("type=ticket&state=closed&status=running")).toEqual([])
    expect(await ids("type=ticket&state=closed&status=done")).toEqual(tickets("closed"))
  })

  it("a key with a quote or a backslash is matched as itself, never as JSON path syntax", async () => {
    for (const state of ['open"', "open\\", 'a".b', "$", "open.*", "@"]) expect(await ids(`type=ticket&state=${encodeURIComponent(state)}`)).toEqual([])
  })

  it("updatedBefore keeps the instances that last moved before it", async () => {
    expect(await ids(`type=ticket&updatedBefore=${encodeURIComponent(startedBefore)}`)).toEqual(tickets(...Object.keys(ticketPaths)))
    expect(await ids(`type=ticket&updatedBefore=${encodeURIComponent(new Date(Date.parse(startedBefore) - 3_600_000).toISOString())}`)).toEqual([])
    expect(await ids(`type=ticket&state=open&updatedBefore=${encodeURIComponent(startedBefore)}`)).toEqual(tickets("triage", "working", "paused"))
  })

  it("id finds an instance exactly and idPrefix by how its id begins, of any type unless one is named", async () => {
    expect(await ids("id=t-working")).toEqual(["door/t-working", "ticket/t-working"])
    expect(await ids("type=ticket&id=t-working")).toEqual(tickets("working"))
    expect(await ids("id=t-work")).toEqual([])
    expect(await ids("idPrefix=t-wo")).toEqual(["door/t-working", "ticket/t-working"])
    expect(await ids("type=ticket&idPrefix=t-")).toEqual(tickets(...Object.keys(ticketPaths), "late"))
    // A pattern's characters are themselves.
    expect(await ids("idPrefix=t_")).toEqual([])
    expect(await ids("idPrefix=%25")).toEqual([])
  })

  it("refuses a malformed state path or time", async () => {
    const reader = client(server, "live", asReader)
    for (const query of ["state=open..triage", "state=.open", "state=open.", "updatedBefore=yesterday", "updatedBefore=2026-13-45T99:00:00Z", "idPrefix="]) {
      const answer = await reader("GET", `/workflows?${query}`)
      expect(answer.status, query).toBe(400)
    }
  })
})

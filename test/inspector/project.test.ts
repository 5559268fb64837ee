/**
 * The inspector on a user's own project: `orrery start` serving a config with
 * workflows of its own (test/inspector/project: a ticket with nested and parallel states,
 * and a reminder), none of the shipped domains. Its pages work as the shipped ones do;
 * the instance list's filters, paging and the top bar's search list exactly what the API
 * lists; what cannot be found or loaded is said so; and no Costs tab, no /costs request.
 */
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningApp, drawnStates, hasChromium, launchBrowser, readToken, startApp, until } from "./app.js"
import { ticketPaths } from "./project/ticket.js"

const tokenKey = "orrery.inspector.token"

// The pages are the same on either driver, and test/http/list-filters.test.ts checks the filters' SQL on
// both: the browser suite runs on the embedded default only, which keeps the suite inside its time.
describe.skipIf(!hasChromium).each(["pglite"] as const)("the inspector on a user's own project on %s", (driver) => {
  let app: RunningApp
  let browser: Browser
  /** The tickets started first, moved, then left alone; the ones started a while later. */
  const early = Object.keys(ticketPaths).map((name) => `tk-${name}`)
  const late = Array.from({ length: 12 }, (_, n) => `tk-page-${String(n).padStart(2, "0")}`)
  /** Every request path each page made, by the hash it opened. */
  const requested = new Map<string, Array<string>>()
  const problems: Array<string> = []
  /** A moment after the early tickets last moved and before the late ones came. */
  let between = 0

  beforeAll(async () => {
    ;[app, browser] = await Promise.all([startApp(driver, { configFile: "test/inspector/project/orrery.config.ts" }), launchBrowser()])
    for (const [name, events] of Object.entries(ticketPaths)) {
      await app.api("POST", "/workflows/ticket", { id: `tk-${name}`, input: { title: name } })
      for (const type of events) await app.api("POST", `/workflows/ticket/tk-${name}/events`, { type })
    }
    for (const id of ["rm-1", "rm-10"]) await app.api("POST", "/workflows/reminder", { id, input: {} })
    // The later tickets come 10 s after the early ones last moved: an idle time whose cut-off falls between them tells them apart.
    const moved = Date.now()
    await until(async () => Date.now(), (now) => now > moved + 10_000, 30_000)
    between = moved + 5_000
    for (const id of late) await app.api("POST", "/workflows/ticket", { id, input: { title: id } })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  const open = async (hash: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    await context.addInitScript(([key, value]) => (globalThis as any).sessionStorage.setItem(key, value), [tokenKey, readToken])
    const page = await context.newPage()
    const paths: Array<string> = []
    requested.set(hash, paths)
    page.on("request", (request) => paths.push(new URL(request.url()).pathname))
    page.on("pageerror", (error) => problems.push(`${hash}: ${error.message}`))
    await page.goto(`${app.url}/inspect#${hash}`)
    return page
  }

  /** The ids the list shows once it has settled on what the API lists for the query it sent; both answered. */
  const listed = async (page: Page, ...asked: Array<string>) => {
    let last: unknown
    return until(
      async () => {
        const query = await page.locator("div.instances").getAttribute("data-query")
        if (query === null || !asked.every((part) => query.includes(part))) return undefined
        const shown = await page.locator("table.instance-list tbody tr, div.instances p.empty").evaluateAll((nodes) =>
          nodes.flatMap((node) => (node.matches("tr") ? [node.getAttribute("data-id")!] : []))
        )
        const all = new URL(query, app.url)
        all.searchParams.set("limit", "500")
        const api = await app.api("GET", `${all.pathname}${all.search}`)
        last = { query, shown, api: api.items.map((item: any) => item.id) }
        return JSON.stringify(shown) === JSON.stringify(api.items.map((item: any) => item.id)) && (await page.locator("div.instances p.loading").count()) === 0 ? { query, ids: shown } : undefined
      },
      (value) => value !== undefined,
      20_000
    ).catch((error) => {
      throw new Error(`${error.message}; last: ${JSON.stringify(last)}`)
    }) as Promise<{ query: string; ids: Array<string> }>
  }

  const noLoadingLeft = async (page: Page) => expect(await page.getByText("Loading…").count()).toBe(0)

  it("has no Costs tab and asks nothing of /costs: the project has no writing domain", async () => {
    const page = await open("/")
    await page.locator("table.catalogue tbody tr").first().waitFor()
    expect(await page.locator("nav a").allTextContents()).toEqual(["Machines"])
    expect(await page.locator('table.catalogue a[href^="#/machines/"]').allTextContents()).toEqual(["reminder", "ticket"])
    expect((await fetch(`${app.url}/inspect/pages`).then((answer) => answer.json() as Promise<any>)).items).toEqual([])
    // An address that would be a domain's page elsewhere is simply not here.
    await page.goto(`${app.url}/inspect#/costs`)
    await page.locator(".not-found h1", { hasText: "Not found" }).waitFor()
    expect(requested.get("/")!.filter((path) => path.includes("costs"))).toEqual([])
    expect(requested.get("/")).toContain("/inspect/pages")
    await page.context().close()
  })

  it("draws the user's machine with every state, counts on it, and lists every instance as the API does", async () => {
    const page = await open("/machines/ticket")
    const [version] = (await app.api("GET", "/machines/ticket")).versions
    expect(await drawnStates(page)).toEqual(version.states.map((state: any) => state.id).sort())
    // One version: nothing to compare it with.
    expect(await page.locator('select[name="compare"]').isVisible()).toBe(false)
    // Nested states count their instances too: five tickets stand somewhere in open.
    await expect.poll(() => page.locator('svg.chart g.state[data-state="ticket.open"] g.count').getAttribute("data-count"), { timeout: 10_000 }).toBe(String(3 + late.length))
    const all = await listed(page)
    expect(all.query).toBe("/workflows?type=ticket&limit=50")
    expect(all.ids.sort()).toEqual([...early, ...late].sort())
    await noLoadingLeft(page)
    await page.context().close()
  })

  it("filters by status, by a nested state (picked or clicked on the chart), by time in the state and by id prefix, each exactly as the API lists", async () => {
    const page = await open("/machines/ticket")
    await listed(page)

    await page.selectOption('select[name="status"]', "done")
    expect((await listed(page, "status=done")).ids).toEqual(["tk-closed"])
    await page.selectOption('select[name="status"]', "")

    await page.selectOption('select[name="state"]', "open.assigned")
    const assigned = await listed(page, "state=open.assigned")
    expect(assigned.query).toContain("state=open.assigned")
    expect(assigned.ids.sort()).toEqual(["tk-paused", "tk-working"])
    await page.selectOption('select[name="state"]', "open.assigned.paused")
    expect((await listed(page, "state=open.assigned.paused")).ids).toEqual(["tk-paused"])

    // A region of a parallel state, clicked on the chart.
    await page.click('svg.chart g.state[data-state="ticket.review.code.approved"]')
    const approved = await listed(page, "state=review.code.approved")
    expect(approved.query).toContain("state=review.code.approved")
    expect(approved.ids).toEqual(["tk-codeApproved"])
    expect(await page.locator('select[name="state"]').inputValue()).toBe("review.code.approved")
    expect(page.url()).toContain("state=review.code.approved")
    await page.selectOption('select[name="state"]', "review")
    expect((await listed(page, "state=review&")).ids.sort()).toEqual(["tk-codeApproved", "tk-reviewing"])
    await page.selectOption('select[name="state"]', "")

    // In its state for longer than since a moment between the two batches: the early tickets, not the late
    // ones, however long the tests before this one took.
    await page.fill('input[name="idle"]', ((Date.now() - between) / 60_000).toFixed(4))
    const idle = await listed(page, "updatedBefore=")
    const before = new URL(idle.query, app.url).searchParams.get("updatedBefore")!
    const everyTicket = (await app.api("GET", "/workflows?type=ticket&limit=500")).items
    expect(idle.ids.sort()).toEqual(everyTicket.filter((item: any) => item.updatedAt < before).map((item: any) => item.id).sort())
    expect(idle.ids.sort()).toEqual([...early].sort())
    await page.fill('input[name="idle"]', "")

    await page.fill('input[name="id"]', "tk-page-0")
    const prefixed = await listed(page, "idPrefix=tk-page-0")
    expect(prefixed.query).toContain("idPrefix=tk-page-0")
    expect(prefixed.ids.sort()).toEqual(late.filter((id) => id.startsWith("tk-page-0")).sort())

    // Filters combine, and the address keeps them: a reload lists the same.
    await page.selectOption('select[name="state"]', "open.triage")
    await page.fill('input[name="id"]', "tk-page-1")
    const combined = await listed(page, "state=open.triage", "idPrefix=tk-page-1")
    expect(combined.ids.sort()).toEqual(late.filter((id) => id.startsWith("tk-page-1")).sort())
    await page.reload()
    expect((await listed(page, "state=open.triage", "idPrefix=tk-page-1")).ids.sort()).toEqual(combined.ids.sort())
    expect(await page.locator('input[name="id"]').inputValue()).toBe("tk-page-1")
    await noLoadingLeft(page)
    await page.context().close()
  })

  it("pages through every instance with the API's cursor, and the list follows new instances live", async () => {
    const page = await open("/machines/ticket?limit=5")
    await page.locator("button.more").waitFor()
    expect(await page.locator("table.instance-list tbody tr").count()).toBe(5)
    while ((await page.locator("button.more").count()) > 0) {
      const rows = await page.locator("table.instance-list tbody tr").count()
      await page.click("button.more")
      await expect.poll(() => page.locator("table.instance-list tbody tr").count(), { timeout: 10_000 }).toBeGreaterThan(rows)
    }
    const all = (await app.api("GET", "/workflows?type=ticket&limit=500")).items.map((item: any) => item.id)
    expect(await page.locator("table.instance-list tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-id")))).toEqual(all)
    expect(all).toHaveLength(early.length + late.length)

    const id = `tk-live-${Date.now()}`
    await app.api("POST", "/workflows/ticket", { id, input: {} })
    await page.locator(`table.instance-list tr[data-id="${id}"]`).waitFor({ timeout: 15_000 })
    await page.context().close()
  })

  it("the top bar's search opens an instance of another type by its id, exact id first, and lists the ones its id begins", async () => {
    const page = await open("/machines/ticket")
    await page.locator("table.instance-list").waitFor()
    await page.fill("#search", "rm-1")
    await page.press("#search", "Enter")
    await page.locator(".instance-head h1", { hasText: "rm-1" }).waitFor()
    expect(page.url()).toContain("#/instances/reminder/rm-1")
    expect(await page.locator(".instance-head h1 a").textContent()).toBe("reminder")

    await page.fill("#search", "rm-")
    await page.press("#search", "Enter")
    await page.locator("table.search-list").waitFor()
    const found = await page.locator("table.search-list tbody tr").evaluateAll((rows) => rows.map((row) => `${row.getAttribute("data-type")}/${row.getAttribute("data-id")}`))
    expect(found.sort()).toEqual((await app.api("GET", "/workflows?idPrefix=rm-&limit=500")).items.map((item: any) => `${item.type}/${item.id}`).sort())

    await page.fill("#search", "tk-pau")
    await page.press("#search", "Enter")
    await page.locator(".instance-head h1", { hasText: "tk-paused" }).waitFor()

    await page.fill("#search", "nobody-has-this")
    await page.press("#search", "Enter")
    await page.locator(".search-results .empty", { hasText: "No instance has the id nobody-has-this" }).waitFor()
    await page.context().close()
  })

  it("opens an instance of the user's workflow: its nested state lit on the chart, its whole history", async () => {
    const page = await open("/instances/ticket/tk-paused")
    await page.locator("ol.timeline li").first().waitFor()
    const history = await app.api("GET", "/workflows/ticket/tk-paused/history")
    await expect.poll(() => page.locator("ol.timeline li").count(), { timeout: 10_000 }).toBe(history.items.length)
    const lit = await page.locator("svg.chart g.state.active").evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-state")))
    expect(lit.sort()).toEqual(["ticket.open", "ticket.open.assigned", "ticket.open.assigned.paused"])
    expect(await page.locator(".current-state").textContent()).toBe("open.assigned.paused")
    await noLoadingLeft(page)
    await page.context().close()
  })

  it("says an unknown instance or machine is not found, with the API's words, and never leaves Loading… on screen", async () => {
    const page = await open("/instances/ticket/no-such-ticket")
    await page.locator(".not-found h1", { hasText: "Not found" }).waitFor()
    expect(await page.locator(".not-found .what").textContent()).toContain("No instance no-such-ticket of ticket")
    const answer = await fetch(`${app.url}/workflows/ticket/no-such-ticket`, { headers: { authorization: `Bearer ${readToken}` } }).then((r) => r.json() as Promise<any>)
    expect(await page.locator(".not-found .api-message").textContent()).toBe(answer.message)
    await noLoadingLeft(page)

    await page.goto(`${app.url}/inspect#/machines/no-such-machine`)
    await page.locator(".not-found .what", { hasText: "No workflow type no-such-machine" }).waitFor()
    await noLoadingLeft(page)

    await page.goto(`${app.url}/inspect#/instances/no-such-machine/x`)
    await page.locator(".not-found h1", { hasText: "Not found" }).waitFor()
    await noLoadingLeft(page)
    await page.context().close()
  })

  it("shows the API's error where a view cannot load, instead of Loading…", async () => {
    const page = await open("/")
    // The census fails: the catalogue says why.
    await page.route("**/machines/*/states", (route) => route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: "StoreUnavailable", message: "the database is not answering" }) }))
    await page.reload()
    await page.locator(".machines .load-error", { hasText: "the database is not answering" }).waitFor()
    await noLoadingLeft(page)

    // On a machine's page: the chart's census and the list each say their own failure.
    await page.route("**/workflows?*", (route) => route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: "InternalError", message: "the list broke" }) }))
    await page.goto(`${app.url}/inspect#/machines/ticket`)
    await page.locator(".chart-box .load-error", { hasText: "the database is not answering" }).waitFor()
    await page.locator(".instances .load-error", { hasText: "the list broke" }).waitFor()
    await noLoadingLeft(page)

    // An instance whose history cannot be read.
    await page.route("**/workflows/ticket/tk-paused/history", (route) => route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: "InternalError", message: "the history broke" }) }))
    await page.goto(`${app.url}/inspect#/instances/ticket/tk-paused`)
    await page.locator(".load-error", { hasText: "the history broke" }).waitFor()
    await noLoadingLeft(page)

    // The server gone altogether.
    await page.route("**/machines", (route) => route.abort("connectionrefused"))
    await page.goto(`${app.url}/inspect#/`)
    await page.locator(".machines .load-error", { hasText: "The server did not answer" }).waitFor()
    await noLoadingLeft(page)
    await page.context().close()
  })

  it("no page threw", () => {
    expect(problems).toEqual([])
  })
})

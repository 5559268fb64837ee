/**
 * The transition heatmap in a real browser, on a user's project (test/inspector/project:
 * a ticket with nested and parallel states): turning "Heat" on marks every arrow of the
 * machine's chart with how often its transition was taken, exactly as the histories
 * recorded it (read back from the history route), with the count in its label's tooltip;
 * turning it off clears the marks.
 */
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningApp, hasChromium, launchBrowser, readToken, startApp, until } from "./app.js"
import { ticketPaths } from "./project/ticket.js"

const tokenKey = "orrery.inspector.token"

// The page is the same on either driver, and test/http/heat.test.ts checks the counts' SQL on both.
describe.skipIf(!hasChromium).each(["pglite"] as const)("the transition heatmap on %s", (driver) => {
  let app: RunningApp
  let browser: Browser
  const problems: Array<string> = []
  /** How often each (source, event, target) was taken, from the histories. */
  const expected = new Map<string, number>()
  const keyOf = (source: string, event: string, target: string | null) => JSON.stringify([source, event, target])

  beforeAll(async () => {
    ;[app, browser] = await Promise.all([startApp(driver, { configFile: "test/inspector/project/orrery.config.ts" }), launchBrowser()])
    for (const [name, events] of Object.entries(ticketPaths)) {
      await app.api("POST", "/workflows/ticket", { id: `heat-${name}`, input: { title: name } })
      for (const type of events) await app.api("POST", `/workflows/ticket/heat-${name}/events`, { type })
    }
    for (const name of Object.keys(ticketPaths)) {
      const history = await app.api("GET", `/workflows/ticket/heat-${name}/history`)
      for (const entry of history.items) {
        if (entry.kind !== "input") continue
        for (const [source, event, ...targets] of entry.metadata.transitions as Array<[string, string, ...Array<string>]>) {
          for (const target of targets.length === 0 ? [null] : targets) expected.set(keyOf(source, event, target), (expected.get(keyOf(source, event, target)) ?? 0) + 1)
        }
      }
    }
    const total = [...expected.values()].reduce((sum, count) => sum + count, 0)
    expect(total).toBeGreaterThan(5)
    // The read model catches up on its own.
    await until(() => app.api("GET", "/machines/ticket/heat?window=all"), (heat) => heat.transitions.reduce((sum: number, row: any) => sum + row.count, 0) >= total)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  const open = async (hash: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    await context.addInitScript(([key, value]) => (globalThis as any).sessionStorage.setItem(key, value), [tokenKey, readToken])
    const page = await context.newPage()
    page.on("pageerror", (error) => problems.push(`${hash}: ${error.message}`))
    await page.goto(`${app.url}/inspect#${hash}`)
    return page
  }

  /** Each drawn arrow's transition (by the graph's edge id `t<index>.<target index>`), its data-heat, and its label's tooltip. */
  const arrows = async (page: Page) => {
    const graph = (await app.api("GET", "/machines/ticket")).versions.at(-1)
    const drawn = await page.locator("svg.chart g.transition[data-edge]").evaluateAll((nodes) =>
      nodes.map((node) => {
        const id = node.getAttribute("data-edge")!
        const label = node.ownerSVGElement!.querySelector(`g.edge-label[data-edge="${id}"]`)
        return { id, heat: node.getAttribute("data-heat"), labelHeat: label?.getAttribute("data-heat") ?? null, tooltip: label?.querySelector("title")?.textContent ?? null, width: (node.querySelector("path") as unknown as { style: { strokeWidth: string } }).style.strokeWidth }
      })
    )
    return drawn.map((arrow) => {
      const [index, targetIndex] = arrow.id.slice(1).split(".").map(Number) as [number, number]
      const transition = graph.transitions[index]
      return { ...arrow, key: keyOf(transition.source, transition.event, transition.targets[targetIndex]) }
    })
  }

  it("marks every arrow with its count when heat is turned on, and clears the marks when it is turned off", async () => {
    const page = await open("/machines/ticket")
    await page.locator("svg.chart g.transition[data-edge]").first().waitFor({ state: "attached" })
    expect((await arrows(page)).every((arrow) => arrow.heat === null)).toBe(true)

    await page.locator("select[name=heat]").selectOption("all")
    await page.locator("svg.chart g.transition[data-heat]").first().waitFor({ state: "attached" })
    const marked = await arrows(page)
    expect(marked.length).toBeGreaterThan(5)
    for (const arrow of marked) {
      const count = expected.get(arrow.key) ?? 0
      expect({ key: arrow.key, heat: arrow.heat, labelHeat: arrow.labelHeat }).toEqual({ key: arrow.key, heat: String(count), labelHeat: String(count) })
      expect(arrow.tooltip).toContain(`taken ${count} time${count === 1 ? "" : "s"} in the whole log`)
    }
    // Every transition taken has its arrow (targetless ones have none to mark), and the most taken is the widest.
    const drawnKeys = new Set(marked.map((arrow) => arrow.key))
    for (const key of expected.keys()) if (JSON.parse(key)[2] !== null) expect(drawnKeys).toContain(key)
    const widest = marked.reduce((best, arrow) => (Number(arrow.width) > Number(best.width) ? arrow : best))
    expect(expected.get(widest.key)).toBe(Math.max(...expected.values()))
    expect(page.url()).toContain("heat=all")

    await page.locator("select[name=heat]").selectOption("off")
    await until(() => arrows(page), (all) => all.every((arrow) => arrow.heat === null && !(arrow.tooltip ?? "").includes("taken")), 30_000)
    expect(problems).toEqual([])
  })

  it("opens with the heat the address names", async () => {
    const page = await open("/machines/ticket?heat=hour")
    await page.locator("svg.chart g.transition[data-heat]").first().waitFor({ state: "attached" })
    const marked = await arrows(page)
    for (const arrow of marked) expect(arrow.heat).toBe(String(expected.get(arrow.key) ?? 0))
    expect(await page.locator("select[name=heat]").inputValue()).toBe("hour")
    expect(problems).toEqual([])
  })
})

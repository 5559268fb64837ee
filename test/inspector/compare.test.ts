/**
 * The machine view compares two versions: the gate of test/inspector/versions, whose
 * version-1 instances were written before the project served version 2 beside it (an
 * in-process Orrery on the same PGlite folder, then `orrery start`). With "compare with"
 * picked, the lists name exactly the states the API says were added and removed, the
 * chart marks exactly those (green, red and dashed), the removed states carry their
 * stranded instances, and the address keeps both versions across a reload.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createOrrery } from "orrery"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningApp, hasChromium, launchBrowser, readToken, saveScreenshot, startApp } from "./app.js"
import { gateChanges, gateV1 } from "./versions/gate.js"

const tokenKey = "orrery.inspector.token"

// The route's SQL runs on both drivers in test/http/machine-compare.test.ts; the page is the same on either.
describe.skipIf(!hasChromium).each(["pglite"] as const)("comparing versions in the inspector on %s", (driver) => {
  let app: RunningApp
  let browser: Browser
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-compare-"))

  beforeAll(async () => {
    const dataDir = path.join(folder, "data")
    const before = await createOrrery({ workflows: [gateV1], database: { dataDir } })
    const driven = { "g-open": ["OPEN"], "g-jam1": ["OPEN", "JAM"], "g-jam2": ["OPEN", "JAM"], "g-latched": ["LOCK", "UNBOLT"] } as const
    for (const [id, events] of Object.entries(driven)) {
      const gate = (await before.start("gate", {}, { id })).instance
      expect(gate.machineVersion).toBe(1)
      for (const type of events) await before.handle("gate", id).send({ type })
    }
    await before.close()
    ;[app, browser] = await Promise.all([
      startApp(driver, { configFile: "test/inspector/versions/orrery.config.ts", env: { ORRERY_DATA_DIR: dataDir } }),
      launchBrowser()
    ])
    await app.api("POST", "/workflows/gate", { id: "g-new", input: {} })
    await app.api("POST", "/workflows/gate/g-new/events", { type: "OPEN" })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
    fs.rmSync(folder, { recursive: true, force: true })
  })

  const open = async (hash: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    await context.addInitScript(([key, value]) => (globalThis as any).sessionStorage.setItem(key, value), [tokenKey, readToken])
    const page = await context.newPage()
    await page.goto(`${app.url}/inspect#${hash}`)
    return page
  }

  /** What the page shows of a comparison, once it shows `to` compared with `from`. */
  const shown = async (page: Page, from: number, to: number) => {
    await page.locator(`section.comparison[data-from="${from}"][data-to="${to}"]`).waitFor({ timeout: 20_000 })
    const listed = (name: string) => page.locator(`section.comparison .${name} li`).evaluateAll((items) => items.map((item) => item.getAttribute("data-path")).sort())
    const marked = (change: string) => page.locator(`svg.chart g.state[data-change="${change}"]`).evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-state")).sort())
    const stranded = await page.locator("section.comparison .states-removed li").evaluateAll((items) =>
      Object.fromEntries(items.map((item) => [item.getAttribute("data-path"), { count: Number(item.getAttribute("data-stranded")), links: [...item.querySelectorAll("a")].map((a) => a.textContent).sort() }]))
    )
    return { added: await listed("states-added"), removed: await listed("states-removed"), markedAdded: await marked("added"), markedRemoved: await marked("removed"), stranded }
  }

  it("lists and marks exactly the states version 2 adds and removes, with the version-1 instances stranded in them", async () => {
    const page = await open("/machines/gate")
    await page.locator('select[name="compare"] option[value="1"]').waitFor({ state: "attached" })
    await page.selectOption('select[name="compare"]', "1")
    const seen = await shown(page, 1, 2)
    const api = await app.api("GET", "/machines/gate/compare?from=1&to=2")
    expect(seen.added).toEqual(gateChanges.added)
    expect(seen.removed).toEqual(gateChanges.removed)
    expect(seen.added).toEqual(api.states.added.map((state: any) => state.path).sort())
    expect(seen.removed).toEqual(api.states.removed.map((state: any) => state.path).sort())
    expect(seen.markedAdded).toEqual(api.states.added.map((state: any) => state.id).sort())
    expect(seen.markedRemoved).toEqual(api.states.removed.map((state: any) => state.id).sort())

    // Every state of version 2 is drawn, and the removed ones beside them; only the changes are marked.
    const [, v2] = (await app.api("GET", "/machines/gate")).versions
    const drawn = await page.locator("svg.chart g.state").evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-state")).sort())
    expect(drawn).toEqual([...v2.states.map((state: any) => state.id), ...api.states.removed.map((state: any) => state.id)].sort())
    // Arrows too: one drawn edge per changed transition (each has one target).
    expect(await page.locator('svg.chart g.transition[data-change="added"]').count()).toBe(api.transitions.added.length)
    expect(await page.locator('svg.chart g.transition[data-change="removed"]').count()).toBe(api.transitions.removed.length)
    // Removed is drawn dashed, added not.
    const dash = (id: string) => page.locator(`svg.chart g.state[data-state="${id}"] > rect.state-box`).evaluate((rect) => (globalThis as any).getComputedStyle(rect).strokeDasharray as string)
    expect(await dash("gate.jammed")).not.toBe("none")
    expect(await dash("gate.opening")).toBe("none")

    expect(seen.stranded).toEqual({
      jammed: { count: 2, links: ["g-jam1", "g-jam2"] },
      "jammed.stuck": { count: 2, links: ["g-jam1", "g-jam2"] },
      "locked.latched": { count: 1, links: ["g-latched"] }
    })
    expect(await page.locator('svg.chart g.state[data-state="gate.jammed"] g.count').getAttribute("data-count")).toBe("2")
    // Each stranded instance counted once, though the two jammed ones stand in jammed and in jammed.stuck.
    expect(await page.locator("section.comparison .stranded-total").getAttribute("data-count")).toBe("3")
    await saveScreenshot(page, "machine-compare")
    await page.context().close()
  })

  it("keeps the versions in the address: a reload shows the same comparison, either way round", async () => {
    const page = await open("/machines/gate?compare=1")
    const first = await shown(page, 1, 2)
    expect(first.removed).toEqual(gateChanges.removed)

    await page.selectOption('select[name="version"]', "1")
    await page.selectOption('select[name="compare"]', "2")
    await expect.poll(() => page.url()).toMatch(/version=1&compare=2/)
    await page.reload()
    const back = await shown(page, 2, 1)
    expect(await page.locator('select[name="version"]').inputValue()).toBe("1")
    expect(await page.locator('select[name="compare"]').inputValue()).toBe("2")
    expect(back.added).toEqual(gateChanges.removed)
    expect(back.removed).toEqual(gateChanges.added)
    expect(back.stranded).toEqual({ opening: { count: 1, links: ["g-new"] }, "locked.alarmed": { count: 0, links: [] } })

    // "—" compares with nothing: the chart is version 1's alone, unmarked.
    await page.selectOption('select[name="compare"]', "")
    await page.locator("section.comparison").waitFor({ state: "detached" })
    expect(page.url()).not.toContain("compare=")
    expect(await page.locator("svg.chart g.state[data-change]").count()).toBe(0)
    await page.context().close()
  })
})

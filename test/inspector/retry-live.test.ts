/**
 * Retry from an instance's page, on a user's own project: a failed instance's page says it
 * ended; "Retry…" asks first, then the page follows the instance live again — the new steps,
 * the lit state and "ended: done" arrive without a reload. The page's behaviour is the same
 * on either driver (the retry route runs on both in test/http/routes.test.ts), so PGlite only.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningApp, hasChromium, launchBrowser, operateToken, startApp, until } from "./app.js"

const tokenKey = "orrery.inspector.token"

describe.skipIf(!hasChromium)("retrying a failed instance from its page", () => {
  let app: RunningApp
  let browser: Browser
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-gate-"))

  beforeAll(async () => {
    ;[app, browser] = await Promise.all([startApp("pglite", { configFile: "test/inspector/gate/orrery.config.ts" }), launchBrowser()])
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
    fs.rmSync(folder, { recursive: true, force: true })
  })

  it("follows the instance live again after the retry, up to its end", async () => {
    const file = path.join(folder, "shut")
    fs.writeFileSync(file, "")
    await app.api("POST", "/workflows/gate", { id: "g-1", input: { file } })
    const failed = await until(() => app.api("GET", "/workflows/gate/g-1"), (instance) => instance.status === "failed")
    expect(failed.state).toBe("passing")

    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    await context.addInitScript(([key, value]) => (globalThis as any).sessionStorage.setItem(key, value), [tokenKey, operateToken])
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("pageerror", (error) => problems.push(error.message))
    await page.goto(`${app.url}/inspect#/instances/gate/g-1`)
    await page.locator(".live", { hasText: "ended: failed" }).waitFor({ timeout: 30_000 })
    expect(await page.locator('svg.chart g.state.active[data-state="gate.passing"]').count()).toBe(1)
    const stepsBefore = await page.locator("ol.timeline li").count()

    // "Retry…" asks first; "Yes" retries, and the activity now passes.
    fs.rmSync(file)
    await page.click(".actions button.retry")
    await page.click(".actions .confirm button.confirm-yes")
    await page.locator(".live", { hasText: "ended: done" }).waitFor({ timeout: 60_000 })

    // What the page shows is what the API holds: the instance done in `passed`, its steps all drawn.
    const done = await app.api("GET", "/workflows/gate/g-1")
    expect(done).toMatchObject({ status: "done", state: "passed" })
    await page.locator('svg.chart g.state.active[data-state="gate.passed"]').waitFor({ timeout: 30_000 })
    const replayed = await app.api("GET", "/workflows/gate/g-1/replay")
    await expect.poll(() => page.locator("ol.timeline li").count(), { timeout: 30_000 }).toBe(replayed.steps.length)
    expect(replayed.steps.length).toBeGreaterThan(stepsBefore)
    const history = await app.api("GET", "/workflows/gate/g-1/history")
    expect(history.items.map((entry: { type: string }) => entry.type)).toContain("workflow.retried")
    expect(problems).toEqual([])
    await context.close()
  }, 180_000)
})

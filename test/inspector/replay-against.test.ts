/**
 * "Replay against" in the browser: an instance recorded on version 2 of the door,
 * folded through version 1, departs at the step where the versions differ; through
 * its own version it replays the same. In-process server, tokens required.
 */
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { door } from "../http/door.js"
import { type TestServer, client, readToken, startServer } from "../http/support.js"
import { drivers } from "../support/drivers.js"
import { hasChromium, launchBrowser } from "./app.js"

describe.skipIf(!hasChromium).each(drivers)("replaying against another version in the inspector on %s", (driver) => {
  let server: TestServer
  let browser: Browser
  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startServer(driver, [door(1), door(2)]), launchBrowser()])
    const http = client(server, "live")
    await http("POST", "/workflows/door", { body: { id: "front", input: {} } })
    await http("POST", "/workflows/door/front/events", { body: { type: "OPEN", by: "ann" } })
    await http("POST", "/workflows/door/front/events", { body: { type: "CLOSE" } })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("names the step where the other version departs, and marks it on the timeline", async () => {
    const context = await browser.newContext()
    await context.addInitScript((token) => (globalThis as any).sessionStorage.setItem("orrery.inspector.token", token), readToken)
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(`${server.url}/inspect#/instances/door/front`)
    await page.locator(".step-label", { hasText: "step 3 of 3" }).waitFor()
    expect(await page.locator("label.replay-against option").allTextContents()).toEqual(["—", "v1", "v2 (its own)"])

    await page.selectOption("label.replay-against select", "1")
    await page.locator('.replay-result[data-outcome="departs"]').waitFor()
    expect(await page.locator(".replay-result").textContent()).toBe('v1 departs at step 2: recorded {"state":"ajar"}, v1 gives {"state":"open"}')
    const marked = await page.locator("ol.timeline li.departs").evaluateAll((items) => items.map((item) => item.getAttribute("data-step")))
    expect(marked).toEqual(["2"])

    await page.selectOption("label.replay-against select", "2")
    await page.locator('.replay-result[data-outcome="same"]').waitFor()
    expect(await page.locator("ol.timeline li.departs").count()).toBe(0)
    expect(errors).toEqual([])
    await context.close()
  })
})

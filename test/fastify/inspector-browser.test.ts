/**
 * The inspector served by `orreryPlugin` under a prefix of a host app, in a real
 * browser: the page loads its scripts and its machine list from under that
 * prefix, and nothing it asks for leaves it.
 */
import Fastify, { type FastifyInstance } from "fastify"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { orreryPlugin } from "../../src/fastify.js"
import { door } from "../http/door.js"
import { orreryRuntime } from "../http/support.js"
import { hasChromium, launchBrowser } from "../inspector/app.js"
import { drivers } from "../support/drivers.js"

describe.skipIf(!hasChromium).each(drivers)("the inspector under a prefix on %s", (driver) => {
  const runtime = orreryRuntime(driver, [door(1)])
  let app: FastifyInstance
  let browser: Browser
  let url: string

  beforeAll(async () => {
    await runtime.context()
    app = Fastify({ logger: false })
    app.get("/", async () => ({ host: "home" }))
    await app.register(orreryPlugin, { prefix: "/tools/orrery", orrery: { runtime } })
    await app.listen({ host: "127.0.0.1", port: 0 })
    const address = app.server.address()
    url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    browser = await launchBrowser()
    const post = (path: string, body: unknown) => app.inject({ method: "POST", url: `/tools/orrery${path}`, payload: body as object })
    for (const id of ["kitchen", "cellar"]) expect((await post("/workflows/door", { id, input: {} })).statusCode).toBe(201)
    expect((await post("/workflows/door/cellar/events", { type: "LOCK" })).statusCode).toBe(200)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await app?.close()
    await runtime.dispose()
  })

  it("loads the machine list from the prefixed API, every request staying under the prefix", async () => {
    const page = await browser.newPage()
    const requested: Array<string> = []
    const problems: Array<string> = []
    page.on("request", (request) => requested.push(new URL(request.url()).pathname))
    page.on("response", (response) => (response.status() >= 400 ? problems.push(`${response.status()} ${response.url()}`) : undefined))
    page.on("pageerror", (error) => problems.push(error.message))
    page.on("console", (message) => (message.type() === "error" ? problems.push(message.text()) : undefined))
    await page.goto(`${url}/tools/orrery/inspect#/`)
    const row = page.locator("table.catalogue tbody tr", { has: page.locator('a[href="#/machines/door"]') })
    await row.waitFor()
    await expect.poll(() => row.locator('[data-status="running"]').textContent(), { timeout: 10_000 }).toBe("1")
    expect(await row.locator('[data-status="done"]').textContent()).toBe("1")
    expect(await page.locator("table.catalogue tbody tr").count()).toBe(1)

    expect(requested).toEqual(expect.arrayContaining(["/tools/orrery/inspect", "/tools/orrery/inspect/app.js", "/tools/orrery/machines", "/tools/orrery/machines/door/states"]))
    expect(requested.filter((path) => !path.startsWith("/tools/orrery/"))).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  })
})

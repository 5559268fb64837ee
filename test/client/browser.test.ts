/**
 * `orrery/client` needs no Node: its module graph, bundled for the browser by
 * esbuild, reaches no Node built-in and no package but `effect` (the server's
 * entry, bundled the same way, is caught by the same check); and the bundle
 * runs in Chromium against a real server on both drivers — start, send, get,
 * result, and typed errors read back in the page.
 */
import { type Metafile, build } from "esbuild"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasChromium, launchBrowser } from "../inspector/app.js"
import { operateToken, startServer, type TestServer } from "../http/support.js"
import { drivers } from "../support/drivers.js"
import { workflows } from "./signup.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** Bundles an entry as a browser would load it; fails on anything esbuild cannot resolve for the browser. */
const bundle = async (entry: string) => {
  const result = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    // Resolving Node built-ins is not esbuild's business here: keep them visible as imports, to be named below.
    external: [...builtinModules, ...builtinModules.map((name) => `node:${name}`)]
  })
  return { code: result.outputFiles[0]!.text, metafile: result.metafile }
}

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)])

/** What a browser cannot load: Node built-ins imported anywhere in the graph, and packages other than effect. */
const nodeOnly = (metafile: Metafile): ReadonlyArray<string> => {
  const found = new Set<string>()
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.path.startsWith("node:") || nodeBuiltins.has(imported.path)) found.add(`${file} imports ${imported.path}`)
    }
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]
    if (pkg !== undefined && pkg !== "effect") found.add(`package ${pkg}`)
  }
  return [...found].sort()
}

describe("the client's module graph", () => {
  it("bundles for the browser with no Node built-in and no package but effect; the server's entry does not", async () => {
    const client = await bundle("src/client.ts")
    expect(nodeOnly(client.metafile)).toEqual([])
    const ours = Object.keys(client.metafile.inputs).filter((file) => !file.includes("node_modules/"))
    expect(ours).toContain("src/client/http.ts")
    expect(ours.every((file) => /^src\/(client|engine\/errors|log\/(errors|database)|kit\/duration)/.test(file))).toBe(true)

    // The check finds what it is there to find.
    const server = nodeOnly((await bundle("src/http/index.ts")).metafile)
    expect(server).toEqual(expect.arrayContaining([expect.stringMatching(/imports node:crypto$/), "package fastify", "package postgres", "package @electric-sql/pglite"]))
  })
})

describe.skipIf(!hasChromium).each(drivers)("the client in Chromium against a server on %s", (driver) => {
  let server: TestServer
  let browser: Browser
  let page: Page
  const problems: Array<string> = []

  beforeAll(async () => {
    const [started, launched, client] = await Promise.all([startServer(driver, [...workflows]), launchBrowser(), bundle("src/client.ts")])
    server = started
    browser = launched
    page = await browser.newPage()
    page.on("pageerror", (error) => problems.push(error.message))
    // The page and the bundle are served on the server's own origin (the API sends no CORS headers); the API calls reach the real server.
    await page.route(`${server.url}/test-page/**`, (route) =>
      route.request().url().endsWith(".js")
        ? route.fulfill({ contentType: "text/javascript", body: client.code })
        : route.fulfill({
            contentType: "text/html",
            body: `<!doctype html><title>client</title><script type="module">import * as client from "./client.js"; globalThis.orreryClient = client</script>`
          })
    )
    await page.goto(`${server.url}/test-page/index.html`)
    await page.waitForFunction(() => (globalThis as any).orreryClient !== undefined)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("starts, sends, gets and waits for the result; refusals arrive typed, with their fields and status", async () => {
    const seen = await page.evaluate(
      async ({ url, token }) => {
        const client = (globalThis as any).orreryClient
        const orrery = client.createClient({ url, token })
        const signup = await orrery.start("signup", { email: "browser@example.com" }, { id: "b-1", idempotencyKey: "b-key" })
        const sent = await signup.send({ type: "CONFIRM", code: "123456" })
        const view = await signup.get()
        const output = await signup.result({ timeout: "20s" })
        const caught = async (call: () => Promise<unknown>) => {
          try {
            await call()
            return undefined
          } catch (error: any) {
            return {
              tag: error._tag,
              fields: { ...error },
              message: error.message,
              status: client.httpStatus(error),
              classes: ["InstanceFinal", "InstanceNotFound", "EventNotAccepted", "OrreryHttpError"].filter((name) => error instanceof client[name])
            }
          }
        }
        return {
          environment: { process: typeof (globalThis as any).process, buffer: typeof (globalThis as any).Buffer },
          created: signup.created,
          sentState: sent.state,
          view: { id: view.id, type: view.type, createdAtIsDate: view.createdAt instanceof Date, createdAt: view.createdAt.toISOString() },
          output,
          history: (await signup.history()).map((entry: any) => [entry.type, entry.time instanceof Date]),
          final: await caught(() => signup.send({ type: "RESEND" })),
          missing: await caught(() => orrery.handle("signup", "nobody").get()),
          notAccepted: await caught(async () => {
            const other = await orrery.start("signup", { email: "other@example.com" }, { id: "b-2" })
            return other.send({ type: "FLY" })
          }),
          unauthorized: await caught(() => client.createClient({ url }).list())
        }
      },
      { url: server.url, token: operateToken }
    )

    expect(seen.environment).toEqual({ process: "undefined", buffer: "undefined" })
    expect(seen).toMatchObject({ created: true, view: { id: "b-1", type: "signup", createdAtIsDate: true } })
    expect(["welcoming", "welcomed"]).toContain(seen.sentState)
    expect(seen.output).toEqual({ email: "browser@example.com", confirmed: true, resends: 0, welcomeId: "msg-browser@example.com" })
    expect(seen.history).toEqual(expect.arrayContaining([["workflow.started", true], ["activity.completed", true]]))

    expect(seen.final).toEqual({
      tag: "InstanceFinal",
      fields: { _tag: "InstanceFinal", workflowType: "signup", instanceId: "b-1", status: "done" },
      message: "signup instance b-1 is done",
      status: 409,
      classes: ["InstanceFinal"]
    })
    expect(seen.missing).toMatchObject({ tag: "InstanceNotFound", fields: { workflowType: "signup", instanceId: "nobody" }, status: 404, classes: ["InstanceNotFound"] })
    expect(seen.notAccepted).toMatchObject({ tag: "EventNotAccepted", fields: { eventType: "FLY", state: "waiting", accepted: ["CONFIRM", "RESEND"] }, status: 409 })
    expect(seen.unauthorized).toMatchObject({ tag: "OrreryHttpError", fields: { status: 401, error: "Unauthorized" }, status: 401, classes: ["OrreryHttpError"] })

    // What the page saw is what the server holds.
    const stored = await fetch(`${server.url}/workflows/signup/b-1`, { headers: { authorization: `Bearer ${operateToken}` } }).then((response) => response.json())
    expect(stored).toMatchObject({ status: "done", output: seen.output, createdAt: seen.view.createdAt })
    expect(problems).toEqual([])
  })
})

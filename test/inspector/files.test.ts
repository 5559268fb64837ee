/** The inspector's files as the server gives them: open to all, typed, locked down by CSP, nothing else reachable. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defineDomain } from "../../src/domain.js"
import { inspectorRoutes } from "../../src/inspector/plugin.js"
import { Gateway, paymentWorkflow } from "../engine/fixtures.js"
import { type TestServer, client, startServer } from "../http/support.js"

describe("the inspector's files", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer("pglite", [paymentWorkflow(new Gateway())])
  })
  afterAll(async () => {
    await server?.close()
  })
  const anonymous = () => client(server, "live", {})

  it("serves the page and its scripts without a token, each with its type and a strict content security policy", async () => {
    for (const path of ["/inspect", "/inspect/"]) {
      const page = await anonymous()("GET", path)
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(page.text).toContain('<script type="module" src="/inspect/app.js"></script>')
      expect(page.headers["content-security-policy"]).toContain("script-src 'self'")
      expect(page.headers["content-security-policy"]).toContain("default-src 'none'")
      expect(page.headers["x-content-type-options"]).toBe("nosniff")
    }
    for (const [path, type] of [["/inspect/app.js", "text/javascript"], ["/inspect/views/machine.js", "text/javascript"], ["/inspect/style.css", "text/css"], ["/inspect/elk.js", "text/javascript"]] as const) {
      const file = await anonymous()("GET", path)
      expect([path, file.status, file.headers["content-type"]]).toEqual([path, 200, `${type}; charset=utf-8`])
    }
    expect((await anonymous()("GET", "/inspect/elk.js")).headers["cache-control"]).toBe("public, max-age=86400")
    // Every module the page imports is served: follow the imports from app.js.
    const seen = new Set<string>()
    const visit = async (path: string) => {
      if (seen.has(path)) return
      seen.add(path)
      const source = await anonymous()("GET", path)
      expect([path, source.status]).toEqual([path, 200])
      for (const match of source.text.matchAll(/from "(\.{1,2}\/[^"]+)"/g)) await visit(new URL(match[1]!, `http://x${path}`).pathname)
    }
    await visit("/inspect/app.js")
    expect(seen.size).toBeGreaterThanOrEqual(9)
  })

  it("answers anything else under /inspect with a JSON 404, and keeps its files out of the API document", async () => {
    for (const path of ["/inspect/nope.js", "/inspect/tsconfig.json", "/inspect/views", "/inspect/index.html"]) {
      const answer = await anonymous()("GET", path)
      expect([path, answer.status, answer.json?.error]).toEqual([path, 404, "NotFound"])
    }
    // Dots leave /inspect before routing (the URL is resolved first): what they name is another route, here none, so a token is asked for.
    for (const path of ["/inspect/%2e%2e/package.json", "/inspect/../../package.json", "/inspect/views/../../plugin.ts"]) {
      const answer = await client(server, "inject", {})("GET", path)
      expect([path, answer.status, answer.json?.error]).toEqual([path, 401, "Unauthorized"])
    }
    const document = await anonymous()("GET", "/docs/json")
    expect(Object.keys(document.json.paths).filter((path) => path.startsWith("/inspect"))).toEqual([])
    expect(Object.keys(document.json.paths)).toEqual(expect.arrayContaining(["/machines/{type}/states", "/workflows/{type}/{id}/replay"]))
  })
})

describe("a domain's own inspector pages", () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-pages-"))
  const module = path.join(folder, "ledger.js")
  fs.writeFileSync(module, "export default (main, { inspector }) => { inspector.fill(main, inspector.h('h1', {}, 'Ledger')) }\n")
  const ledger = defineDomain("ledger", {
    workflows: [],
    inspector: { pages: [{ path: "ledger", title: "Ledger", module: pathToFileURL(module) }, { path: "audit", title: "Audit", module }] }
  })
  let server: TestServer
  beforeAll(async () => {
    server = await startServer("pglite", [paymentWorkflow(new Gateway())], { domains: [ledger] })
  })
  afterAll(async () => {
    await server?.close()
    fs.rmSync(folder, { recursive: true, force: true })
  })

  it("are listed at /inspect/pages, their modules served as they are, open to all like the page", async () => {
    const pages = await client(server, "live", {})("GET", "/inspect/pages")
    expect(pages.status).toBe(200)
    expect(pages.json).toEqual({
      items: [
        { domain: "ledger", path: "ledger", title: "Ledger", module: "domains/ledger/ledger.js" },
        { domain: "ledger", path: "audit", title: "Audit", module: "domains/ledger/audit.js" }
      ]
    })
    const served = await client(server, "live", {})("GET", "/inspect/domains/ledger/ledger.js")
    expect([served.status, served.headers["content-type"], served.text]).toEqual([200, "text/javascript; charset=utf-8", fs.readFileSync(module, "utf8")])
  })

  it("none where no domain adds any", async () => {
    const bare = await startServer("pglite", [paymentWorkflow(new Gateway())])
    try {
      expect((await client(bare, "live", {})("GET", "/inspect/pages")).json).toEqual({ items: [] })
    } finally {
      await bare.close()
    }
  })

  it("refuses a page whose path the inspector uses, or another domain took", async () => {
    const register = async (domains: ReadonlyArray<ReturnType<typeof defineDomain>>) => {
      const Fastify = (await import("fastify")).default
      const app = Fastify()
      try {
        await app.register(inspectorRoutes, { domains })
        await app.ready()
      } finally {
        await app.close()
      }
    }
    const page = (name: string, pagePath: string) => defineDomain(name, { workflows: [], inspector: { pages: [{ path: pagePath, title: "x", module }] } })
    await expect(register([page("a", "machines")])).rejects.toThrow(/must be lower-case/)
    await expect(register([page("a", "Costs")])).rejects.toThrow(/must be lower-case/)
    await expect(register([page("a", "costs"), page("b", "costs")])).rejects.toThrow(/taken by domain a/)
    await expect(register([page("a", "costs")])).resolves.toBeUndefined()
  })
})

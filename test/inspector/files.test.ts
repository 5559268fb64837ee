/** The inspector's files as the server gives them: open to all, typed, locked down by CSP, nothing else reachable. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
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
    for (const [path, type] of [["/inspect/app.js", "text/javascript"], ["/inspect/views/costs.js", "text/javascript"], ["/inspect/style.css", "text/css"], ["/inspect/elk.js", "text/javascript"]] as const) {
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

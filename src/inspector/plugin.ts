/**
 * The inspector at `<prefix>/inspect`: a page and its scripts, served as files. The
 * page holds no data — it reads the HTTP API with the token the user gives it
 * — so its files are open to every caller, like /docs. Everything it shows
 * comes from the same routes any client calls: the machine catalogue, the
 * counts by state, an instance's history, its replay and its live stream, and
 * the domains' read models (the generation costs).
 */
import type { FastifyPluginAsync, FastifyReply } from "fastify"
import { readFile, readdir } from "node:fs/promises"
import { createRequire } from "node:module"
import { extname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml"
}

/** Scripts and styles from this origin only; the API is called with fetch, never by inline code. */
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

interface Asset {
  readonly body: Buffer
  readonly type: string
  /** The page's own files change with each release; the layout library only with its version. */
  readonly cacheControl: string
}

const webFolder = fileURLToPath(new URL("./web/", import.meta.url))

const filesUnder = async (folder: string): Promise<ReadonlyArray<string>> => {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
}

/** Every file the inspector serves, by its path under /inspect/, read once. */
const loadAssets = async (): Promise<ReadonlyMap<string, Asset>> => {
  const assets = new Map<string, Asset>()
  for (const file of await filesUnder(webFolder)) {
    const type = contentTypes[extname(file)]
    if (type === undefined) continue
    assets.set(relative(webFolder, file).split("\\").join("/"), { body: await readFile(file), type, cacheControl: "no-cache" })
  }
  const elk = createRequire(import.meta.url).resolve("elkjs/lib/elk.bundled.js")
  assets.set("elk.js", { body: await readFile(elk), type: contentTypes[".js"]!, cacheControl: "public, max-age=86400" })
  return assets
}

/**
 * The page names its scripts and styles by absolute path; under a prefix they
 * live at `<prefix>/inspect/…`, so the page says so (the scripts find the API
 * the same way, from their own URL: see web/api.js).
 */
const pageUnder = (page: Asset, prefix: string): Asset =>
  prefix === "" ? page : { ...page, body: Buffer.from(page.body.toString("utf8").replaceAll('"/inspect/', `"${encodeURI(prefix)}/inspect/`), "utf8") }

export const inspectorRoutes: FastifyPluginAsync = async (app) => {
  const assets = await loadAssets()
  const page = pageUnder(assets.get("index.html")!, app.prefix)
  const config = { access: "public" as const, redact: false }
  const schema = { hide: true }

  const send = (asset: Asset) => (_request: unknown, reply: FastifyReply) =>
    reply.type(asset.type).header("cache-control", asset.cacheControl).header("content-security-policy", contentSecurityPolicy).header("x-content-type-options", "nosniff").send(asset.body)

  app.get("/inspect", { config, schema }, send(page))
  app.get("/inspect/", { config, schema }, send(page))
  app.get<{ Params: { "*": string } }>("/inspect/*", { config, schema }, async (request, reply) => {
    const asset = assets.get(request.params["*"])
    if (asset === undefined || request.params["*"] === "index.html") {
      return reply.code(404).send({ error: "NotFound", message: `no file ${request.params["*"]} in the inspector` })
    }
    return send(asset)(request, reply)
  })
}

/**
 * The inspector at `<prefix>/inspect`: a page and its scripts, served as files. The
 * page holds no data — it reads the HTTP API with the token the user gives it
 * — so its files are open to every caller, like /docs. Everything it shows
 * comes from the same routes any client calls: the machine catalogue, the
 * counts by state, an instance's history, its replay and its live stream.
 *
 * A domain may add pages of its own (`inspector.pages`: the writing domain's
 * generation costs): their modules are served under `domains/<domain>/`, and
 * `GET <prefix>/inspect/pages` lists them, which the page reads to build its
 * navigation. A project without that domain has no such tab.
 */
import type { FastifyPluginAsync, FastifyReply } from "fastify"
import { readFile, readdir } from "node:fs/promises"
import { createRequire } from "node:module"
import { extname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import type { Domain } from "../domain.js"

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

/** A page a domain adds, as the page lists it: `module` is its script's path under /inspect/. */
interface PageEntry {
  readonly domain: string
  readonly path: string
  readonly title: string
  readonly module: string
}

/** The inspector's own addresses: a domain's page may not take them. */
const ownPaths = new Set(["machines", "instances", "search", "pages", "domains"])

/** Reads every domain's pages into `assets`; answers the list the page reads. */
const loadPages = async (domains: ReadonlyArray<Domain>, assets: Map<string, Asset>): Promise<ReadonlyArray<PageEntry>> => {
  const pages: Array<PageEntry> = []
  for (const domain of domains) {
    for (const page of domain.inspector?.pages ?? []) {
      if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(page.path) || ownPaths.has(page.path)) {
        throw new Error(`domain ${domain.name}: inspector page path "${page.path}" must be lower-case letters, digits and '-', and not one of ${[...ownPaths].join(", ")}`)
      }
      const taken = pages.find((other) => other.path === page.path)
      if (taken !== undefined) throw new Error(`domain ${domain.name}: inspector page path "${page.path}" is taken by domain ${taken.domain}`)
      const file = page.module instanceof URL || page.module.startsWith("file:") ? fileURLToPath(page.module) : page.module
      const module = `domains/${encodeURIComponent(domain.name)}/${page.path}.js`
      assets.set(module, { body: await readFile(file), type: contentTypes[".js"]!, cacheControl: "no-cache" })
      pages.push({ domain: domain.name, path: page.path, title: page.title, module })
    }
  }
  return pages
}

export interface InspectorOptions {
  /** The domains served: their inspector pages are too. */
  readonly domains?: ReadonlyArray<Domain>
}

export const inspectorRoutes: FastifyPluginAsync<InspectorOptions> = async (app, options) => {
  const assets = new Map(await loadAssets())
  const pages = await loadPages(options.domains ?? [], assets)
  const page = pageUnder(assets.get("index.html")!, app.prefix)
  const config = { access: "public" as const, redact: false }
  const schema = { hide: true }

  const send = (asset: Asset) => (_request: unknown, reply: FastifyReply) =>
    reply.type(asset.type).header("cache-control", asset.cacheControl).header("content-security-policy", contentSecurityPolicy).header("x-content-type-options", "nosniff").send(asset.body)

  app.get("/inspect", { config, schema }, send(page))
  // The pages the domains add, for the navigation: titles and script paths, no data.
  app.get("/inspect/pages", { config, schema }, async (_request, reply) => reply.header("cache-control", "no-cache").send({ items: pages }))
  app.get("/inspect/", { config, schema }, send(page))
  app.get<{ Params: { "*": string } }>("/inspect/*", { config, schema }, async (request, reply) => {
    const asset = assets.get(request.params["*"])
    if (asset === undefined || request.params["*"] === "index.html") {
      return reply.code(404).send({ error: "NotFound", message: `no file ${request.params["*"]} in the inspector` })
    }
    return send(asset)(request, reply)
  })
}

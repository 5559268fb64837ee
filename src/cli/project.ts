/**
 * A project's `orrery.config.ts`: found in the working directory (or named by
 * `--config` / ORRERY_CONFIG), loaded — TypeScript with no build step — and
 * checked to be a `defineConfig`. Whatever is wrong with it is one line and
 * exit 2: it is the project's configuration, not a failure of Orrery.
 */
import { existsSync } from "node:fs"
import { extname, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Domain, OrreryConfig } from "../domain.js"
import { importBundled } from "./bundle.js"

/** What the working directory is searched for, in this order. */
export const configNames = ["orrery.config.ts", "orrery.config.mts", "orrery.config.mjs", "orrery.config.js"] as const

/** The project's config cannot be found, loaded or used: exit 2. */
export class ProjectError extends Error {
  readonly _tag = "ProjectError"
}

export interface Project {
  /** The config file, as given or found. */
  readonly file: string
  readonly config: OrreryConfig
  /** Its workflows (as the domain "app") and the domains it groups. */
  readonly domains: ReadonlyArray<Domain>
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ").trim()

const typescript = new Set([".ts", ".mts", ".cts", ".tsx"])
let tsxRegistered = false

/** True when this command runs from its TypeScript sources (`tsx src/cli/main.ts` in this repository). */
const fromSources = import.meta.url.endsWith(".ts")

/**
 * Imports a module by path. TypeScript, when this command is the built package, is bundled by esbuild
 * and imported as one ES module (./bundle.ts says why and what stays as it was). From the sources, or
 * where the bundle cannot be written, through tsx's hooks: `register()` rather than `tsImport()`, which
 * loads the module and everything it imports in a namespace of its own (`?tsx-namespace=…` on every URL,
 * packages included), so that the config's `import "orrery"`, `effect` and `xstate` would be second
 * copies of the modules this CLI runs. Registered globally, native ESM resolves them to the very
 * instances the CLI already loaded (under `tsx` in this repository, tsconfig's `paths` map "orrery" to
 * src/index.ts, the CLI's own sources). Both of tsx's hooks, ESM and CommonJS: a `.ts` file in a folder
 * whose package.json says no `"type": "module"` is CommonJS to Node, loaded by `require`.
 */
export const importModule = async (file: string): Promise<Record<string, unknown>> => {
  const absolute = resolve(file)
  const isTypeScript = typescript.has(extname(absolute))
  const bundled = isTypeScript && !fromSources ? await importBundled(absolute) : undefined
  if (isTypeScript && bundled === undefined && !tsxRegistered) {
    const [esm, commonJs] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")])
    esm.register()
    commonJs.register()
    tsxRegistered = true
  }
  const namespace = bundled ?? ((await import(pathToFileURL(absolute).href)) as Record<string, unknown>)
  // A module compiled to CommonJS from `export` statements is, to `import()`, one default export: its whole
  // `module.exports`, marked `__esModule`, where its own `default` and named exports are.
  const commonJs = namespace.default as { readonly __esModule?: unknown } | null | undefined
  return typeof commonJs === "object" && commonJs !== null && commonJs.__esModule === true ? (commonJs as Record<string, unknown>) : namespace
}

/** The config file: the one named, else the first of `configNames` in `cwd`. */
export const findConfig = (given: string | undefined, cwd = process.cwd()): string => {
  if (given !== undefined) {
    if (!existsSync(resolve(cwd, given))) throw new ProjectError(`the config ${given} does not exist (--config, ORRERY_CONFIG)`)
    return resolve(cwd, given)
  }
  const found = configNames.map((name) => resolve(cwd, name)).find((file) => existsSync(file))
  if (found === undefined) {
    throw new ProjectError(`no orrery.config.ts (or .mts, .mjs, .js) in ${cwd}; write one (export default defineConfig({ workflows })), name one with --config, or make a project with orrery init <dir>`)
  }
  return found
}

const isConfig = (value: unknown): value is OrreryConfig => {
  if (value === null || typeof value !== "object") return false
  const { workflows, domains } = value as { workflows?: unknown; domains?: unknown }
  return (workflows === undefined || Array.isArray(workflows)) && (domains === undefined || Array.isArray(domains)) && (workflows !== undefined || domains !== undefined)
}

/**
 * Loads the project: its config's default export, and the domains it serves.
 *
 * @example
 * ```ts
 * const project = await loadProject(undefined) // ./orrery.config.ts
 * console.log(project.domains.flatMap((domain) => domain.workflows.map((w) => w.type)))
 * ```
 */
export const loadProject = async (given: string | undefined, cwd = process.cwd()): Promise<Project> => {
  const file = findConfig(given, cwd)
  const shown = relative(cwd, file).startsWith("..") ? file : relative(cwd, file)
  let exports: Record<string, unknown>
  try {
    exports = await importModule(file)
  } catch (error) {
    throw new ProjectError(`cannot load ${shown}: ${messageOf(error)}`)
  }
  const config = exports.default
  if (!isConfig(config)) {
    throw new ProjectError(`${shown} must export default defineConfig({ workflows, services?, projections?, routes?, demo?, domains? }) from "orrery"`)
  }
  // Lazily: domain.js loads Effect, which this module's callers may not need yet.
  const { domainsOf } = await import("../domain.js")
  let domains: ReadonlyArray<Domain>
  try {
    domains = domainsOf(config)
  } catch (error) {
    throw new ProjectError(`${shown}: ${messageOf(error)}`)
  }
  if (domains.every((domain) => domain.workflows.length === 0)) throw new ProjectError(`${shown} registers no workflows`)
  return { file, config, domains }
}

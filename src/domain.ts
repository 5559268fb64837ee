/**
 * What a project gives Orrery: its workflows, the Layers of the services its
 * activities use, its read models, the HTTP routes of its read side, and a
 * demo. A small project says it all in one `defineConfig`; a larger one
 * groups it by domain (`defineDomain`), each folder bringing its own — the
 * shipped domains in machines/ and sagas/ are built that way.
 */
import { type Effect, Layer } from "effect"
import type { FastifyInstance } from "fastify"
import type { Engine } from "./engine/engine.js"
import type { AnyWorkflow, WorkflowRequirements } from "./engine/workflow.js"
import type { Migration, Queryable } from "./log/index.js"
import type { Projection, Projections } from "./projections/projection.js"

export interface DomainRoutesContext {
  /** For read-model queries; never write through it. */
  readonly db: Queryable
  /** The Postgres schema the read models' tables live in. */
  readonly schema: string
  /** Runs an Effect with the application's services. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Engine | Projections>) => Promise<A>
}

/** The read side's HTTP routes: the body of a Fastify plugin, registered on Orrery's server. */
export type DomainRoutes = (app: FastifyInstance, context: DomainRoutesContext) => Promise<void>

/**
 * A page a domain adds to the inspector, with its tab in the navigation. The inspector
 * serves the module to the browser as it is (plain JavaScript, an ES module) and, when the
 * page is opened, calls its default export with the element to draw in:
 *
 * ```js
 * // costs.js
 * export default (main, { params, query, inspector }) => {
 *   const { getJson, h, fill, every, report } = inspector // the inspector's own helpers
 *   // params: the path's segments after the page's own (#/costs/ebook-1 → ["ebook-1"])
 *   return () => {} // stops what the page started (timers, requests) when the user leaves it
 * }
 * ```
 */
export interface InspectorPage {
  /** Where it lives in the inspector: `#/<path>`, and `#/<path>/…` below it. Lower-case letters, digits and '-'. */
  readonly path: string
  /** Its tab's name. */
  readonly title: string
  /** The page's ES module: a file path, or a `file:` URL (`new URL("./page.js", import.meta.url)`). */
  readonly module: string | URL
}

/** What a domain adds to the inspector: pages of its own, shown only where the domain is served. */
export interface DomainInspector {
  readonly pages: ReadonlyArray<InspectorPage>
}

export interface Domain<W extends AnyWorkflow = AnyWorkflow> {
  readonly name: string
  readonly workflows: ReadonlyArray<W>
  readonly projections: ReadonlyArray<Projection>
  /** The services the activities use; may need the `Database` and the `OrrerySchema` (state kept beside the log), nothing else. */
  readonly services: Layer.Layer<any, never, any>
  /** The tables its services keep their state in, created in Orrery's schema when the application starts. */
  readonly migrations?: ReadonlyArray<Migration>
  readonly routes?: DomainRoutes
  /** Its own pages in the inspector (a read model's view, say), listed in its navigation. */
  readonly inspector?: DomainInspector
  /** Starts a few instances that run to their ends (`orrery demo`, `orrery start --demo`). */
  readonly demo?: Effect.Effect<void, unknown, Engine>
}

/** What `defineDomain` and `defineConfig` take: everything but the workflows may be left out. */
export interface DomainOptions<W extends AnyWorkflow> {
  readonly workflows: ReadonlyArray<W>
  /** Every service the workflows' activities need (a missing one is a compile error). */
  readonly services?: Layer.Layer<WorkflowRequirements<W>, never, any>
  /**
   * SQL migrations for the services' own tables (`{ component, version, name, sql: (schema) => ... }`),
   * applied once each, in order, in Orrery's schema before the services are built. The same
   * component and version declared by two domains (a table they share) is applied once.
   */
  readonly migrations?: ReadonlyArray<Migration>
  readonly projections?: ReadonlyArray<Projection>
  readonly routes?: DomainRoutes
  readonly inspector?: DomainInspector
  readonly demo?: Effect.Effect<void, unknown, Engine>
}

/**
 * One domain of a project: its workflows and what they need.
 *
 * @example
 * ```ts
 * import { defineDomain } from "orrery"
 * import { signupWorkflow } from "./signup.js"
 * import { Mailer } from "./mailer.js"
 *
 * export const accounts = defineDomain("accounts", { workflows: [signupWorkflow], services: Mailer.layer })
 * ```
 */
export const defineDomain = <W extends AnyWorkflow>(name: string, options: DomainOptions<W>): Domain<W> => ({
  name,
  workflows: options.workflows,
  projections: options.projections ?? [],
  services: (options.services ?? Layer.empty) as Layer.Layer<any, never, any>,
  ...(options.migrations === undefined ? {} : { migrations: options.migrations }),
  ...(options.routes === undefined ? {} : { routes: options.routes }),
  ...(options.inspector === undefined ? {} : { inspector: options.inspector }),
  ...(options.demo === undefined ? {} : { demo: options.demo })
})

/** A project's `orrery.config.ts`: its own workflows (and what they need), and any domains it groups. */
export interface OrreryConfig<W extends AnyWorkflow = AnyWorkflow> extends Partial<DomainOptions<W>> {
  readonly domains?: ReadonlyArray<Domain>
}

/**
 * The default export of `orrery.config.ts`: what `orrery start`, `worker` and
 * every other command serve.
 *
 * @example
 * ```ts
 * // orrery.config.ts
 * import { defineConfig } from "orrery"
 * import { signupWorkflow } from "./src/signup.js"
 * import { Mailer } from "./src/mailer.js"
 *
 * export default defineConfig({ workflows: [signupWorkflow], services: Mailer.layer })
 * ```
 */
export const defineConfig = <W extends AnyWorkflow>(config: OrreryConfig<W>): OrreryConfig<W> => config

/** A config's domains: its own workflows (as the domain "app") first, then the domains it groups. */
export const domainsOf = (config: OrreryConfig): ReadonlyArray<Domain> => {
  const own = config.workflows ?? []
  const app = own.length > 0 || config.projections !== undefined || config.routes !== undefined || config.inspector !== undefined || config.demo !== undefined || config.services !== undefined ||
      config.migrations !== undefined
    ? [defineDomain("app", { ...config, workflows: own })]
    : []
  return [...app, ...(config.domains ?? [])]
}

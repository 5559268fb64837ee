/**
 * Orrery inside your own Node process: the engine, a worker and the read
 * models over a database, driven through the same client interface as a
 * server. For a service that runs its workflows itself (and may mount the
 * HTTP API in its own Fastify app with `orrery/fastify`).
 */
import { type Layer, ManagedRuntime } from "effect"
import type { OrreryClient } from "../client/types.js"
import { type DatabasePooler, databaseLayer, loadConfig } from "../config.js"
import { type Domain, domainsOf, type OrreryConfig } from "../domain.js"
import type { CircuitBreakerOptions } from "../activities/circuit-breaker.js"
import type { WorkerOptions } from "../engine/worker.js"
import type { AnyWorkflow } from "../engine/workflow.js"
import { type Database, layerPglite } from "../log/index.js"
import { type ApplicationServices, applicationLayer } from "./application.js"
import { makeInProcessClient } from "./in-process-client.js"

/** Where the log lives. */
export type DatabaseChoice =
  /** A Postgres server; `pooler: "transaction"` when the URL leads to a pooler in transaction mode (PgBouncer). */
  | { readonly url: string; readonly pooler?: DatabasePooler }
  /** The embedded PGlite, persisted to this folder (one process at a time). */
  | { readonly dataDir: string }
  /** The embedded PGlite in memory: gone when closed. */
  | { readonly memory: true }
  /** Any `Database` layer (Effect users). */
  | Layer.Layer<Database, unknown>

export interface CreateOrreryOptions<W extends AnyWorkflow> extends OrreryConfig<W> {
  /** Default: `DATABASE_URL` when set, else the embedded PGlite in `ORRERY_DATA_DIR` (default `./.orrery/data`). */
  readonly database?: DatabaseChoice
  /** A worker in this process (the default), or `false` for one that only starts and reads (other processes work). */
  readonly worker?: WorkerOptions | false
  /** Keep the read models up to date here (default true; one process per database should). */
  readonly runProjections?: boolean
  /** The Postgres schema for Orrery's tables (default `orrery`). */
  readonly schema?: string
  /** The circuit breakers' settings, shared by every worker on the database (default 5 failures, 30 s cool-down). */
  readonly circuitBreaker?: CircuitBreakerOptions
}

/** A running Orrery: a client of its own engine, and the way to stop it. */
export interface Orrery<W = AnyWorkflow> extends OrreryClient<W> {
  /** Its services, for Effect programs and for mounting the HTTP API (`orrery/fastify`). */
  readonly runtime: ManagedRuntime.ManagedRuntime<ApplicationServices, unknown>
  /** The domains it runs (your workflows are the domain "app"). */
  readonly domains: ReadonlyArray<Domain>
  /** Stops the worker (handing unfinished work back), the read models and the database. */
  close(): Promise<void>
}

const isLayer = (value: unknown): value is Layer.Layer<Database, unknown> =>
  typeof value === "object" && value !== null && !("url" in value) && !("dataDir" in value) && !("memory" in value)

/** The database layer for a choice, the environment deciding when there is none (as `orrery start` does). */
export const databaseOf = (choice: DatabaseChoice | undefined): Layer.Layer<Database, unknown> => {
  if (choice === undefined) {
    const settings = loadConfig(process.env, {}, ["databaseUrl", "databasePooler", "dataDir"])
    if (settings._tag === "Failure") throw settings.failure
    return databaseLayer(settings.success)
  }
  if (isLayer(choice)) return choice
  if ("url" in choice) return databaseLayer({ databaseUrl: choice.url, databasePooler: choice.pooler ?? "none", dataDir: "" })
  if ("dataDir" in choice) return databaseLayer({ databaseUrl: undefined, dataDir: choice.dataDir })
  return layerPglite({})
}

/**
 * Starts Orrery in this process and answers once it is ready (migrations
 * applied, worker running). Close it when your process stops.
 *
 * @example
 * ```ts
 * import { createOrrery } from "orrery"
 * import { signupWorkflow } from "./signup.js"
 * import { Mailer } from "./mailer.js"
 *
 * const orrery = await createOrrery({ workflows: [signupWorkflow], services: Mailer.layer, database: { url: process.env.DATABASE_URL! } })
 * const signup = await orrery.start("signup", { email: "a@example.com" })
 * await signup.send({ type: "CONFIRM", code: "123456" })
 * console.log(await signup.result({ timeout: "1m" }))
 * await orrery.close()
 * ```
 */
export const createOrrery = async <W extends AnyWorkflow>(options: CreateOrreryOptions<W>): Promise<Orrery<W>> => {
  const domains = domainsOf(options)
  const layer = applicationLayer({
    domains,
    database: databaseOf(options.database),
    worker: options.worker ?? {},
    projections: options.runProjections ?? true,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.circuitBreaker === undefined ? {} : { circuitBreaker: options.circuitBreaker })
  })
  const runtime = ManagedRuntime.make(layer)
  try {
    // Build it now: a database that cannot be reached fails here, not on the first call.
    await runtime.context()
  } catch (error) {
    await runtime.dispose().catch(() => {})
    throw error
  }
  const client = makeInProcessClient<W>((effect) => runtime.runPromise(effect))
  return Object.assign(Object.create(null) as object, client, { runtime, domains, close: () => runtime.dispose() }) as Orrery<W>
}

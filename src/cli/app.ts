/**
 * The application the `orrery` command runs: the shipped domains on the engine
 * over the configured database, with their read models and default services.
 * `start` adds the HTTP server (and a worker); `worker` is a worker alone.
 */
import { Effect, Layer } from "effect"
import { type Config, databaseLayer } from "../config.js"
import type { Domain } from "../domain.js"
import { Engine, engineMigrations, orreryLayer } from "../engine/index.js"
import { type DatabaseShape, logMigrations, migrate } from "../log/index.js"
import { projectionsLayer } from "../projections/projection.js"

/** The Postgres schema Orrery keeps its tables in. */
export const schema = "orrery"

export const allMigrations = [...logMigrations, ...engineMigrations]

export interface ApplicationOptions {
  readonly config: Pick<Config, "databaseUrl" | "dataDir">
  readonly domains: ReadonlyArray<Domain>
  /** Run a worker in this process. */
  readonly worker: boolean
  /** Keep the read models up to date in this process (one process per database should). */
  readonly projections: boolean
}

export const applicationLayer = (options: ApplicationOptions) => {
  const database = databaseLayer(options.config)
  const services = options.domains.reduce(
    (merged, domain) => Layer.merge(merged, domain.services) as Layer.Layer<any, never, any>,
    Layer.empty as unknown as Layer.Layer<any, never, any>
  )
  const orrery = orreryLayer({
    workflows: options.domains.flatMap((domain) => domain.workflows),
    schema,
    worker: options.worker ? {} : false
  })
  const projections = projectionsLayer(options.projections ? options.domains.flatMap((domain) => domain.projections) : [], schema)
  return projections.pipe(
    Layer.provideMerge(orrery as Layer.Layer<any, any, any>),
    // Domain services may keep their state in the same database (seat holds, stock).
    Layer.provideMerge(services),
    Layer.provideMerge(database)
  )
}

/** Applies every migration (the log's, then the engine's); answers what was applied. */
export const migrateAll = (db: DatabaseShape) => Effect.promise(() => migrate(db, schema, allMigrations))

/** On an empty database, runs every domain's demo in the background, so that there is something to look at. */
export const seedDemo = (domains: ReadonlyArray<Domain>) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const existing = yield* engine.list({ limit: 1 })
    if (existing.items.length > 0) return false
    for (const domain of domains) {
      if (domain.demo === undefined) continue
      yield* domain.demo.pipe(
        Effect.catchCause((cause) => Effect.logWarning(`the ${domain.name} demo stopped: ${String(cause)}`)),
        Effect.forkDetach
      )
    }
    return true
  })

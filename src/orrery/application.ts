/**
 * One Orrery application as Layers: a project's domains (their workflows, the
 * services their activities use, their read models) on the engine over one
 * database. `orrery start` and `orrery worker`, `createOrrery` and the test
 * kit all compose it here, so that they run the same thing.
 */
import { Effect, Layer } from "effect"
import type { CircuitBreaker, CircuitBreakerOptions } from "../activities/circuit-breaker.js"
import type { Domain } from "../domain.js"
import { type Engine, type EngineRuntime, engineMigrations, OrrerySchema, orreryLayer, type WorkflowRegistry } from "../engine/index.js"
import type { WorkerOptions } from "../engine/worker.js"
import { Database, type EventLog, logMigrations, type Migration, migrate } from "../log/index.js"
import { type Projection, type Projections, projectionsLayer } from "../projections/projection.js"
import { transitionHeatProjection } from "../projections/transition-heat.js"

/** The Postgres schema Orrery keeps its tables in, unless told otherwise. */
export const defaultSchema = "orrery"

export interface ApplicationOptions {
  readonly domains: ReadonlyArray<Domain>
  /** The database it runs on (a postgres.js pool or a PGlite). */
  readonly database: Layer.Layer<Database, unknown>
  /** A worker in this process (its options), or none: an API-only process. */
  readonly worker: WorkerOptions | false
  /** Keep the read models up to date in this process (one process per database should). */
  readonly projections: boolean
  readonly schema?: string
  readonly leaseMs?: number
  readonly circuitBreaker?: CircuitBreakerOptions
}

/** The services an application provides to whoever runs Effects in it (HTTP handlers, clients, Effect users). */
export type ApplicationServices = Engine | EngineRuntime | EventLog | WorkflowRegistry | Database | CircuitBreaker | Projections | OrrerySchema

/** A domain declared a migration Orrery cannot apply (a reserved component, or a version claimed twice). */
export class DomainMigrationError extends Error {
  readonly _tag = "DomainMigrationError"
}

/** The components whose versions Orrery itself keeps. */
const reservedComponents = new Set(["log", "engine"])

/**
 * The domains' migrations in the order they are declared, each component and
 * version once: two domains that share a table (the test payment provider)
 * both declare its migration, and it is applied once.
 */
export const domainMigrations = (domains: ReadonlyArray<Domain>): ReadonlyArray<Migration> => {
  const seen = new Map<string, { readonly domain: string; readonly migration: Migration }>()
  const ordered: Array<Migration> = []
  for (const domain of domains) {
    for (const migration of domain.migrations ?? []) {
      if (reservedComponents.has(migration.component)) {
        throw new DomainMigrationError(`domain ${domain.name}: the migration component "${migration.component}" is Orrery's own; name yours after your domain`)
      }
      const id = `${migration.component}@${migration.version}`
      const earlier = seen.get(id)
      if (earlier === undefined) {
        seen.set(id, { domain: domain.name, migration })
        ordered.push(migration)
      } else if (earlier.migration !== migration && earlier.migration.sql("s") !== migration.sql("s")) {
        throw new DomainMigrationError(`domains ${earlier.domain} and ${domain.name} both declare ${migration.component} version ${migration.version}, with different SQL`)
      }
    }
  }
  return ordered
}

/**
 * Every migration an application of these domains needs: the log's, the
 * engine's, then the domains' own. What `orrery migrate` applies and
 * `orrery doctor` checks.
 *
 * @example
 * ```ts
 * yield* checkup(neededMigrations(project.domains))
 * ```
 */
export const neededMigrations = (domains: ReadonlyArray<Domain>): ReadonlyArray<Migration> => [
  ...logMigrations,
  ...engineMigrations,
  ...domainMigrations(domains)
]

/**
 * The domains' services over the database: their migrations applied first (in
 * `schema`, beside the log), then their Layers built with the `Database` and
 * the `OrrerySchema`, so that a service can keep its state in its own tables.
 */
export const domainServicesLayer = (domains: ReadonlyArray<Domain>, schema: string): Layer.Layer<any, unknown, Database> => {
  const services = domains.reduce(
    (merged, domain) => Layer.merge(merged, domain.services) as Layer.Layer<any, never, any>,
    Layer.empty as unknown as Layer.Layer<any, never, any>
  )
  const migrated = Layer.effectDiscard(
    Effect.gen(function*() {
      const migrations = yield* Effect.try({ try: () => domainMigrations(domains), catch: (error) => error })
      if (migrations.length === 0) return
      const db = yield* Database
      yield* Effect.tryPromise({
        try: () => migrate(db, schema, migrations),
        catch: (error) => new DomainMigrationError(`applying the domains' migrations in ${db.location} failed: ${String(error)}`)
      })
    })
  )
  return services.pipe(Layer.provide(Layer.merge(Layer.succeed(OrrerySchema, { name: schema }), migrated)))
}

/**
 * The read models an application runs: the engine's own (the inspector's transition heatmap) beside the domains'.
 *
 * @example
 * const names = applicationProjections(shippedDomains()).map((projection) => projection.name)
 */
export const applicationProjections = (domains: ReadonlyArray<Domain>): ReadonlyArray<Projection> => [
  transitionHeatProjection,
  ...domains.flatMap((domain) => domain.projections)
]

export const applicationLayer = (options: ApplicationOptions): Layer.Layer<ApplicationServices, unknown> => {
  const schema = options.schema ?? defaultSchema
  const services = domainServicesLayer(options.domains, schema)
  const orrery = orreryLayer({
    workflows: options.domains.flatMap((domain) => domain.workflows),
    schema,
    worker: options.worker,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.circuitBreaker === undefined ? {} : { circuitBreaker: options.circuitBreaker })
  })
  const projections = projectionsLayer(options.projections ? applicationProjections(options.domains) : [], schema)
  return projections.pipe(
    Layer.provideMerge(orrery as Layer.Layer<any, any, any>),
    // Domain services keep their state in the same database (seat holds, stock, payments).
    Layer.provideMerge(services),
    Layer.provideMerge(options.database)
  ) as Layer.Layer<ApplicationServices, unknown>
}

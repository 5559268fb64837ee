/**
 * One Orrery application as Layers: a project's domains (their workflows, the
 * services their activities use, their read models) on the engine over one
 * database. `orrery start` and `orrery worker`, `createOrrery` and the test
 * kit all compose it here, so that they run the same thing.
 */
import { Layer } from "effect"
import type { CircuitBreaker, CircuitBreakerOptions } from "../activities/circuit-breaker.js"
import type { Domain } from "../domain.js"
import { type Engine, type EngineRuntime, type OrrerySchema, orreryLayer, type WorkflowRegistry } from "../engine/index.js"
import type { WorkerOptions } from "../engine/worker.js"
import type { Database, EventLog } from "../log/index.js"
import { type Projections, projectionsLayer } from "../projections/projection.js"

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

export const applicationLayer = (options: ApplicationOptions): Layer.Layer<ApplicationServices, unknown> => {
  const schema = options.schema ?? defaultSchema
  const services = options.domains.reduce(
    (merged, domain) => Layer.merge(merged, domain.services) as Layer.Layer<any, never, any>,
    Layer.empty as unknown as Layer.Layer<any, never, any>
  )
  const orrery = orreryLayer({
    workflows: options.domains.flatMap((domain) => domain.workflows),
    schema,
    worker: options.worker,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.circuitBreaker === undefined ? {} : { circuitBreaker: options.circuitBreaker })
  })
  const projections = projectionsLayer(options.projections ? options.domains.flatMap((domain) => domain.projections) : [], schema)
  return projections.pipe(
    Layer.provideMerge(orrery as Layer.Layer<any, any, any>),
    // Domain services may keep their state in the same database (seat holds, stock).
    Layer.provideMerge(services),
    Layer.provideMerge(options.database)
  ) as Layer.Layer<ApplicationServices, unknown>
}

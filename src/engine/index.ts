/** The engine's public API: define workflows, run them durably, replay them. */
import { Layer } from "effect"
import { type CircuitBreakerOptions, circuitBreakerLayer } from "../activities/circuit-breaker.js"
import { type Database, type EventLogOptions, layer as eventLogLayer, makeCatalog } from "../log/index.js"
import { layer as engineLayer } from "./engine.js"
import { engineEventTypes } from "./records.js"
import { makeRegistry, WorkflowRegistry } from "./registry.js"
import { OrrerySchema } from "./tables.js"
import { type WorkerOptions, layer as workerLayer } from "./worker.js"
import type { WorkflowDefinition, WorkflowRequirements } from "./workflow.js"
import { Effect } from "effect"

export { CircuitBreaker, CircuitOpen, circuitBreakerLayer } from "../activities/circuit-breaker.js"
export { OrrerySchema } from "./tables.js"
export { Engine } from "./engine.js"
export { EngineRuntime } from "./runtime.js"
export type { InstanceKey } from "./instance-store.js"
export { historyEntryOf, waitingText, type HistoryEntry, type InstanceReplay, type InstanceView, type ListFilter, type PendingTask, type StateCount } from "./views.js"
export * from "./errors.js"
export { WorkflowRegistry, registryLayer } from "./registry.js"
export { engineMigrations } from "./store.js"
export { replay, replaySteps, type Replayed, type ReplayedStep, type ReplayedSteps, type ReplayOptions } from "./replay.js"
export { Worker, type WorkerOptions } from "./worker.js"
export { activityLogic, defineActivity, defineWorkflow, streamOf, type ActivityDefinition, type ActivityRun, type WorkflowDefinition } from "./workflow.js"

export interface OrreryOptions<W extends WorkflowDefinition<any>> {
  readonly workflows: ReadonlyArray<W>
  readonly schema?: string
  /** Run a worker in this process (the default), or not (`false`: an API-only process). */
  readonly worker?: WorkerOptions | false
  readonly circuitBreaker?: CircuitBreakerOptions
  readonly leaseMs?: number
  /** Live instances kept in memory; 0 reloads every input from the database (the differential tests). */
  readonly cacheSize?: number
  readonly log?: Omit<EventLogOptions, "schema" | "catalog">
}

/**
 * Everything Orrery runs on one database: the log, the registry, the engine and
 * (unless `worker: false`) a worker. Needs a `Database` layer and the Layers of
 * the services the workflows' activities use.
 */
export const orreryLayer = <W extends WorkflowDefinition<any>>(options: OrreryOptions<W>) => {
  const schema = options.schema ?? "orrery"
  const registry = Layer.effect(WorkflowRegistry, makeRegistry(options.workflows))
  const log = Layer.unwrap(
    Effect.map(WorkflowRegistry, (workflows) =>
      eventLogLayer({ ...options.log, schema, catalog: makeCatalog([...engineEventTypes, ...workflows.eventTypes]) })
    )
  )
  const core = engineLayer({
    schema,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize })
  }).pipe(
    Layer.provideMerge(log),
    Layer.provideMerge(registry),
    Layer.provideMerge(circuitBreakerLayer(options.circuitBreaker)),
    Layer.provideMerge(Layer.succeed(OrrerySchema, { name: schema }))
  )
  if (options.worker === false) return core as Layer.Layer<Layer.Success<typeof core>, Layer.Error<typeof core>, Database>
  return workerLayer<WorkflowRequirements<W>>({ ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }), ...options.worker }).pipe(
    Layer.provideMerge(core)
  )
}

/**
 * Every registered (workflow type, version). Instances stay on the version they
 * started with; new ones take the newest.
 */
import { Context, Effect, Layer } from "effect"
import type { EventType } from "../log/index.js"
import { DuplicateWorkflow, WorkflowNotFound } from "./errors.js"
import type { WorkflowDefinition } from "./workflow.js"

export interface RegistryShape {
  readonly newest: (workflowType: string) => Effect.Effect<WorkflowDefinition<any>, WorkflowNotFound>
  readonly version: (workflowType: string, version: number) => Effect.Effect<WorkflowDefinition<any>, WorkflowNotFound>
  readonly isWorkflowType: (workflowType: string) => boolean
  readonly all: ReadonlyArray<WorkflowDefinition<any>>
  /** The domain event types of every workflow, for the log's catalog. */
  readonly eventTypes: ReadonlyArray<EventType>
}

export class WorkflowRegistry extends Context.Service<WorkflowRegistry, RegistryShape>()("orrery/engine/WorkflowRegistry") {}

export const makeRegistry = (definitions: ReadonlyArray<WorkflowDefinition<any>>): Effect.Effect<RegistryShape, DuplicateWorkflow> =>
  Effect.gen(function*() {
    const byType = new Map<string, Map<number, WorkflowDefinition<any>>>()
    for (const definition of definitions) {
      const versions = byType.get(definition.type) ?? new Map<number, WorkflowDefinition<any>>()
      const known = versions.get(definition.version)
      if (known !== undefined && known.machine !== definition.machine) {
        return yield* new DuplicateWorkflow({ workflowType: definition.type, version: definition.version })
      }
      versions.set(definition.version, definition)
      byType.set(definition.type, versions)
    }
    const newest = new Map([...byType].map(([type, versions]) => [type, versions.get(Math.max(...versions.keys()))!]))
    const registry: RegistryShape = {
      newest: (workflowType) => {
        const found = newest.get(workflowType)
        return found === undefined ? Effect.fail(new WorkflowNotFound({ workflowType })) : Effect.succeed(found)
      },
      version: (workflowType, version) => {
        const found = byType.get(workflowType)?.get(version)
        return found === undefined ? Effect.fail(new WorkflowNotFound({ workflowType, version })) : Effect.succeed(found)
      },
      isWorkflowType: (workflowType) => byType.has(workflowType),
      all: [...byType.values()].flatMap((versions) => [...versions.values()]),
      eventTypes: [...new Set(definitions.flatMap((definition) => definition.events.emits))]
    }
    return registry
  })

export const registryLayer = (definitions: ReadonlyArray<WorkflowDefinition<any>>) =>
  Layer.effect(WorkflowRegistry, makeRegistry(definitions))

/**
 * The catalogue: every registered workflow type, each one's machine as a graph
 * per version, and how many of its instances stand in each state.
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { Engine, WorkflowRegistry, WorkflowNotFound } from "../../engine/index.js"
import type { RouteContext } from "../context.js"
import { perform } from "../runner.js"
import { anyJson, commonErrors, errors, identifier } from "../schemas.js"
import { machineCompareRoutes } from "./machine-compare.js"
import { versionGraph } from "./machine-graph.js"

const tags = ["machines"]

const stateSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    key: { type: "string" },
    parent: { type: ["string", "null"] },
    kind: { type: "string", enum: ["atomic", "compound", "parallel", "final", "history"] },
    initial: { type: "array", items: { type: "string" } },
    history: { type: ["string", "null"], enum: ["shallow", "deep", null] },
    tags: { type: "array", items: { type: "string" } },
    description: { type: ["string", "null"] },
    invokes: { type: "array", items: { type: "object", properties: { id: { type: "string" }, src: { type: "string" } } } }
  }
} as const

const transitionSchema = {
  type: "object",
  properties: {
    source: { type: "string" },
    event: { type: "string", description: '"" for an eventless (always) transition' },
    trigger: { type: "string", enum: ["event", "after", "always", "done", "error"] },
    guard: { type: ["string", "null"] },
    delay: { type: ["string", "number", "null"] },
    delayMs: { type: ["number", "null"] },
    targets: { type: "array", items: { type: "string" } },
    reenter: { type: "boolean" }
  }
} as const

const versionSchema = {
  type: "object",
  properties: {
    version: { type: "integer" },
    kind: { type: "string", enum: ["aggregate", "saga"] },
    machineId: { type: "string" },
    initial: { type: "array", items: { type: "string" } },
    input: { ...anyJson, description: "JSON Schema of the start input" },
    accepts: { type: "object", additionalProperties: true, description: "JSON Schema of each event a client may send, by type" },
    emits: { type: "array", items: { type: "string" } },
    activities: { type: "array", items: { type: "string" } },
    states: { type: "array", items: stateSchema },
    transitions: { type: "array", items: transitionSchema }
  }
} as const

const summary = {
  type: "object",
  properties: {
    type: { type: "string" },
    kind: { type: "string", enum: ["aggregate", "saga"] },
    versions: { type: "array", items: { type: "integer" } },
    newestVersion: { type: "integer" }
  }
} as const

export const machineRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  const definitions = await perform(context.run, WorkflowRegistry.use((registry) => Effect.succeed(registry.all)))
  const types = [...new Set(definitions.map((definition) => definition.type))]
  // Definitions do not change while the server runs: build every graph once.
  const graphs = new Map(
    types.map((type) => [
      type,
      { type, versions: definitions.filter((d) => d.type === type).sort((a, b) => a.version - b.version).map(versionGraph) }
    ])
  )
  const catalogue = {
    items: [...graphs.values()]
      .map(({ type, versions }) => ({ type, kind: versions.at(-1)!.kind, versions: versions.map((v) => v.version), newestVersion: versions.at(-1)!.version }))
      .sort((a, b) => a.type.localeCompare(b.type))
  }

  app.get(
    "/machines",
    { schema: { tags, operationId: "listMachines", summary: "Registered workflow types", response: { 200: { type: "object", properties: { items: { type: "array", items: summary } } }, ...errors(...commonErrors) } } },
    async () => catalogue
  )

  app.get<{ Params: { type: string } }>(
    "/machines/:type",
    {
      schema: {
        tags,
        operationId: "getMachine",
        summary: "A workflow type's machine as a graph, per registered version",
        params: { type: "object", required: ["type"], properties: { type: identifier } },
        response: {
          200: { type: "object", properties: { type: { type: "string" }, versions: { type: "array", items: versionSchema } } },
          ...errors(...commonErrors, 404)
        }
      }
    },
    async (request) => {
      const graph = graphs.get(request.params.type)
      if (graph === undefined) return context.perform(request, Effect.fail(new WorkflowNotFound({ workflowType: request.params.type })))
      return graph
    }
  )

  app.get<{ Params: { type: string } }>(
    "/machines/:type/states",
    {
      schema: {
        tags,
        operationId: "countInstancesByState",
        summary: "How many instances of a type stand in each state",
        description: "One row per machine version, status and state value (an object for nested and parallel states); the inspector puts these on the statechart.",
        params: { type: "object", required: ["type"], properties: { type: identifier } },
        response: {
          200: {
            type: "object",
            properties: {
              type: { type: "string" },
              items: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    machineVersion: { type: "integer" },
                    status: { type: "string", enum: ["running", "done", "failed", "cancelled"] },
                    state: anyJson,
                    count: { type: "integer" }
                  }
                }
              }
            }
          },
          ...errors(...commonErrors, 404)
        }
      }
    },
    async (request) => {
      const { type } = request.params
      if (!graphs.has(type)) return context.perform(request, Effect.fail(new WorkflowNotFound({ workflowType: type })))
      return { type, items: await context.perform(request, Engine.use((engine) => engine.census(type))) }
    }
  )

  await app.register(machineCompareRoutes, { context, graphs })
}

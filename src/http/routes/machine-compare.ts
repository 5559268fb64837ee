/**
 * GET /machines/{type}/compare?from=&to=: what changed between two registered
 * versions of a machine (states and transitions added and removed, see
 * machine-diff.ts), and how many running instances pinned to `from` stand in a
 * state `to` no longer has — the instances that keep the older version alive.
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { Engine, WorkflowNotFound } from "../../engine/index.js"
import type { RouteContext } from "../context.js"
import { commonErrors, errors, identifier } from "../schemas.js"
import { diffVersions, standsIn } from "./machine-diff.js"
import type { MachineVersionGraph } from "./machine-graph.js"

/** How many ids of stranded instances each removed state names: a sample to open, not a list. */
const sampleSize = 5

const stateChange = {
  type: "object",
  required: ["path", "id", "parent", "kind"],
  properties: {
    path: { type: "string", description: "The state's keys from the top joined by dots, as GET /workflows?state= takes it" },
    id: { type: "string", description: "Its id in the version that has it" },
    parent: { type: ["string", "null"] },
    kind: { type: "string", enum: ["atomic", "compound", "parallel", "final", "history"] }
  }
} as const

const transitionChange = {
  type: "object",
  required: ["source", "event", "trigger", "guard", "targets", "sourceId", "targetIds"],
  properties: {
    source: { type: "string", description: 'The source state\'s path ("" for the machine itself)' },
    event: { type: "string", description: '"" for an eventless (always) transition' },
    trigger: { type: "string", enum: ["event", "after", "always", "done", "error"] },
    guard: { type: ["string", "null"] },
    targets: { type: "array", items: { type: "string" }, description: "The target states' paths" },
    sourceId: { type: "string" },
    targetIds: { type: "array", items: { type: "string" } }
  }
} as const

const changes = (items: object) => ({ type: "object", required: ["added", "removed"], properties: { added: { type: "array", items }, removed: { type: "array", items } } }) as const

const schema = {
  tags: ["machines"],
  operationId: "compareMachineVersions",
  summary: "What changed between two versions of a machine",
  description:
    "States `to` adds and removes against `from` (matched by their path of keys), transitions added and removed (matched by source, event and targets: a changed guard alone is no change), and per removed state the running instances pinned to `from` that stand in it (`stranded`: their count and a few ids).",
  params: { type: "object", required: ["type"], properties: { type: identifier } },
  querystring: {
    type: "object",
    additionalProperties: false,
    required: ["from", "to"],
    properties: {
      from: { type: "integer", minimum: 1, description: "A registered version: the older one, usually" },
      to: { type: "integer", minimum: 1, description: "A registered version to compare it with" }
    }
  },
  response: {
    200: {
      type: "object",
      required: ["type", "from", "to", "states", "transitions", "stranded"],
      properties: {
        type: { type: "string" },
        from: { type: "integer" },
        to: { type: "integer" },
        states: changes(stateChange),
        transitions: changes(transitionChange),
        stranded: {
          type: "array",
          description: "One row per removed state, in the order of states.removed",
          items: {
            type: "object",
            required: ["state", "count", "instances"],
            properties: {
              state: { type: "string", description: "The removed state's path" },
              count: { type: "integer", description: "Running instances on version `from` standing in it (or in a state inside it)" },
              instances: { type: "array", items: { type: "string" }, description: `Up to ${sampleSize} of their ids` }
            }
          }
        }
      }
    },
    ...errors(...commonErrors, 404)
  }
} as const

/** Up to `wanted` ids of running instances on `version` standing in `state`, paging the list (it does not filter by version). */
const sampleIds = (type: string, version: number, state: string, wanted: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const ids: Array<string> = []
    let cursor: string | undefined
    while (ids.length < wanted) {
      const page = yield* engine.list({ type, status: "running", state, limit: 200, ...(cursor === undefined ? {} : { cursor }) })
      ids.push(...page.items.filter((item) => item.machineVersion === version).map((item) => item.id))
      if (page.nextCursor === null) break
      cursor = page.nextCursor
    }
    return ids.slice(0, wanted)
  })

export const machineCompareRoutes: FastifyPluginAsync<{ readonly context: RouteContext; readonly graphs: ReadonlyMap<string, { readonly versions: ReadonlyArray<MachineVersionGraph> }> }> = async (
  app,
  { context, graphs }
) => {
  app.get<{ Params: { type: string }; Querystring: { from: number; to: number } }>("/machines/:type/compare", { schema }, async (request) => {
    const { type } = request.params
    const { from, to } = request.query
    const versionOf = (version: number) => {
      const graph = graphs.get(type)
      if (graph === undefined) return Effect.fail(new WorkflowNotFound({ workflowType: type }))
      const found = graph.versions.find((candidate) => candidate.version === version)
      return found === undefined ? Effect.fail(new WorkflowNotFound({ workflowType: type, version })) : Effect.succeed(found)
    }
    return context.perform(
      request,
      Effect.gen(function*() {
        const diff = diffVersions(yield* versionOf(from), yield* versionOf(to))
        const running = (yield* Engine.use((engine) => engine.census(type))).filter((row) => row.machineVersion === from && row.status === "running")
        const stranded = yield* Effect.forEach(diff.states.removed, ({ path }) =>
          Effect.gen(function*() {
            const count = running.filter((row) => standsIn(row.state, path)).reduce((sum, row) => sum + row.count, 0)
            const instances = count === 0 ? [] : yield* sampleIds(type, from, path, Math.min(count, sampleSize))
            return { state: path, count, instances }
          })
        )
        return { type, from, to, ...diff, stranded }
      })
    )
  })
}

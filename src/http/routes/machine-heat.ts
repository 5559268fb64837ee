/**
 * The transition heatmap of a workflow type: how often each transition was
 * taken over the last hour, the last day or the whole log, from the
 * `transition-heat` read model. The inspector thickens the chart's arrows by it.
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { WorkflowNotFound, WorkflowRegistry } from "../../engine/index.js"
import { type HeatWindow, heatWindows, transitionHeat } from "../../projections/transition-heat.js"
import type { RouteContext } from "../context.js"
import { perform } from "../runner.js"
import { commonErrors, errors, identifier } from "../schemas.js"

const heatSchema = {
  type: "object",
  required: ["type", "window", "since", "transitions", "unrecorded"],
  properties: {
    type: { type: "string" },
    window: { type: "string", enum: heatWindows },
    since: { type: ["string", "null"], format: "date-time", description: "The minute the window begins; null for the whole log" },
    transitions: {
      type: "array",
      description: "One row per transition and target taken in the window, most taken first; the ids and events are those of GET /machines/{type}",
      items: {
        type: "object",
        required: ["source", "event", "target", "count"],
        properties: {
          source: { type: "string" },
          event: { type: "string", description: '"" for an eventless (always) transition' },
          target: { type: ["string", "null"], description: "null for a targetless transition" },
          count: { type: "integer" }
        }
      }
    },
    unrecorded: { type: "integer", description: "Inputs in the window recorded before Orrery recorded their transitions: they are not in the counts" }
  }
} as const

export const machineHeatRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  const registered = await perform(context.run, WorkflowRegistry.use((registry) => Effect.succeed(new Set(registry.all.map((definition) => definition.type)))))

  app.get<{ Params: { type: string }; Querystring: { window?: HeatWindow } }>(
    "/machines/:type/heat",
    {
      schema: {
        tags: ["machines"],
        operationId: "getTransitionHeat",
        summary: "How often each transition of a type was taken",
        description: "Counted per minute by the transition-heat read model, from the transitions each input recorded; `window` is the last hour, the last day or the whole log.",
        params: { type: "object", required: ["type"], properties: { type: identifier } },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { window: { type: "string", enum: heatWindows, default: "hour" } }
        },
        response: { 200: heatSchema, ...errors(...commonErrors, 404) }
      }
    },
    async (request) => {
      const { type } = request.params
      if (!registered.has(type)) return context.perform(request, Effect.fail(new WorkflowNotFound({ workflowType: type })))
      const window = request.query.window ?? "hour"
      const heat = await context.perform(request, transitionHeat(type, window))
      return { type, window, ...heat }
    }
  )
}

/** `GET /metrics`: Prometheus text exposition (see metrics/orrery.ts for what is in it). */
import type { FastifyPluginAsync } from "fastify"
import type { RouteContext } from "../context.js"
import { commonErrors, errors } from "../schemas.js"

export const metricsRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["operations"],
        operationId: "metrics",
        summary: "Prometheus metrics",
        response: { 200: { description: "Prometheus text format 0.0.4", content: { "text/plain": { schema: { type: "string" } } } }, ...errors(...commonErrors) }
      }
    },
    async (_request, reply) => reply.type("text/plain; version=0.0.4; charset=utf-8").send(await context.metrics.render())
  )
}

/**
 * `GET /doctor`: the installation's checkup (migrations, every history's hash
 * chain, late tasks, parked read-model events), so that `orrery doctor` works
 * through a running server as well as on the database. It reads every history,
 * so it is a check to run now and then, not a probe to poll: /health/ready is that.
 */
import type { FastifyPluginAsync } from "fastify"
import { checkup } from "../../orrery/checkup.js"
import { neededMigrations } from "../../orrery/application.js"
import type { RouteContext } from "../context.js"
import { commonErrors, errors } from "../schemas.js"

export const doctorRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  app.get(
    "/doctor",
    {
      schema: {
        tags: ["health"],
        operationId: "doctor",
        summary: "Check the installation: migrations, hash chains of every history, late tasks, parked read-model events",
        response: {
          200: {
            type: "object",
            properties: {
              checks: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    level: { type: "string", enum: ["ok", "warn", "fail"] },
                    subject: { type: "string" },
                    message: { type: "string" }
                  }
                }
              },
              problems: { type: "integer", description: "how many checks failed; 0 means healthy" }
            }
          },
          ...errors(...commonErrors)
        }
      }
    },
    // The domains' own tables count: a server whose domain migration is missing is not healthy.
    async (request) => context.perform(request, checkup(neededMigrations(context.options.domains)))
  )
}

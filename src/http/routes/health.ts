/**
 * Probes, open to everyone (no token): `live` says the process answers;
 * `ready` that the database answers within a second and carries the
 * migrations this code needs, and that the server is not shutting down.
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { EngineRuntime, engineMigrations } from "../../engine/index.js"
import { Database, currentVersion, logMigrations } from "../../log/index.js"
import type { RouteContext } from "../context.js"
import { errorBody } from "../schemas.js"

const newest = (migrations: ReadonlyArray<{ readonly version: number }>) => Math.max(0, ...migrations.map((m) => m.version))
const required = { log: newest(logMigrations), engine: newest(engineMigrations) }

const readySchema = {
  tags: ["health"],
  operationId: "ready",
  summary: "Readiness: database reachable, migrations applied",
  security: [],
  response: {
    200: {
      type: "object",
      properties: {
        status: { type: "string", enum: ["ready"] },
        migrations: { type: "object", properties: { log: { type: "integer" }, engine: { type: "integer" } } }
      }
    },
    503: { ...errorBody, description: "Not ready: database unreachable, migrations missing, or shutting down" }
  }
} as const

export const healthRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  const config = { access: "public" as const, rateLimit: false as const }

  app.get(
    "/health/live",
    { config, schema: { tags: ["health"], operationId: "live", summary: "Liveness", security: [], response: { 200: { type: "object", properties: { status: { type: "string", enum: ["live"] } } } } } },
    async () => ({ status: "live" })
  )

  app.get("/health/ready", { config, schema: readySchema }, async (_request, reply) => {
    const notReady = (message: string, details?: unknown) =>
      reply.code(503).header("retry-after", "1").send({ error: "NotReady", message, ...(details === undefined ? {} : { details }) })
    if (context.lifecycle.closing) return notReady("the server is shutting down")
    const exit = await context.run(
      Effect.gen(function*() {
        const db = yield* Database
        const { schema } = yield* EngineRuntime
        return yield* Effect.tryPromise(async () => ({
          log: await currentVersion(db, schema, "log"),
          engine: await currentVersion(db, schema, "engine")
        })).pipe(Effect.timeout("1 second"))
      })
    )
    if (exit._tag === "Failure") return notReady("the database does not answer")
    const migrations = exit.value
    if (migrations.log < required.log || migrations.engine < required.engine) {
      return notReady("the database lacks migrations this version needs; run orrery migrate", { migrations, required })
    }
    return { status: "ready", migrations }
  })
}

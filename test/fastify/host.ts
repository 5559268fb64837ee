/**
 * A user's own Fastify app, as the plugin's tests mount Orrery in it: routes of
 * its own, its own error and not-found handlers (shapes unlike Orrery's), its
 * own auth in an onRequest hook registered before the plugin, its own
 * serializer, a body route that relies on Fastify's default validator (which
 * coerces) and on its text/plain parser, and a header it adds to every answer.
 */
import Fastify, { type FastifyInstance } from "fastify"

/** The host's own credential, checked by its own hook; "/public" is open. */
export const hostKey = "host-key-0123456789"

export interface HostApp {
  readonly app: FastifyInstance
  /** Every URL the host's auth hook saw, in order. */
  readonly seenByHostAuth: Array<string>
}

export const hostApp = (): HostApp => {
  const app = Fastify({ logger: false })
  const seenByHostAuth: Array<string> = []
  app.addHook("onRequest", async (request, reply) => {
    seenByHostAuth.push(request.url)
    if (request.url === "/public" || request.headers["x-host-key"] === hostKey) return
    return reply.code(401).send({ hostSays: "who are you?" })
  })
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("x-host", "yes")
    return payload
  })
  app.setErrorHandler(async (error: Error & { statusCode?: number; validation?: unknown }, _request, reply) =>
    reply.code(error.statusCode ?? 500).send({ hostError: error.message, validation: error.validation !== undefined })
  )
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ hostNotFound: request.url }))

  // A serializer of the host's own (as a type provider such as zod's sets): it must not reach Orrery's routes, nor Orrery's reach the host's.
  app.setSerializerCompiler(() => (data) => JSON.stringify({ ...(data as object), serializedBy: "host" }))

  app.get("/public", async () => ({ hello: "world" }))
  app.get("/typed", { schema: { response: { 200: { type: "object", properties: { typed: { type: "boolean" } } } } } }, async () => ({ typed: true, extra: "kept" }))
  app.get("/boom", async () => {
    throw Object.assign(new Error("the host's own failure"), { statusCode: 418 })
  })
  // Fastify's default validator coerces "5" to 5 in a body; Orrery's refuses it. Each keeps its own.
  app.post<{ Body: { n: number } }>("/count", { schema: { body: { type: "object", required: ["n"], properties: { n: { type: "integer" } } } } }, async (request) => ({
    n: request.body.n
  }))
  // Fastify parses text/plain by default; Orrery takes JSON only, on its own routes.
  app.post<{ Body: string }>("/note", async (request) => ({ length: request.body.length }))
  return { app, seenByHostAuth }
}

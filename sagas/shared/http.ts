/** Small helpers for the domains' read-side routes: validation errors as `{error, message}`. */
import type { FastifyReply, FastifyRequest } from "fastify"

export interface ErrorBody {
  readonly error: string
  readonly message: string
}

export const errorSchema = {
  type: "object",
  required: ["error", "message"],
  properties: { error: { type: "string" }, message: { type: "string" } }
} as const

/** Answers 400 `{error: "BadRequest", message}` when the route's JSON schema refused the request; true if it did. */
export const refusedInput = (request: FastifyRequest, reply: FastifyReply): boolean => {
  const error = (request as FastifyRequest & { validationError?: Error }).validationError
  if (error === undefined) return false
  void reply.code(400).send({ error: "BadRequest", message: error.message } satisfies ErrorBody)
  return true
}

export const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ error: "NotFound", message } satisfies ErrorBody)

/** Ids in paths: the characters instance ids allow. */
export const idPattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"

/** Shared pieces of the domains' read-side routes. */

/**
 * A refusal's body, for a route's `response` schema: Orrery answers every
 * refusal as `{ error, message, details? }` (a schema's refusal is a 400
 * `ValidationError` naming the field; a route throws `httpError` for others).
 */
export const errorSchema = {
  type: "object",
  required: ["error", "message"],
  properties: { error: { type: "string" }, message: { type: "string" }, details: {} }
} as const

/** Ids in paths: the characters instance ids allow. */
export const idPattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"

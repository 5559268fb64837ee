/**
 * The usage contract every saga that calls a model shares: one `tokens.consumed`
 * per model call. The back office's `generation-costs` read model subscribes to
 * it from every saga, so its shape is declared once, here (a shared kernel, not
 * a domain: no workflow, no Domain export).
 */
import { Schema } from "effect"
import { defineEvent } from "orrery"

/** A count of tokens: a non-negative integer. */
export const TokenCount = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.brand("TokenCount"))
export type TokenCount = typeof TokenCount.Type

/**
 * `tokens.consumed {requestId, model, promptTokens, completionTokens}` plus who
 * spent them: `purpose` (what the call was for) and the ebook or the writing
 * project it is billed to (at least one of the two in practice).
 */
export const TokensConsumed = defineEvent(
  "tokens.consumed",
  Schema.Struct({
    requestId: Schema.String,
    model: Schema.String,
    promptTokens: TokenCount,
    completionTokens: TokenCount,
    purpose: Schema.String,
    ebookId: Schema.optionalKey(Schema.String),
    projectId: Schema.optionalKey(Schema.String)
  })
)

/** What an activity that called a model reports, so that its transition can emit `tokens.consumed`. */
export const Usage = Schema.Struct({
  requestId: Schema.String,
  model: Schema.String,
  promptTokens: TokenCount,
  completionTokens: TokenCount
})
export type Usage = typeof Usage.Type

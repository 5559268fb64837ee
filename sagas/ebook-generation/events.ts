/** The `ebook-generation` saga's input and domain events. */
import { Schema } from "effect"
import { defineEvent } from "orrery"
import { Usd } from "./pricing.js"

export { TokensConsumed } from "../shared/usage.js"

const Text = (max: number) => Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(max), Schema.isPattern(/\S/, { message: "must not be blank" }))

export const EbookId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, { message: "must be 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit" })
)

export const maxPages = 50

export const EbookInput = Schema.Struct({
  ebookId: EbookId,
  title: Text(300),
  theme: Text(1000),
  pages: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxPages }))
})
export type EbookInput = typeof EbookInput.Type

export const EbookGenerationStarted = defineEvent(
  "ebook.generation_started",
  Schema.Struct({ ebookId: Schema.String, title: Schema.String, theme: Schema.String, pages: Schema.Int })
)

export const PageWritten = defineEvent(
  "ebook.page_written",
  Schema.Struct({ ebookId: Schema.String, page: Schema.Int, wordCount: Schema.Int, contentHash: Schema.String })
)

/** One per image: `{requestId, model}` and what it was for. */
export const ImageGenerated = defineEvent(
  "image.generated",
  Schema.Struct({
    requestId: Schema.String,
    model: Schema.String,
    ebookId: Schema.String,
    purpose: Schema.Literals(["cover", "illustration"]),
    page: Schema.optionalKey(Schema.Int),
    imageId: Schema.String
  })
)

export const EbookAssembled = defineEvent(
  "ebook.assembled",
  Schema.Struct({ ebookId: Schema.String, pageCount: Schema.Int, wordCount: Schema.Int, contentHash: Schema.String })
)

const CostLine = Schema.Struct({
  model: Schema.String,
  calls: Schema.Int,
  promptTokens: Schema.Int,
  completionTokens: Schema.Int,
  images: Schema.Int,
  costUsd: Usd,
  priced: Schema.Boolean
})

export const CostCalculated = defineEvent(
  "cost.calculated",
  Schema.Struct({ ebookId: Schema.String, currency: Schema.Literal("USD"), totalCostUsd: Usd, lines: Schema.Array(CostLine) })
)

export const EbookGenerated = defineEvent(
  "ebook.generated",
  Schema.Struct({ ebookId: Schema.String, totalCostUsd: Usd, pageCount: Schema.Int, contentHash: Schema.String })
)

export const EbookGenerationFailed = defineEvent(
  "ebook.generation_failed",
  Schema.Struct({ ebookId: Schema.String, step: Schema.String, reason: Schema.String })
)

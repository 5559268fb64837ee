/**
 * The writing domain's value objects, shared by the `chapter` aggregate and the
 * `chapter-generation` saga (which never import each other).
 */
import { Schema } from "effect"

/** A number of words: a non-negative integer. */
export const WordCount = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.brand("WordCount"))
export type WordCount = typeof WordCount.Type

/** A coherence score from 0 to 10; anything outside is refused. */
export const CoherenceScore = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 10 })).pipe(Schema.brand("CoherenceScore"))
export type CoherenceScore = typeof CoherenceScore.Type

/** A chapter below this score is regenerated. */
export const passingScore = 7

export const isAcceptable = (score: CoherenceScore, threshold = passingScore) => score >= threshold

/** Writing projects and other ids: the characters instance ids allow. */
export const ProjectId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, { message: "must be 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit" })
)

export const ChapterIndex = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))

export const ContentHash = Schema.String.check(Schema.isPattern(/^sha256:[0-9a-f]{64}$/, { message: "must be sha256:<64 hex digits>" }))

/** A fact of the story: a character (with an attribute such as eyes: green), a place, or an event. */
export const Fact = Schema.Struct({
  kind: Schema.Literals(["character", "location", "event"]),
  subject: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(300)),
  attribute: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100))),
  value: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(300)))
})
export type Fact = typeof Fact.Type

export const wordsOf = (text: string): WordCount => text.split(/\s+/).filter((word) => word !== "").length as WordCount

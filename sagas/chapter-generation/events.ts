/** The `chapter-generation` saga's input, accepted events and domain events. */
import { Schema } from "effect"
import { defineEvent } from "orrery"
import { ChapterIndex, CoherenceScore, Fact, ProjectId, WordCount } from "../shared/writing.js"

export { TokensConsumed } from "../shared/usage.js"

const Text = (max: number) => Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(max), Schema.isPattern(/\S/, { message: "must not be blank" }))

/** A target length a writer can aim at. */
export const TargetWordCount = WordCount.check(Schema.isBetween({ minimum: 50, maximum: 20_000 }))

export const GenerationInput = Schema.Struct({
  projectId: ProjectId,
  chapterIndex: ChapterIndex,
  instruction: Text(4000),
  targetWordCount: TargetWordCount
})
export type GenerationInput = typeof GenerationInput.Type

export const accepts = {
  /** In `pending_review`: approve the chapter (forwarded to the `chapter` aggregate). */
  APPROVE: Schema.Struct({ summary: Text(4000) }),
  /** In `pending_review`: reject it; the saga regenerates with the feedback. */
  REJECT: Schema.Struct({ feedback: Text(4000) }),
  /** In `needs_attention`: start over (three more attempts), optionally with guidance. */
  RETRY: Schema.Struct({ feedback: Schema.optionalKey(Text(4000)) })
}

const Where = { projectId: Schema.String, chapterIndex: Schema.Int }

export const GenerationStarted = defineEvent(
  "chapter.generation_started",
  Schema.Struct({ ...Where, attempt: Schema.Int, round: Schema.Int, targetWordCount: WordCount })
)

export const ChapterGenerated = defineEvent(
  "chapter.generated",
  Schema.Struct({ ...Where, attempt: Schema.Int, wordCount: WordCount, contentHash: Schema.String })
)

export const CoherenceValidated = defineEvent(
  "coherence.validated",
  Schema.Struct({ ...Where, attempt: Schema.Int, score: CoherenceScore, issuesCount: Schema.Int, blocking: Schema.Boolean })
)

export const ContradictionDetected = defineEvent(
  "contradiction.detected",
  Schema.Struct({
    ...Where,
    attempt: Schema.Int,
    contradictionType: Schema.String,
    severity: Schema.Literals(["blocking", "warning", "info"]),
    description: Schema.String
  })
)

export const FactsExtracted = defineEvent(
  "facts.extracted",
  Schema.Struct({ ...Where, charactersCount: Schema.Int, locationsCount: Schema.Int, eventsCount: Schema.Int })
)

/** The story memory (read model `story-memory`) is built from these: the chapter's facts replace its earlier ones. */
export const MemoryUpdated = defineEvent(
  "memory.updated",
  Schema.Struct({ ...Where, memoryType: Schema.String, entitiesUpdated: Schema.Int, facts: Schema.Array(Fact) })
)

export const NeedsAttention = defineEvent(
  "chapter.needs_attention",
  Schema.Struct({ ...Where, attempt: Schema.Int, reason: Schema.String })
)

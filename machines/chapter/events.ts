/** The `chapter` aggregate's inputs and domain events. */
import { Schema } from "effect"
import { defineEvent } from "orrery"
import { ChapterIndex, CoherenceScore, ContentHash, ProjectId, WordCount } from "../../sagas/shared/writing.js"

const Text = (max: number) => Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(max), Schema.isPattern(/\S/, { message: "must not be blank" }))

export const ChapterInput = Schema.Struct({ projectId: ProjectId, chapterIndex: ChapterIndex })
export type ChapterInput = typeof ChapterInput.Type

/** A draft to review: `draft` or `rejected` → `pending_review`. */
export const Submit = Schema.Struct({
  contentHash: ContentHash,
  wordCount: WordCount,
  score: Schema.optionalKey(CoherenceScore)
})
export const Approve = Schema.Struct({ summary: Text(4000) })
export const Reject = Schema.Struct({ feedback: Text(4000) })

export const ChapterSubmitted = defineEvent(
  "chapter.submitted",
  Schema.Struct({
    projectId: Schema.String,
    chapterIndex: Schema.Int,
    contentHash: Schema.String,
    wordCount: WordCount,
    score: Schema.optionalKey(CoherenceScore),
    submission: Schema.Int
  })
)

export const ChapterApproved = defineEvent(
  "chapter.approved",
  Schema.Struct({ projectId: Schema.String, chapterIndex: Schema.Int, contentHash: Schema.String, summary: Schema.String })
)

export const ChapterRejected = defineEvent(
  "chapter.rejected",
  Schema.Struct({ projectId: Schema.String, chapterIndex: Schema.Int, contentHash: Schema.String, feedback: Schema.String })
)

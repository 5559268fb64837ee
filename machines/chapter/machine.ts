/**
 * The `chapter` aggregate: one chapter of a writing project, the consistency
 * boundary of its review.
 *
 *   draft ──SUBMIT──▶ pending_review ──APPROVE──▶ approved (final)
 *                        │   ▲
 *                   REJECT   SUBMIT (a new draft)
 *                        ▼   │
 *                       rejected
 *
 * Approving twice is refused: `approved` is final (the engine answers
 * InstanceFinal), and APPROVE anywhere but `pending_review` is not accepted.
 *
 * Started on its own, it is driven by its clients. Started by a
 * `chapter-generation` saga (as its child `chapter`), it tells the saga what
 * happened with `sendParent`: CHAPTER_SUBMITTED, CHAPTER_REJECTED, and its final
 * output when approved. So APPROVE and REJECT may be sent to either.
 */
import { assign, emit, sendParent, setup } from "xstate"
import { defineWorkflow } from "orrery"
import { Approve, ChapterApproved, ChapterInput, ChapterRejected, ChapterSubmitted, Reject, Submit } from "./events.js"

export interface ChapterContext {
  readonly projectId: string
  readonly chapterIndex: number
  readonly contentHash: string | null
  readonly wordCount: number | null
  readonly score: number | null
  readonly submissions: number
  readonly summary: string | null
  readonly feedback: string | null
}

export interface ChapterOutput {
  readonly projectId: string
  readonly chapterIndex: number
  readonly contentHash: string
  readonly wordCount: number
  readonly summary: string
}

type ChapterEvent =
  | { readonly type: "SUBMIT"; readonly contentHash: string; readonly wordCount: number; readonly score?: number }
  | { readonly type: "APPROVE"; readonly summary: string }
  | { readonly type: "REJECT"; readonly feedback: string }

type Emitted = { readonly type: string; readonly [key: string]: unknown }

const submit = [
  assign(({ context, event }: { context: ChapterContext; event: ChapterEvent }) => {
    const e = event as Extract<ChapterEvent, { type: "SUBMIT" }>
    return { contentHash: e.contentHash, wordCount: e.wordCount, score: e.score ?? null, submissions: context.submissions + 1, feedback: null }
  }),
  emit(({ context }: { context: ChapterContext }) => ({
    type: "chapter.submitted",
    projectId: context.projectId,
    chapterIndex: context.chapterIndex,
    contentHash: context.contentHash!,
    wordCount: context.wordCount!,
    ...(context.score === null ? {} : { score: context.score }),
    submission: context.submissions
  })),
  sendParent(({ context }: { context: ChapterContext }) => ({ type: "CHAPTER_SUBMITTED", contentHash: context.contentHash, submission: context.submissions }))
] as const

export const chapterMachine = setup({
  types: {} as {
    context: ChapterContext
    input: { projectId: string; chapterIndex: number }
    events: ChapterEvent
    emitted: Emitted
    output: ChapterOutput
  }
}).createMachine({
  id: "chapter",
  context: ({ input }) => ({
    projectId: input.projectId,
    chapterIndex: input.chapterIndex,
    contentHash: null,
    wordCount: null,
    score: null,
    submissions: 0,
    summary: null,
    feedback: null
  }),
  initial: "draft",
  states: {
    draft: {
      on: { SUBMIT: { target: "pending_review", actions: submit as never } }
    },
    pending_review: {
      on: {
        APPROVE: {
          target: "approved",
          actions: [
            assign({ summary: ({ event }) => event.summary }),
            emit(({ context, event }) => ({
              type: "chapter.approved",
              projectId: context.projectId,
              chapterIndex: context.chapterIndex,
              contentHash: context.contentHash!,
              summary: event.summary
            }))
          ]
        },
        REJECT: {
          target: "rejected",
          actions: [
            assign({ feedback: ({ event }) => event.feedback }),
            emit(({ context, event }) => ({
              type: "chapter.rejected",
              projectId: context.projectId,
              chapterIndex: context.chapterIndex,
              contentHash: context.contentHash!,
              feedback: event.feedback
            })),
            sendParent(({ event }) => ({ type: "CHAPTER_REJECTED", feedback: event.feedback }))
          ]
        }
      }
    },
    rejected: {
      on: { SUBMIT: { target: "pending_review", actions: submit as never } }
    },
    approved: {
      type: "final"
    }
  },
  output: ({ context }) => ({
    projectId: context.projectId,
    chapterIndex: context.chapterIndex,
    contentHash: context.contentHash!,
    wordCount: context.wordCount!,
    summary: context.summary!
  })
})

export const chapterWorkflow = defineWorkflow({
  type: "chapter",
  version: 1,
  kind: "aggregate",
  machine: chapterMachine,
  events: {
    input: ChapterInput,
    accepts: { SUBMIT: Submit, APPROVE: Approve, REJECT: Reject },
    emits: [ChapterSubmitted, ChapterApproved, ChapterRejected]
  },
  activities: {}
})

/**
 * The `chapter-generation` saga.
 *
 *   generating ─▶ validating ─▶ extracting ─▶ updating_memory ─▶ submitting ─▶ pending_review
 *       ▲             │ score < 7 or a blocking                                     │ APPROVE ─▶ approving ─▶ approved (final)
 *       └─────────────┘ contradiction: again, with the issues                      │ REJECT  ─▶ rejecting ─▶ generating
 *                     │ (at most 3 attempts)                                        │           (the feedback)
 *                     ▼
 *               needs_attention ──RETRY──▶ generating
 *
 * The chapter itself is a `chapter` aggregate, started as this saga's child
 * (`<id>.chapter`) for its whole life: SUBMIT goes to it when the draft is
 * ready; APPROVE and REJECT are forwarded to it, and it answers (CHAPTER_SUBMITTED,
 * CHAPTER_REJECTED, its final output when approved) — so a reviewer may also
 * approve or reject the chapter instance directly. It emits `chapter.submitted`,
 * `chapter.approved` and `chapter.rejected`.
 *
 * Every model call's usage is emitted as `tokens.consumed` (attributed to the
 * project). The context holds hashes, counts and at most a page of issues and
 * facts, never the text.
 */
import { assign, emit, enqueueActions, sendTo, setup } from "xstate"
import { activityLogic, describeError } from "orrery"
import type { Usage } from "../shared/usage.js"
import type { Fact } from "../shared/writing.js"
import { passingScore } from "../shared/writing.js"
import type { ExtractInput, ExtractOutput, GenerateInput, GenerateOutput, UpdateMemoryInput, ValidateInput, ValidateOutput } from "./activities.js"

/** Drafts per round (the first and two regenerations) before a person must look. */
export const maxAttempts = 3

/** How long `submitting` waits for the chapter's answer before sending SUBMIT again. */
export const resubmitAfterMs = 10_000

export interface GenerationContext {
  readonly projectId: string
  readonly chapterIndex: number
  readonly instruction: string
  readonly targetWordCount: number
  /** 1..maxAttempts within a round. */
  readonly attempt: number
  /** 1, then one more per REJECT or RETRY. */
  readonly round: number
  /** What the next draft must fix: the last draft's issues or the reviewer's feedback. */
  readonly feedback: ReadonlyArray<string>
  readonly contentHash: string | null
  readonly wordCount: number | null
  readonly score: number | null
  readonly facts: ReadonlyArray<Fact>
  readonly reason: string | null
  readonly summary: string | null
}

export interface GenerationOutput {
  readonly projectId: string
  readonly chapterIndex: number
  readonly contentHash: string | null
  readonly wordCount: number | null
  readonly score: number | null
  readonly summary: string | null
}

type GenerationEvent =
  | { readonly type: "APPROVE"; readonly summary: string }
  | { readonly type: "REJECT"; readonly feedback: string }
  | { readonly type: "RETRY"; readonly feedback?: string }
  | { readonly type: "CHAPTER_SUBMITTED" }
  | { readonly type: "CHAPTER_REJECTED"; readonly feedback: string }

type Emitted = { readonly type: string; readonly [key: string]: unknown }

interface ChapterChildOutput {
  readonly summary: string
  readonly contentHash: string
  readonly wordCount: number
}

const where = (context: GenerationContext) => ({ projectId: context.projectId, chapterIndex: context.chapterIndex })

const tokensConsumed = (context: GenerationContext, usage: Usage, purpose: string) => ({
  type: "tokens.consumed",
  requestId: usage.requestId,
  model: usage.model,
  promptTokens: usage.promptTokens,
  completionTokens: usage.completionTokens,
  purpose,
  projectId: context.projectId
})

const coherent = (output: ValidateOutput) => output.score >= passingScore && !output.blocking

const issuesAsFeedback = (output: ValidateOutput) =>
  output.issues.filter((issue) => issue.severity !== "info").slice(0, 10).map((issue) => `${issue.type} (${issue.severity}): ${issue.description}`)

export const generationMachine = setup({
  types: {} as {
    context: GenerationContext
    input: { projectId: string; chapterIndex: number; instruction: string; targetWordCount: number }
    events: GenerationEvent
    emitted: Emitted
    output: GenerationOutput
  },
  actors: {
    /** The child `chapter` aggregate (a workflow type, not an activity). */
    chapter: activityLogic<{ projectId: string; chapterIndex: number }, ChapterChildOutput>(),
    generateChapter: activityLogic<GenerateInput, GenerateOutput>(),
    validateCoherence: activityLogic<ValidateInput, ValidateOutput>(),
    extractFacts: activityLogic<ExtractInput, ExtractOutput>(),
    updateMemory: activityLogic<UpdateMemoryInput, { entitiesUpdated: number }>()
  },
  actions: {
    needsAttention: enqueueActions(({ context, enqueue }, params: { reason: string }) => {
      enqueue.assign({ reason: params.reason })
      enqueue.emit({ type: "chapter.needs_attention", ...where(context), attempt: context.attempt, reason: params.reason })
    })
  },
  delays: { resubmit: resubmitAfterMs }
}).createMachine({
  id: "chapter-generation",
  context: ({ input }) => ({
    projectId: input.projectId,
    chapterIndex: input.chapterIndex,
    instruction: input.instruction,
    targetWordCount: input.targetWordCount,
    attempt: 1,
    round: 1,
    feedback: [],
    contentHash: null,
    wordCount: null,
    score: null,
    facts: [],
    reason: null,
    summary: null
  }),
  // The chapter aggregate lives as long as the saga does.
  invoke: {
    id: "chapter",
    src: "chapter",
    input: ({ context }) => ({ projectId: context.projectId, chapterIndex: context.chapterIndex }),
    onDone: {
      target: ".approved",
      actions: assign({ summary: ({ event }) => event.output.summary })
    },
    onError: {
      target: ".failed",
      actions: [
        assign({ reason: ({ event }) => `the chapter aggregate ended: ${describeError(event.error)}` }),
        emit(({ context }) => ({ type: "chapter.needs_attention", ...where(context), attempt: context.attempt, reason: context.reason ?? "the chapter aggregate ended" }))
      ]
    }
  },
  initial: "generating",
  states: {
    generating: {
      entry: emit(({ context }) => ({
        type: "chapter.generation_started",
        ...where(context),
        attempt: context.attempt,
        round: context.round,
        targetWordCount: context.targetWordCount
      })),
      invoke: {
        id: "generate",
        src: "generateChapter",
        input: ({ context }) => ({
          projectId: context.projectId,
          chapterIndex: context.chapterIndex,
          instruction: context.instruction,
          targetWordCount: context.targetWordCount,
          attempt: context.attempt,
          feedback: context.feedback
        }),
        onDone: {
          target: "validating",
          actions: [
            assign({ contentHash: ({ event }) => event.output.contentHash, wordCount: ({ event }) => event.output.wordCount, score: null }),
            emit(({ context, event }) => tokensConsumed(context, event.output.usage, "chapter")),
            emit(({ context, event }) => ({
              type: "chapter.generated",
              ...where(context),
              attempt: context.attempt,
              wordCount: event.output.wordCount,
              contentHash: event.output.contentHash
            }))
          ]
        },
        onError: {
          target: "needs_attention",
          actions: { type: "needsAttention", params: ({ event }) => ({ reason: `writing the draft failed: ${describeError(event.error)}` }) }
        }
      }
    },
    validating: {
      invoke: {
        id: "validate",
        src: "validateCoherence",
        input: ({ context }) => ({
          projectId: context.projectId,
          chapterIndex: context.chapterIndex,
          contentHash: context.contentHash!,
          targetWordCount: context.targetWordCount
        }),
        onDone: [
          {
            guard: ({ event }) => coherent(event.output),
            target: "extracting",
            actions: [
              enqueueActions(({ context, event, enqueue }) => reportValidation(context, event.output, enqueue)),
              assign({ score: ({ event }) => event.output.score, feedback: [] })
            ]
          },
          {
            guard: ({ context }) => context.attempt < maxAttempts,
            target: "generating",
            actions: [
              enqueueActions(({ context, event, enqueue }) => reportValidation(context, event.output, enqueue)),
              assign({
                score: ({ event }) => event.output.score,
                attempt: ({ context }) => context.attempt + 1,
                feedback: ({ event }) => issuesAsFeedback(event.output)
              })
            ]
          },
          {
            target: "needs_attention",
            actions: [
              enqueueActions(({ context, event, enqueue }) => reportValidation(context, event.output, enqueue)),
              assign({ score: ({ event }) => event.output.score, feedback: ({ event }) => issuesAsFeedback(event.output) }),
              {
                type: "needsAttention",
                params: ({ event }) => ({
                  reason: `still incoherent after ${maxAttempts} attempts (score ${event.output.score}${event.output.blocking ? ", blocking issues" : ""})`
                })
              }
            ]
          }
        ],
        onError: {
          target: "needs_attention",
          actions: { type: "needsAttention", params: ({ event }) => ({ reason: `validating coherence failed: ${describeError(event.error)}` }) }
        }
      }
    },
    extracting: {
      invoke: {
        id: "extract",
        src: "extractFacts",
        input: ({ context }) => ({ projectId: context.projectId, chapterIndex: context.chapterIndex, contentHash: context.contentHash! }),
        onDone: {
          target: "updating_memory",
          actions: [
            assign({ facts: ({ event }) => event.output.facts }),
            emit(({ context, event }) => tokensConsumed(context, event.output.usage, "facts")),
            emit(({ context, event }) => ({
              type: "facts.extracted",
              ...where(context),
              charactersCount: event.output.charactersCount,
              locationsCount: event.output.locationsCount,
              eventsCount: event.output.eventsCount
            }))
          ]
        },
        onError: {
          target: "needs_attention",
          actions: { type: "needsAttention", params: ({ event }) => ({ reason: `extracting facts failed: ${describeError(event.error)}` }) }
        }
      }
    },
    updating_memory: {
      invoke: {
        id: "remember",
        src: "updateMemory",
        input: ({ context }) => ({ projectId: context.projectId, chapterIndex: context.chapterIndex, facts: context.facts }),
        onDone: {
          target: "submitting",
          actions: emit(({ context, event }) => ({
            type: "memory.updated",
            ...where(context),
            memoryType: "story-facts",
            entitiesUpdated: event.output.entitiesUpdated,
            facts: context.facts
          }))
        },
        onError: {
          target: "needs_attention",
          actions: { type: "needsAttention", params: ({ event }) => ({ reason: `updating the story memory failed: ${describeError(event.error)}` }) }
        }
      }
    },
    submitting: {
      entry: sendTo("chapter", ({ context }) => ({
        type: "SUBMIT",
        contentHash: context.contentHash!,
        wordCount: context.wordCount!,
        ...(context.score === null ? {} : { score: context.score })
      })),
      on: { CHAPTER_SUBMITTED: "pending_review" },
      // Until the chapter answers, SUBMIT again now and then: a message that reaches a
      // child before its start has committed is dropped by the engine
      // (test/domains/writing/ENGINE_BUG_child-message-lost.md). A duplicate is refused by the chapter.
      after: { resubmit: { target: "submitting", reenter: true } }
    },
    pending_review: {
      on: {
        APPROVE: {
          target: "approving",
          actions: sendTo("chapter", ({ event }) => ({ type: "APPROVE", summary: event.summary }))
        },
        REJECT: {
          target: "rejecting",
          actions: sendTo("chapter", ({ event }) => ({ type: "REJECT", feedback: event.feedback }))
        },
        // Rejected directly on the chapter instance.
        CHAPTER_REJECTED: {
          target: "generating",
          actions: assign(({ context, event }) => nextRound(context, event.feedback))
        }
      }
    },
    approving: {
      // The chapter's final output arrives as the root invoke's onDone; unless a
      // reviewer rejected the chapter directly in the meantime.
      on: {
        CHAPTER_REJECTED: {
          target: "generating",
          actions: assign(({ context, event }) => nextRound(context, event.feedback))
        }
      }
    },
    rejecting: {
      on: {
        CHAPTER_REJECTED: {
          target: "generating",
          actions: assign(({ context, event }) => nextRound(context, event.feedback))
        }
      }
    },
    needs_attention: {
      on: {
        RETRY: {
          target: "generating",
          actions: assign(({ context, event }) => nextRound(context, event.feedback))
        }
      }
    },
    approved: { type: "final" },
    failed: { type: "final" }
  },
  output: ({ context }) => ({
    projectId: context.projectId,
    chapterIndex: context.chapterIndex,
    contentHash: context.contentHash,
    wordCount: context.wordCount,
    score: context.score,
    summary: context.summary
  })
})

const nextRound = (context: GenerationContext, feedback: string | undefined) => ({
  round: context.round + 1,
  attempt: 1,
  feedback: feedback === undefined ? [] : [`reviewer: ${feedback.slice(0, 1000)}`],
  reason: null
})

/** tokens.consumed, coherence.validated and one contradiction.detected per contradiction found. */
const reportValidation = (
  context: GenerationContext,
  output: ValidateOutput,
  enqueue: { emit: (event: Emitted) => void }
) => {
  enqueue.emit(tokensConsumed(context, output.usage, "coherence"))
  enqueue.emit({
    type: "coherence.validated",
    ...where(context),
    attempt: context.attempt,
    score: output.score,
    issuesCount: output.issuesCount,
    blocking: output.blocking
  })
  for (const issue of output.issues) {
    if (issue.type !== "contradiction") continue
    enqueue.emit({
      type: "contradiction.detected",
      ...where(context),
      attempt: context.attempt,
      contradictionType: issue.type,
      severity: issue.severity,
      description: issue.description
    })
  }
}

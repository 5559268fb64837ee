/**
 * The `ebook-generation` saga.
 *
 *   cover ─▶ writing_page ─▶ illustrating ─┬─▶ writing_page (next page)
 *                                          └─▶ assembling ─▶ costing ─▶ generated (final)
 *   any step failing (after its retries) ─▶ failed (final)
 *
 * Every model call emits `tokens.consumed` (attributed to the ebook) and every
 * image `image.generated`; the usage is tallied per model in the context, and
 * at the end a `calculateCost` activity prices it (the price table is
 * configuration, so its answer is recorded, not recomputed on replay):
 * `cost.calculated`, then `ebook.generated {ebookId, totalCostUsd}`.
 */
import { assign, emit, enqueueActions, setup } from "xstate"
import { activityLogic, describeError } from "orrery"
import type { Usage } from "../shared/usage.js"
import type { AssembleInput, AssembleOutput, ImageInput, ImageOutput, WritePageInput, WritePageOutput } from "./activities.js"
import type { CostLine, Usd, UsageByModel } from "./pricing.js"

export interface PageDone {
  readonly page: number
  readonly contentHash: string
  readonly wordCount: number
  readonly imageId: string | null
  readonly imageUrl: string | null
}

export interface EbookContext {
  readonly ebookId: string
  readonly title: string
  readonly theme: string
  readonly pages: number
  /** The page being written or illustrated, from 1. */
  readonly page: number
  readonly cover: { readonly imageId: string; readonly url: string } | null
  readonly draft: { readonly contentHash: string; readonly wordCount: number } | null
  readonly done: ReadonlyArray<PageDone>
  readonly usage: Readonly<Record<string, UsageByModel>>
  readonly contentHash: string | null
  readonly wordCount: number | null
  readonly totalCostUsd: string | null
  readonly reason: string | null
}

export interface EbookOutput {
  readonly ebookId: string
  readonly status: "generated" | "failed"
  readonly totalCostUsd: string | null
  readonly contentHash: string | null
  readonly pageCount: number
  readonly reason: string | null
}

type Emitted = { readonly type: string; readonly [key: string]: unknown }

const none: UsageByModel = { calls: 0, promptTokens: 0, completionTokens: 0, images: 0 }

const addTokens = (usage: Readonly<Record<string, UsageByModel>>, used: Usage) => {
  const before = usage[used.model] ?? none
  return { ...usage, [used.model]: { ...before, calls: before.calls + 1, promptTokens: before.promptTokens + used.promptTokens, completionTokens: before.completionTokens + used.completionTokens } }
}

const addImage = (usage: Readonly<Record<string, UsageByModel>>, model: string) => {
  const before = usage[model] ?? none
  return { ...usage, [model]: { ...before, images: before.images + 1 } }
}

const imageGenerated = (context: EbookContext, image: ImageOutput, purpose: "cover" | "illustration") => ({
  type: "image.generated",
  requestId: image.requestId,
  model: image.model,
  ebookId: context.ebookId,
  purpose,
  ...(purpose === "illustration" ? { page: context.page } : {}),
  imageId: image.imageId
})

const failure = (step: string) => ({
  target: "failed" as const,
  actions: { type: "fail" as const, params: ({ event }: { event: { error: unknown } }) => ({ step, reason: `${step} failed: ${describeError(event.error)}` }) }
})

export const ebookMachine = setup({
  types: {} as {
    context: EbookContext
    input: { ebookId: string; title: string; theme: string; pages: number }
    emitted: Emitted
    output: EbookOutput
  },
  actors: {
    writePage: activityLogic<WritePageInput, WritePageOutput>(),
    generateImage: activityLogic<ImageInput, ImageOutput>(),
    assemble: activityLogic<AssembleInput, AssembleOutput>(),
    calculateCost: activityLogic<{ usage: Readonly<Record<string, UsageByModel>> }, { totalCostUsd: Usd; lines: ReadonlyArray<CostLine> }>()
  },
  actions: {
    fail: enqueueActions(({ context, enqueue }, params: { step: string; reason: string }) => {
      enqueue.assign({ reason: params.reason })
      enqueue.emit({ type: "ebook.generation_failed", ebookId: context.ebookId, step: params.step, reason: params.reason })
    })
  }
}).createMachine({
  id: "ebook-generation",
  context: ({ input }) => ({
    ebookId: input.ebookId,
    title: input.title,
    theme: input.theme,
    pages: input.pages,
    page: 1,
    cover: null,
    draft: null,
    done: [],
    usage: {},
    contentHash: null,
    wordCount: null,
    totalCostUsd: null,
    reason: null
  }),
  entry: emit(({ context }) => ({ type: "ebook.generation_started", ebookId: context.ebookId, title: context.title, theme: context.theme, pages: context.pages })),
  initial: "cover",
  states: {
    cover: {
      invoke: {
        id: "cover",
        src: "generateImage",
        input: ({ context }) => ({ ebookId: context.ebookId, kind: "cover" as const, title: context.title, theme: context.theme }),
        onDone: {
          target: "writing_page",
          actions: [
            emit(({ context, event }) => imageGenerated(context, event.output, "cover")),
            assign({
              cover: ({ event }) => ({ imageId: event.output.imageId, url: event.output.url }),
              usage: ({ context, event }) => addImage(context.usage, event.output.model)
            })
          ]
        },
        onError: failure("cover")
      }
    },
    writing_page: {
      invoke: {
        id: "page",
        src: "writePage",
        input: ({ context }) => ({ ebookId: context.ebookId, title: context.title, theme: context.theme, page: context.page, pages: context.pages }),
        onDone: {
          target: "illustrating",
          actions: [
            emit(({ context, event }) => ({
              type: "tokens.consumed",
              requestId: event.output.usage.requestId,
              model: event.output.usage.model,
              promptTokens: event.output.usage.promptTokens,
              completionTokens: event.output.usage.completionTokens,
              purpose: "page",
              ebookId: context.ebookId
            })),
            emit(({ context, event }) => ({ type: "ebook.page_written", ebookId: context.ebookId, page: context.page, wordCount: event.output.wordCount, contentHash: event.output.contentHash })),
            assign({
              draft: ({ event }) => ({ contentHash: event.output.contentHash, wordCount: event.output.wordCount }),
              usage: ({ context, event }) => addTokens(context.usage, event.output.usage)
            })
          ]
        },
        onError: failure("page")
      }
    },
    illustrating: {
      invoke: {
        id: "illustration",
        src: "generateImage",
        input: ({ context }) => ({ ebookId: context.ebookId, kind: "illustration" as const, title: context.title, theme: context.theme, page: context.page }),
        onDone: [
          {
            guard: ({ context }) => context.page < context.pages,
            target: "writing_page",
            actions: [
              emit(({ context, event }) => imageGenerated(context, event.output, "illustration")),
              assign(({ context, event }) => ({
                done: [...context.done, { page: context.page, contentHash: context.draft!.contentHash, wordCount: context.draft!.wordCount, imageId: event.output.imageId, imageUrl: event.output.url }],
                usage: addImage(context.usage, event.output.model),
                draft: null,
                page: context.page + 1
              }))
            ]
          },
          {
            target: "assembling",
            actions: [
              emit(({ context, event }) => imageGenerated(context, event.output, "illustration")),
              assign(({ context, event }) => ({
                done: [...context.done, { page: context.page, contentHash: context.draft!.contentHash, wordCount: context.draft!.wordCount, imageId: event.output.imageId, imageUrl: event.output.url }],
                usage: addImage(context.usage, event.output.model),
                draft: null
              }))
            ]
          }
        ],
        onError: failure("illustration")
      }
    },
    assembling: {
      invoke: {
        id: "assemble",
        src: "assemble",
        input: ({ context }) => ({
          ebookId: context.ebookId,
          title: context.title,
          cover: context.cover,
          pages: context.done.map((page) => ({ page: page.page, contentHash: page.contentHash, imageUrl: page.imageUrl }))
        }),
        onDone: {
          target: "costing",
          actions: [
            assign({ contentHash: ({ event }) => event.output.contentHash, wordCount: ({ event }) => event.output.wordCount }),
            emit(({ context, event }) => ({ type: "ebook.assembled", ebookId: context.ebookId, pageCount: event.output.pageCount, wordCount: event.output.wordCount, contentHash: event.output.contentHash }))
          ]
        },
        onError: failure("assemble")
      }
    },
    costing: {
      invoke: {
        id: "cost",
        src: "calculateCost",
        input: ({ context }) => ({ usage: context.usage }),
        onDone: {
          target: "generated",
          actions: [
            assign({ totalCostUsd: ({ event }) => event.output.totalCostUsd }),
            emit(({ context, event }) => ({ type: "cost.calculated", ebookId: context.ebookId, currency: "USD", totalCostUsd: event.output.totalCostUsd, lines: event.output.lines })),
            emit(({ context, event }) => ({ type: "ebook.generated", ebookId: context.ebookId, totalCostUsd: event.output.totalCostUsd, pageCount: context.done.length, contentHash: context.contentHash! }))
          ]
        },
        onError: failure("cost")
      }
    },
    generated: { type: "final" },
    failed: { type: "final" }
  },
  output: ({ context }) => ({
    ebookId: context.ebookId,
    status: context.totalCostUsd === null ? "failed" : "generated",
    totalCostUsd: context.totalCostUsd,
    contentHash: context.contentHash,
    pageCount: context.done.length,
    reason: context.reason
  })
})

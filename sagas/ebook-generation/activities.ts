/** The ebook saga's activities: a page's text, an image, the assembled book. Text goes to the ContentStore. */
import { Effect } from "effect"
import type { ActivityRun } from "orrery"
import { ContentStore } from "../shared/content-store.js"
import { LanguageModel } from "../shared/language-model.js"
import { renderSections } from "../shared/prompt.js"
import type { Usage } from "../shared/usage.js"
import { ImageGenerator } from "./images.js"

const pageSystem =
  "You write one page of an illustrated ebook for a general audience, in the book's theme and voice. " +
  "Answer with the page's text only."

export const wordsPerPage = 80

export interface WritePageInput {
  readonly ebookId: string
  readonly title: string
  readonly theme: string
  readonly page: number
  readonly pages: number
}

export interface WritePageOutput {
  readonly contentHash: string
  readonly wordCount: number
  readonly usage: Usage
}

export const writePage = Effect.fn("writePage")(function*(input: WritePageInput, run: ActivityRun) {
  const model = yield* LanguageModel
  const store = yield* ContentStore
  const completion = yield* model.complete({
    task: "page",
    system: pageSystem,
    prompt: renderSections([
      ["Title", input.title],
      ["Theme", input.theme],
      ["Page", `${input.page} of ${input.pages}`],
      ["Target length", `${wordsPerPage} words`]
    ]),
    maxTokens: wordsPerPage * 3,
    requestKey: run.idempotencyKey
  })
  const contentHash = yield* store.put(completion.text)
  return {
    contentHash,
    wordCount: completion.text.split(/\s+/).filter((word) => word !== "").length,
    usage: {
      requestId: completion.requestId,
      model: completion.model,
      promptTokens: completion.promptTokens as Usage["promptTokens"],
      completionTokens: completion.completionTokens as Usage["completionTokens"]
    }
  } satisfies WritePageOutput
})

export interface ImageInput {
  readonly ebookId: string
  readonly kind: "cover" | "illustration"
  readonly title: string
  readonly theme: string
  readonly page?: number
}

export interface ImageOutput {
  readonly imageId: string
  readonly url: string
  readonly model: string
  readonly requestId: string
}

export const generateImage = Effect.fn("generateImage")(function*(input: ImageInput, run: ActivityRun) {
  const images = yield* ImageGenerator
  const prompt =
    input.kind === "cover"
      ? `A cover for the ebook "${input.title}" about ${input.theme}`
      : `An illustration for page ${input.page} of the ebook "${input.title}" about ${input.theme}`
  const image = yield* images.generate({ kind: input.kind, prompt, requestKey: run.idempotencyKey })
  return { imageId: image.imageId, url: image.url, model: image.model, requestId: image.requestId } satisfies ImageOutput
})

export interface AssembleInput {
  readonly ebookId: string
  readonly title: string
  readonly cover: { readonly imageId: string; readonly url: string } | null
  readonly pages: ReadonlyArray<{ readonly page: number; readonly contentHash: string; readonly imageUrl: string | null }>
}

export interface AssembleOutput {
  readonly contentHash: string
  readonly pageCount: number
  readonly wordCount: number
}

/** The book as Markdown: the cover, then each page's illustration and text. */
export const assemble = Effect.fn("assemble")(function*(input: AssembleInput) {
  const store = yield* ContentStore
  const parts = [`# ${input.title}`, ...(input.cover === null ? [] : [`![cover](${input.cover.url})`])]
  let wordCount = 0
  for (const page of [...input.pages].sort((a, b) => a.page - b.page)) {
    const text = yield* store.get(page.contentHash)
    wordCount += text.split(/\s+/).filter((word) => word !== "").length
    parts.push(`## Page ${page.page}`, ...(page.imageUrl === null ? [] : [`![page ${page.page}](${page.imageUrl})`]), text)
  }
  const contentHash = yield* store.put(`${parts.join("\n\n")}\n`)
  return { contentHash, pageCount: input.pages.length, wordCount } satisfies AssembleOutput
})

/** The writing domain's value objects, prompts and deterministic model (no engine). */
import { Effect, Exit, Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { makeCatalog } from "../../../src/log/index.js"
import { encodePayload } from "../../../src/log/event-type.js"
import { CoherenceValidated, GenerationInput } from "../../../sagas/chapter-generation/index.js"
import { ebookGenerationWorkflow } from "../../../sagas/ebook-generation/index.js"
import { chapterGenerationWorkflow } from "../../../sagas/chapter-generation/index.js"
import { chapterWorkflow } from "../../../machines/chapter/index.js"
import { makeDeterministicModel } from "../../../sagas/shared/deterministic-model.js"
import { parseFacts, parseSections, renderFacts, renderSections } from "../../../sagas/shared/prompt.js"
import { CoherenceScore, WordCount } from "../../../sagas/shared/writing.js"

const decodes = (schema: Schema.Codec<any, any, never, never>, value: unknown) => Result.isSuccess(Schema.decodeUnknownResult(schema)(value))

describe("writing value objects", () => {
  it("a coherence score is a number from 0 to 10; anything else is refused", () => {
    for (const ok of [0, 6.5, 7, 10]) expect(decodes(CoherenceScore, ok)).toBe(true)
    for (const bad of [-0.1, 10.01, 11, Number.NaN, "7", null]) expect(decodes(CoherenceScore, bad)).toBe(false)
  })

  it("a word count is a non-negative integer", () => {
    for (const ok of [0, 1, 2500]) expect(decodes(WordCount, ok)).toBe(true)
    for (const bad of [-1, 2.5, "10"]) expect(decodes(WordCount, bad)).toBe(false)
  })

  it("coherence.validated refuses a score outside 0-10 before anything is written", () => {
    const event = (score: number) => CoherenceValidated.make({ projectId: "p", chapterIndex: 1, attempt: 1, score: score as CoherenceScore, issuesCount: 0, blocking: false })
    expect(Result.isSuccess(encodePayload(event(8)))).toBe(true)
    const refused = encodePayload(event(11))
    expect(Result.isFailure(refused)).toBe(true)
    if (Result.isFailure(refused)) expect(refused.failure).toMatchObject({ _tag: "InvalidEvent", eventType: "coherence.validated", field: "score" })
  })

  it("the saga's input refuses a bad project id, chapter index or target", () => {
    const input = { projectId: "novel", chapterIndex: 1, instruction: "Write", targetWordCount: 500 }
    expect(decodes(GenerationInput, input)).toBe(true)
    expect(decodes(GenerationInput, { ...input, projectId: "no spaces" })).toBe(false)
    expect(decodes(GenerationInput, { ...input, chapterIndex: 0 })).toBe(false)
    expect(decodes(GenerationInput, { ...input, targetWordCount: 10 })).toBe(false)
    expect(decodes(GenerationInput, { ...input, instruction: "   " })).toBe(false)
  })

  it("every event type of the writing and back-office workflows fits in one catalog (tokens.consumed is shared)", () => {
    const workflows = [chapterWorkflow, chapterGenerationWorkflow(), ebookGenerationWorkflow()]
    const catalog = makeCatalog(workflows.flatMap((workflow) => workflow.events.emits))
    expect(catalog.find("tokens.consumed", 1)).toBeDefined()
    expect(catalog.find("image.generated", 1)).toBeDefined()
  })
})

describe("prompts", () => {
  it("sections and facts render and parse back", () => {
    const facts = [
      { kind: "character" as const, subject: "Elena", attribute: "eyes", value: "green" },
      { kind: "location" as const, subject: "Marseille" },
      { kind: "event" as const, subject: "Elena reaches Marseille, late" }
    ]
    const prompt = renderSections([["Instruction", "Write it"], ["Known facts", renderFacts(facts)]])
    const sections = parseSections(prompt)
    expect(sections.get("instruction")).toBe("Write it")
    expect(parseFacts(sections.get("known facts"))).toEqual(facts)
  })
})

describe("the deterministic language model", () => {
  const model = makeDeterministicModel()
  const complete = (task: "chapter" | "coherence" | "facts" | "page", prompt: string) =>
    Effect.runPromise(model.complete({ task, system: "s", prompt, requestKey: "k" }))
  const chapter = (instruction: string, extra: ReadonlyArray<readonly [string, string]> = []) =>
    complete("chapter", renderSections([["Chapter", "1"], ["Instruction", instruction], ["Target length", "150 words"], ...extra]))
  const judge = (text: string, known = "(none yet)") =>
    complete("coherence", renderSections([["Known facts", known], ["Target length", "150 words"], ["Chapter text", text]])).then((c) => JSON.parse(c.text))

  it("writes the same text for the same prompt, near the target length, and reports usage", async () => {
    const a = await chapter("Elena arrives in Marseille")
    const b = await chapter("Elena arrives in Marseille")
    expect(a).toEqual(b)
    const words = a.text.split(/\s+/).length
    expect(words).toBeGreaterThanOrEqual(140)
    expect(words).toBeLessThanOrEqual(190)
    expect(a.text).toContain("Elena has")
    expect(a.text).toContain("The story moves to Marseille.")
    expect(a).toMatchObject({ model: "deterministic-writer", promptTokens: expect.any(Number), completionTokens: expect.any(Number), requestId: expect.stringMatching(/^det_/) })
  })

  it("[contradiction] spoils the first draft only; [incoherent] every draft", async () => {
    const first = await chapter("Elena arrives in Marseille [contradiction]")
    expect(first.text).not.toContain("[contradiction]")
    const verdict = await judge(first.text)
    expect(verdict.score).toBeLessThan(7)
    expect(verdict.issues[0]).toMatchObject({ type: "contradiction", severity: "blocking" })
    const second = await chapter("Elena arrives in Marseille [contradiction]", [["Feedback", "- fix the eyes"]])
    expect((await judge(second.text)).score).toBeGreaterThanOrEqual(7)
    const stubborn = await chapter("Elena arrives in Marseille [incoherent]", [["Feedback", "- fix the eyes"]])
    expect((await judge(stubborn.text)).score).toBeLessThan(7)
  })

  it("a contradiction of a known fact is found against the memory", async () => {
    const known = renderFacts([{ kind: "character", subject: "Elena", attribute: "eyes", value: "amber" }])
    const draft = await chapter("Elena searches the archives [contradiction]", [["Known facts", known]])
    const verdict = await judge(draft.text, known)
    expect(verdict.issues[0].description).toMatch(/Elena has \w+ eyes here, but the story established amber eyes/)
    const kept = await chapter("Elena searches the archives", [["Known facts", known]])
    expect(kept.text).toContain("Elena has amber eyes.")
  })

  it("extracts characters, places and the chapter's event", async () => {
    const text = (await chapter("Elena meets Tomas in Lyon")).text
    const facts = JSON.parse((await complete("facts", renderSections([["Chapter text", text]]))).text)
    expect(facts.characters.map((c: { name: string }) => c.name)).toEqual(["Elena", "Tomas"])
    expect(facts.locations).toEqual([{ name: "Lyon" }])
    expect(facts.events).toEqual([{ summary: "Elena meets Tomas in Lyon" }])
  })

  it("[llm-down] fails as a 503 would", async () => {
    const exit = await Effect.runPromiseExit(model.complete({ task: "chapter", system: "s", prompt: "## Instruction\nx [llm-down]", requestKey: "k" }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("LanguageModelUnavailable")
  })
})

describe("the content store", () => {
  it.each(["memory", "files"] as const)("keeps text by its hash (%s)", async (kind) => {
    const { makeFileContentStore, makeMemoryContentStore, contentHashOf } = await import("../../../sagas/shared/content-store.js")
    const { mkdtempSync } = await import("node:fs")
    const { tmpdir } = await import("node:os")
    const { join } = await import("node:path")
    const store = kind === "memory" ? makeMemoryContentStore() : makeFileContentStore(join(mkdtempSync(join(tmpdir(), "orrery-content-")), "nested"))
    const hash = await Effect.runPromise(store.put("It was a dark and stormy night."))
    expect(hash).toBe(contentHashOf("It was a dark and stormy night."))
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(await Effect.runPromise(store.put("It was a dark and stormy night."))).toBe(hash)
    expect(await Effect.runPromise(store.get(hash))).toBe("It was a dark and stormy night.")
    for (const missing of [contentHashOf("never stored"), "../../etc/passwd"]) {
      const exit = await Effect.runPromiseExit(store.get(missing))
      expect(JSON.stringify(exit)).toContain("ContentNotFound")
    }
  })
})

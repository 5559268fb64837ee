/**
 * The saga's activities: write a draft, judge its coherence against the story
 * memory, extract its facts, and work out what they change in the memory. Each
 * model call reports its usage so that the transition emits `tokens.consumed`.
 * Chapter text goes to the ContentStore; only its hash travels.
 */
import { Effect, Schema } from "effect"
import type { ActivityRun } from "orrery"
import { ContentStore } from "../shared/content-store.js"
import { decodeJsonAnswer, LanguageModel, type Completion } from "../shared/language-model.js"
import { renderFacts, renderSections } from "../shared/prompt.js"
import type { Usage } from "../shared/usage.js"
import { CoherenceScore, type Fact, wordsOf } from "../shared/writing.js"
import { countUpdates, StoryMemory } from "./story-memory.js"

const usageOf = (completion: Completion): Usage => ({
  requestId: completion.requestId,
  model: completion.model,
  promptTokens: completion.promptTokens as Usage["promptTokens"],
  completionTokens: completion.completionTokens as Usage["completionTokens"]
})

// -- prompts --------------------------------------------------------------------------

const writerSystem =
  "You are a novelist writing one chapter of a longer story. Stay consistent with every known fact of the story. " +
  "Answer with the chapter's prose only: no title, no notes."

const judgeSystem =
  "You check a chapter of a novel for coherence with the facts the story has already established. " +
  'Answer with a JSON object {"score": number from 0 to 10, "issues": [{"type": string, "severity": "blocking" | "warning" | "info", "description": string}]}. ' +
  'A contradiction of an established fact is an issue of type "contradiction" and is blocking.'

const extractorSystem =
  "You extract the facts a chapter of a novel establishes. Answer with a JSON object " +
  '{"characters": [{"name": string, "attributes": {string: string}}], "locations": [{"name": string}], "events": [{"summary": string}]}.'

export const chapterPrompt = (input: GenerateInput, facts: ReadonlyArray<Fact>) =>
  renderSections([
    ["Chapter", String(input.chapterIndex)],
    ["Instruction", input.instruction],
    ["Target length", `${input.targetWordCount} words`],
    ["Known facts", renderFacts(facts)],
    ...(input.feedback.length === 0 ? [] : [["Feedback", input.feedback.map((line) => `- ${line}`).join("\n")] as const])
  ])

// -- generate ---------------------------------------------------------------------------

export interface GenerateInput {
  readonly projectId: string
  readonly chapterIndex: number
  readonly instruction: string
  readonly targetWordCount: number
  readonly attempt: number
  /** Issues of the previous draft, or the reviewer's feedback. */
  readonly feedback: ReadonlyArray<string>
}

export interface GenerateOutput {
  readonly contentHash: string
  readonly wordCount: number
  readonly usage: Usage
}

export const generateChapter = Effect.fn("generateChapter")(function*(input: GenerateInput, run: ActivityRun) {
  const memory = yield* StoryMemory
  const model = yield* LanguageModel
  const store = yield* ContentStore
  const facts = yield* memory.factsOf(input.projectId, input.chapterIndex)
  const completion = yield* model.complete({
    task: "chapter",
    system: writerSystem,
    prompt: chapterPrompt(input, facts),
    maxTokens: Math.ceil(input.targetWordCount * 2),
    requestKey: run.idempotencyKey
  })
  const contentHash = yield* store.put(completion.text)
  return { contentHash, wordCount: wordsOf(completion.text), usage: usageOf(completion) } satisfies GenerateOutput
})

// -- validate -----------------------------------------------------------------------------

const Issue = Schema.Struct({
  type: Schema.String,
  severity: Schema.Literals(["blocking", "warning", "info"]),
  description: Schema.String
})

/** What the judge must answer; a score outside 0–10 is refused (CoherenceScore). */
export const Verdict = Schema.Struct({ score: CoherenceScore, issues: Schema.Array(Issue) })

export interface ValidateInput {
  readonly projectId: string
  readonly chapterIndex: number
  readonly contentHash: string
  readonly targetWordCount: number
}

export interface ValidateOutput {
  readonly score: number
  readonly blocking: boolean
  readonly issuesCount: number
  /** At most 20, descriptions cut to 300 characters: they travel in the context as the next draft's feedback. */
  readonly issues: ReadonlyArray<{ readonly type: string; readonly severity: "blocking" | "warning" | "info"; readonly description: string }>
  readonly usage: Usage
}

export const validateCoherence = Effect.fn("validateCoherence")(function*(input: ValidateInput, run: ActivityRun) {
  const memory = yield* StoryMemory
  const model = yield* LanguageModel
  const store = yield* ContentStore
  const text = yield* store.get(input.contentHash)
  const facts = yield* memory.factsOf(input.projectId, input.chapterIndex)
  const completion = yield* model.complete({
    task: "coherence",
    system: judgeSystem,
    prompt: renderSections([
      ["Known facts", renderFacts(facts)],
      ["Target length", `${input.targetWordCount} words`],
      ["Chapter text", text]
    ]),
    json: true,
    maxTokens: 1000,
    requestKey: run.idempotencyKey
  })
  const verdict = yield* decodeJsonAnswer(Verdict, completion)
  return {
    score: verdict.score,
    blocking: verdict.issues.some((issue) => issue.severity === "blocking"),
    issuesCount: verdict.issues.length,
    issues: verdict.issues.slice(0, 20).map((issue) => ({ type: issue.type.slice(0, 50), severity: issue.severity, description: issue.description.slice(0, 300) })),
    usage: usageOf(completion)
  } satisfies ValidateOutput
})

// -- extract ---------------------------------------------------------------------------------

export const FactsAnswer = Schema.Struct({
  characters: Schema.Array(Schema.Struct({ name: Schema.String, attributes: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)) })),
  locations: Schema.Array(Schema.Struct({ name: Schema.String })),
  events: Schema.Array(Schema.Struct({ summary: Schema.String }))
})

export interface ExtractInput {
  readonly projectId: string
  readonly chapterIndex: number
  readonly contentHash: string
}

export interface ExtractOutput {
  /** At most 100 facts. */
  readonly facts: ReadonlyArray<Fact>
  readonly charactersCount: number
  readonly locationsCount: number
  readonly eventsCount: number
  readonly usage: Usage
}

const cut = (text: string, max: number) => text.trim().slice(0, max)

export const extractFacts = Effect.fn("extractFacts")(function*(input: ExtractInput, run: ActivityRun) {
  const model = yield* LanguageModel
  const store = yield* ContentStore
  const text = yield* store.get(input.contentHash)
  const completion = yield* model.complete({
    task: "facts",
    system: extractorSystem,
    prompt: renderSections([["Chapter text", text]]),
    json: true,
    maxTokens: 1500,
    requestKey: run.idempotencyKey
  })
  const answer = yield* decodeJsonAnswer(FactsAnswer, completion)
  const facts: Array<Fact> = []
  for (const character of answer.characters) {
    const name = cut(character.name, 300)
    if (name === "") continue
    const attributes = Object.entries(character.attributes ?? {})
    if (attributes.length === 0) facts.push({ kind: "character", subject: name })
    for (const [attribute, value] of attributes) facts.push({ kind: "character", subject: name, attribute: cut(attribute, 100), value: cut(value, 300) })
  }
  for (const location of answer.locations) if (location.name.trim() !== "") facts.push({ kind: "location", subject: cut(location.name, 300) })
  for (const event of answer.events) if (event.summary.trim() !== "") facts.push({ kind: "event", subject: cut(event.summary, 300) })
  return {
    facts: facts.slice(0, 100),
    charactersCount: answer.characters.length,
    locationsCount: answer.locations.length,
    eventsCount: answer.events.length,
    usage: usageOf(completion)
  } satisfies ExtractOutput
})

// -- update the memory ---------------------------------------------------------------------

export interface UpdateMemoryInput {
  readonly projectId: string
  readonly chapterIndex: number
  readonly facts: ReadonlyArray<Fact>
}

/** How many of the chapter's facts are new or change what the memory knew; the `memory.updated` event then carries them. */
export const updateMemory = Effect.fn("updateMemory")(function*(input: UpdateMemoryInput) {
  const memory = yield* StoryMemory
  const known = yield* memory.factsOf(input.projectId)
  const others = known.filter((fact) => fact.chapterIndex !== input.chapterIndex)
  return { entitiesUpdated: countUpdates(others, input.facts) }
})

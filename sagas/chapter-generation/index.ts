/**
 * Writing, part 2: the `chapter-generation` saga, its services (LanguageModel,
 * StoryMemory, ContentStore) and the `story-memory` read model
 * (`GET /projects/{projectId}/memory`). Its chapters are `chapter` aggregates
 * (machines/chapter): register that domain too.
 *
 * Settings (environment):
 * - ORRERY_LLM_BASE_URL: an OpenAI-compatible API root (e.g. https://api.openai.com/v1); unset: the deterministic writer
 * - ORRERY_LLM_API_KEY: its bearer key (unset: no Authorization header); never logged
 * - ORRERY_LLM_MODEL: the model to ask (default gpt-4o-mini; the deterministic writer is `deterministic-writer`)
 * - ORRERY_LLM_TIMEOUT_MS: per HTTP call (default 60000)
 * - ORRERY_LLM_MAX_ATTEMPTS: attempts per model call, with exponential backoff (default 4)
 * - ORRERY_LLM_RETRY_BASE_MS: the first backoff delay (default 500)
 * - ORRERY_CONTENT_DIR: a folder for generated text; unset: kept in memory
 */
import { Effect, Layer } from "effect"
import { defineActivity, defineWorkflow, type Domain, Engine } from "orrery"
import { ContentStore } from "../shared/content-store.js"
import { inState, startOnce, waitFor } from "../shared/demo.js"
import {
  type LanguageModelConfig,
  languageModelConfigFromEnv,
  modelCallPolicy,
  type ModelCallPolicyConfig,
  modelCallPolicyFromEnv
} from "../shared/language-model.js"
import { languageModelFromConfig } from "../shared/language-model-layer.js"
import { TokensConsumed } from "../shared/usage.js"
import { extractFacts, generateChapter, updateMemory, validateCoherence } from "./activities.js"
import {
  accepts,
  ChapterGenerated,
  CoherenceValidated,
  ContradictionDetected,
  FactsExtracted,
  GenerationInput,
  GenerationStarted,
  MemoryUpdated,
  NeedsAttention
} from "./events.js"
import { generationMachine } from "./machine.js"
import { StoryMemory, storyMemoryProjection, storyMemoryRoutes } from "./story-memory.js"

export * from "./events.js"
export { generationMachine, maxAttempts, type GenerationContext, type GenerationOutput } from "./machine.js"
export { countUpdates, readFacts, StoryMemory, storyMemoryProjection, storyMemoryRoutes, StoryMemoryUnavailable, type StoredFact } from "./story-memory.js"
export { chapterPrompt, FactsAnswer, Verdict } from "./activities.js"

export interface ChapterGenerationConfig {
  readonly llm: LanguageModelConfig
  readonly modelCalls: ModelCallPolicyConfig
  readonly contentDir: string | undefined
}

/** Reads the settings above; throws SettingError naming a bad variable. */
export const configFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): ChapterGenerationConfig => {
  const llm = languageModelConfigFromEnv(env)
  return { llm, modelCalls: modelCallPolicyFromEnv(env, llm), contentDir: env.ORRERY_CONTENT_DIR?.trim() || undefined }
}

/** The workflow with these activity policies (the machine is the same for every configuration). */
export const chapterGenerationWorkflow = (modelCalls: ModelCallPolicyConfig = configFromEnv({}).modelCalls) =>
  defineWorkflow({
    type: "chapter-generation",
    version: 1,
    kind: "saga",
    machine: generationMachine,
    events: {
      input: GenerationInput,
      accepts,
      emits: [GenerationStarted, ChapterGenerated, CoherenceValidated, ContradictionDetected, FactsExtracted, MemoryUpdated, NeedsAttention, TokensConsumed]
    },
    activities: {
      generateChapter: defineActivity({ run: generateChapter, ...modelCallPolicy(modelCalls, ["ContentStoreFailed"]) }),
      validateCoherence: defineActivity({ run: validateCoherence, ...modelCallPolicy(modelCalls, ["ContentNotFound"]) }),
      extractFacts: defineActivity({ run: extractFacts, ...modelCallPolicy(modelCalls, ["ContentNotFound"]) }),
      updateMemory: defineActivity({ run: updateMemory, timeout: "30 seconds" })
    }
  })

/** LanguageModel (deterministic unless ORRERY_LLM_BASE_URL), the story memory read model, the content store. */
export const services = (config: ChapterGenerationConfig) =>
  Layer.mergeAll(languageModelFromConfig(config.llm), StoryMemory.readModel, ContentStore.fromConfig(config.contentDir))

/**
 * A short novel: chapter 1 approved as written; chapter 2 asked to contradict
 * chapter 1 (`[contradiction]`), so its first draft fails the coherence check
 * and is regenerated before review; chapter 3 rejected once by its reviewer,
 * regenerated with the feedback, then approved.
 */
export const demo: Effect.Effect<void, unknown, Engine> = Effect.gen(function*() {
  const engine = yield* Engine
  const projectId = "demo-novel"
  const chapters = [
    { index: 1, instruction: "Elena arrives in Marseille and meets Tomas at the harbour", reject: false },
    { index: 2, instruction: "Elena and Tomas search the archives in Marseille for the missing ledger [contradiction]", reject: false },
    { index: 3, instruction: "Tomas confesses to Elena what happened in Lyon", reject: true }
  ]
  for (const chapter of chapters) {
    const id = `${projectId}.${chapter.index}`
    yield* startOnce("chapter-generation", id, { projectId, chapterIndex: chapter.index, instruction: chapter.instruction, targetWordCount: 400 })
    let view = yield* waitFor("chapter-generation", id, (i) => i.state === "pending_review" || i.state === "needs_attention")
    if (chapter.reject && view.state === "pending_review" && (view.context as { round: number }).round === 1) {
      yield* engine.send("chapter-generation", id, { type: "REJECT", feedback: "Let Tomas hesitate before he confesses." }, { actor: "demo" })
      view = yield* waitFor("chapter-generation", id, (i) => (i.state === "pending_review" && (i.context as { round: number }).round > 1) || i.state === "needs_attention")
    }
    if (view.state === "pending_review") {
      yield* engine.send("chapter-generation", id, { type: "APPROVE", summary: `Chapter ${chapter.index} approved by the demo.` }, { actor: "demo" })
    }
    yield* waitFor("chapter-generation", id, inState("approved"))
  }
})

export const domain = (config: ChapterGenerationConfig = configFromEnv()): Domain => ({
  name: "chapter-generation",
  workflows: [chapterGenerationWorkflow(config.modelCalls)],
  projections: [storyMemoryProjection],
  services: services(config),
  routes: storyMemoryRoutes,
  demo
})

/** The name the repository's orrery.config.ts lists it by. */
export const chapterGenerationDomain = domain

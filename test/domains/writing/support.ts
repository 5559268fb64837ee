/** Wiring the writing domain into a test Orrery. */
import { Effect, Layer } from "effect"
import { Engine, type InstanceView } from "../../../src/engine/index.js"
import { chapterWorkflow, chaptersProjection } from "../../../machines/chapter/index.js"
import { chapterGenerationWorkflow, StoryMemory, storyMemoryProjection } from "../../../sagas/chapter-generation/index.js"
import { ContentStore } from "../../../sagas/shared/content-store.js"
import { deterministicLanguageModel } from "../../../sagas/shared/language-model-layer.js"
import type { ModelCallPolicyConfig } from "../../../sagas/shared/language-model.js"
import { waitInstance } from "./wait.js"

export const fastModelCalls: ModelCallPolicyConfig = { maxAttempts: 3, retryBaseMs: 10, timeoutMs: 5_000 }

export const writingServices = (languageModel: Layer.Layer<any, never, never> = deterministicLanguageModel) =>
  Layer.mergeAll(languageModel, StoryMemory.readModel, ContentStore.memory) as Layer.Layer<any, never, never>

export const writing = (options: { languageModel?: Layer.Layer<any, never, never>; modelCalls?: ModelCallPolicyConfig } = {}) => ({
  workflows: [chapterWorkflow, chapterGenerationWorkflow(options.modelCalls ?? fastModelCalls)],
  services: writingServices(options.languageModel),
  projections: [chaptersProjection, storyMemoryProjection]
})

export const waitState = (type: string, id: string, state: string | ((i: InstanceView) => boolean), timeoutMs = 40_000) =>
  waitInstance(type, id, typeof state === "string" ? (i) => i.state === state : state, timeoutMs)

export const domainEvents = (type: string, id: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const history = yield* engine.history(type, id)
    return history.filter((entry) => entry.kind === "domain")
  })

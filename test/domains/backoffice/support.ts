/** Wiring the back office (and, for cross-saga costs, the writing domain) into a test Orrery. */
import { Effect, Layer } from "effect"
import { Engine } from "../../../src/engine/index.js"
import { costsProjection, ebookGenerationWorkflow, ImageGenerator, makePriceTable, type PriceTable, Pricing, builtInPrices } from "../../../sagas/ebook-generation/index.js"
import { ContentStore } from "../../../sagas/shared/content-store.js"
import { deterministicLanguageModel } from "../../../sagas/shared/language-model-layer.js"
import type { ModelCallPolicyConfig } from "../../../sagas/shared/language-model.js"
import { waitInstance } from "../writing/wait.js"

export const fastModelCalls: ModelCallPolicyConfig = { maxAttempts: 3, retryBaseMs: 10, timeoutMs: 5_000 }

export const prices: PriceTable = makePriceTable(builtInPrices)

export const backofficeServices = (options: { languageModel?: Layer.Layer<any, never, never>; images?: Layer.Layer<any, never, never>; prices?: PriceTable } = {}) =>
  Layer.mergeAll(
    options.languageModel ?? deterministicLanguageModel,
    options.images ?? ImageGenerator.deterministic,
    Pricing.layer(options.prices ?? prices),
    ContentStore.memory
  ) as Layer.Layer<any, never, never>

export const backoffice = (options: { languageModel?: Layer.Layer<any, never, never>; images?: Layer.Layer<any, never, never>; prices?: PriceTable } = {}) => ({
  workflows: [ebookGenerationWorkflow(fastModelCalls)],
  services: backofficeServices(options),
  projections: [costsProjection(options.prices ?? prices)]
})

export const waitFinal = (type: string, id: string, timeoutMs = 40_000) => waitInstance(type, id, (i) => i.status !== "running", timeoutMs)

export const domainEvents = (type: string, id: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const history = yield* engine.history(type, id)
    return history.filter((entry) => entry.kind === "domain")
  })

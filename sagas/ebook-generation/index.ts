/**
 * Back office: the `ebook-generation` saga, its services (LanguageModel,
 * ImageGenerator, Pricing, ContentStore) and the `generation-costs` read model
 * (`GET /costs`, `GET /costs/{ebookId}`), which also bills the writing sagas'
 * model calls to their projects.
 *
 * Settings (environment):
 * - ORRERY_PRICING_FILE: a JSON price table ({"models": {"<model>": {"promptPerMillion": "0.15",
 *   "completionPerMillion": "0.60", "perImage": "0.04"}}, "default": {...}}); unset: the built-in table
 * - ORRERY_LLM_BASE_URL, ORRERY_LLM_API_KEY, ORRERY_LLM_MODEL, ORRERY_LLM_TIMEOUT_MS,
 *   ORRERY_LLM_MAX_ATTEMPTS, ORRERY_LLM_RETRY_BASE_MS: the language model, as for chapter-generation
 * - ORRERY_CONTENT_DIR: a folder for generated text; unset: kept in memory
 */
import { Effect, Layer } from "effect"
import { defineActivity, defineWorkflow, type Domain, Engine } from "orrery"
import { ContentStore } from "../shared/content-store.js"
import { startOnce, waitFor } from "../shared/demo.js"
import {
  type LanguageModel,
  type LanguageModelConfig,
  languageModelConfigFromEnv,
  modelCallPolicy,
  type ModelCallPolicyConfig,
  modelCallPolicyFromEnv
} from "../shared/language-model.js"
import { languageModelFromConfig } from "../shared/language-model-layer.js"
import { TokensConsumed } from "../shared/usage.js"
import { assemble, generateImage, writePage } from "./activities.js"
import { costRoutes, costsProjection } from "./costs.js"
import {
  CostCalculated,
  EbookAssembled,
  EbookGenerated,
  EbookGenerationFailed,
  EbookGenerationStarted,
  EbookInput,
  ImageGenerated,
  PageWritten
} from "./events.js"
import { ImageGenerator } from "./images.js"
import { ebookMachine } from "./machine.js"
import { calculateCost, loadPriceTable, type PriceTable, Pricing } from "./pricing.js"

export * from "./events.js"
export { costRoutes, costsProjection, ebooksTable, readCosts, readEbookCost, usageTable, type ModelCost } from "./costs.js"
export { ImageGenerationFailed, ImageGenerator, makeDeterministicImageGenerator, type GeneratedImage, type ImageGeneratorShape, type ImageRequest } from "./images.js"
export { ebookMachine, type EbookContext, type EbookOutput } from "./machine.js"
export * from "./pricing.js"

export interface EbookGenerationConfig {
  readonly llm: LanguageModelConfig
  readonly modelCalls: ModelCallPolicyConfig
  readonly contentDir: string | undefined
  readonly pricingFile: string | undefined
  readonly prices: PriceTable
}

/** Reads the settings above (and the price table file); throws SettingError naming a bad variable. */
export const configFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): EbookGenerationConfig => {
  const llm = languageModelConfigFromEnv(env)
  const pricingFile = env.ORRERY_PRICING_FILE?.trim() || undefined
  return { llm, modelCalls: modelCallPolicyFromEnv(env, llm), contentDir: env.ORRERY_CONTENT_DIR?.trim() || undefined, pricingFile, prices: loadPriceTable(pricingFile) }
}

export const ebookGenerationWorkflow = (modelCalls: ModelCallPolicyConfig = configFromEnv({}).modelCalls) => {
  const images = { ...modelCallPolicy(modelCalls), nonRetryable: [], dependency: "image-generator" }
  return defineWorkflow({
    type: "ebook-generation",
    version: 1,
    kind: "saga",
    machine: ebookMachine,
    events: {
      input: EbookInput,
      accepts: {},
      emits: [EbookGenerationStarted, TokensConsumed, PageWritten, ImageGenerated, EbookAssembled, CostCalculated, EbookGenerated, EbookGenerationFailed]
    },
    activities: {
      writePage: defineActivity({ run: writePage, ...modelCallPolicy(modelCalls, ["ContentStoreFailed"]) }),
      generateImage: defineActivity({ run: generateImage, ...images }),
      assemble: defineActivity({ run: assemble, timeout: "60 seconds", nonRetryable: ["ContentNotFound"] }),
      calculateCost: defineActivity({ run: calculateCost, timeout: "10 seconds" })
    }
  })
}

export const services = (config: EbookGenerationConfig) =>
  Layer.mergeAll(languageModelFromConfig(config.llm), ImageGenerator.deterministic, Pricing.layer(config.prices), ContentStore.fromConfig(config.contentDir))

/** Two ebooks generated to the end, with their cost; and one whose illustrator is down, which fails. */
export const demo: Effect.Effect<void, unknown, Engine> = Effect.gen(function*() {
  const books = [
    { ebookId: "demo-ebook-1", title: "The Lighthouse Keeper's Cat", theme: "a cat who keeps a lighthouse running", pages: 4 },
    { ebookId: "demo-ebook-2", title: "Gardens of the Moon", theme: "flowers that bloom only at night", pages: 3 },
    { ebookId: "demo-ebook-failed", title: "The Missing Pictures", theme: "a book whose illustrator is away [images-down]", pages: 2 }
  ]
  for (const book of books) yield* startOnce("ebook-generation", book.ebookId, book)
  for (const book of books) yield* waitFor("ebook-generation", book.ebookId, () => false, 120_000)
})

export const domain = (config: EbookGenerationConfig = configFromEnv()): Domain => ({
  name: "ebook-generation",
  workflows: [ebookGenerationWorkflow(config.modelCalls)],
  projections: [costsProjection(config.prices)],
  services: services(config),
  routes: costRoutes(config.prices),
  // Its read model's page in the inspector: the Costs tab is there only where this domain is.
  inspector: { pages: [{ path: "costs", title: "Costs", module: new URL("./inspector/costs.js", import.meta.url) }] },
  demo
})

/** The name the repository's orrery.config.ts lists it by. */
export const ebookGenerationDomain = domain

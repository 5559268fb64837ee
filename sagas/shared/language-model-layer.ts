/** The `LanguageModel` a configuration asks for: HTTP when ORRERY_LLM_BASE_URL is set, else the deterministic writer. */
import { Layer } from "effect"
import { makeDeterministicModel } from "./deterministic-model.js"
import { LanguageModel, type LanguageModelConfig } from "./language-model.js"
import { makeOpenAiCompatibleModel } from "./openai.js"

export const deterministicLanguageModel = Layer.sync(LanguageModel, makeDeterministicModel)

export const languageModelFromConfig = (config: LanguageModelConfig): Layer.Layer<LanguageModel> =>
  config.baseUrl === undefined
    ? deterministicLanguageModel
    : Layer.sync(LanguageModel, () => makeOpenAiCompatibleModel({ ...config, baseUrl: config.baseUrl! }))

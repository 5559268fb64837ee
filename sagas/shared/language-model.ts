/**
 * `LanguageModel`: one chat completion at a time, with token usage. Two
 * implementations: a deterministic in-process writer (the default, used by the
 * tests and the demo) and an OpenAI-compatible chat-completions client over
 * HTTP, chosen by `ORRERY_LLM_BASE_URL`.
 *
 * Shared by the writing and back-office sagas (a shared kernel, not a domain).
 */
import { Config, Context, Effect, Redacted, Schedule, Schema } from "effect"
import { integerSetting, readSettings, refuseSetting, textSetting } from "orrery"

/** What a call is for: the deterministic model answers each kind its own way; usage is attributed by it. */
export type CompletionTask = "chapter" | "coherence" | "facts" | "page"

export interface CompletionRequest {
  readonly task: CompletionTask
  readonly system: string
  /** The user message; see `./prompt.ts` for its sections. */
  readonly prompt: string
  /** Ask for a JSON object as the answer. */
  readonly json?: boolean
  readonly maxTokens?: number
  /** Stable across retries (an activity's idempotency key): names the request. */
  readonly requestKey: string
}

export interface Completion {
  readonly text: string
  readonly model: string
  readonly requestId: string
  readonly promptTokens: number
  readonly completionTokens: number
}

// -- typed errors -------------------------------------------------------------

/** HTTP 429: slow down; `retryAfterMs` from the Retry-After header when it had one. */
export class LanguageModelRateLimited extends Schema.TaggedError<LanguageModelRateLimited>()("LanguageModelRateLimited", {
  status: Schema.Number,
  retryAfterMs: Schema.optionalKey(Schema.Number),
  message: Schema.String
}) {}

/** 5xx, or the server could not be reached: try again later. */
export class LanguageModelUnavailable extends Schema.TaggedError<LanguageModelUnavailable>()("LanguageModelUnavailable", {
  status: Schema.optionalKey(Schema.Number),
  message: Schema.String
}) {}

/** No answer within the client's timeout. */
export class LanguageModelTimeout extends Schema.TaggedError<LanguageModelTimeout>()("LanguageModelTimeout", {
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/** Any other 4xx (bad key, unknown model, bad request): retrying will not help. */
export class LanguageModelRejected extends Schema.TaggedError<LanguageModelRejected>()("LanguageModelRejected", {
  status: Schema.Number,
  message: Schema.String
}) {}

/** The body is not JSON, or not a chat completion, or the answer is not the JSON that was asked for. */
export class LanguageModelMalformedResponse extends Schema.TaggedError<LanguageModelMalformedResponse>()("LanguageModelMalformedResponse", {
  message: Schema.String
}) {}

export type LanguageModelError =
  | LanguageModelRateLimited
  | LanguageModelUnavailable
  | LanguageModelTimeout
  | LanguageModelRejected
  | LanguageModelMalformedResponse

/** Error tags an activity should not retry. */
export const nonRetryableLanguageModelErrors: ReadonlyArray<string> = ["LanguageModelRejected"]

export const isRetryable = (error: LanguageModelError): boolean => !nonRetryableLanguageModelErrors.includes(error._tag)

// -- the service ----------------------------------------------------------------

export interface LanguageModelShape {
  /** The model answers are attributed to (the deterministic writer's, or ORRERY_LLM_MODEL). */
  readonly model: string
  readonly complete: (request: CompletionRequest) => Effect.Effect<Completion, LanguageModelError>
}

export class LanguageModel extends Context.Service<LanguageModel, LanguageModelShape>()("orrery/sagas/shared/LanguageModel") {}

/** The circuit breaker's name for every activity that calls the language model. */
export const languageModelDependency = "language-model"

// -- configuration --------------------------------------------------------------

export interface LanguageModelConfig {
  /** An OpenAI-compatible API root such as https://api.openai.com/v1; undefined: the deterministic writer. */
  readonly baseUrl: string | undefined
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly model: string
  /** Per HTTP call. */
  readonly timeoutMs: number
}

export const languageModelDefaults = {
  model: "gpt-4o-mini",
  timeoutMs: 60_000
} as const

/** A URL the writer may call: http(s), with no credentials in it (the key has its own variable, never echoed). */
const modelEndpointSetting = (variable: string) =>
  textSetting(variable).pipe(
    Config.mapEffect((raw) => {
      if (raw === undefined) return Effect.succeed(undefined)
      const url = URL.canParse(raw) ? new URL(raw) : undefined
      return url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" || url.password !== ""
        ? refuseSetting(variable, `${variable} must be an http(s) URL without credentials, such as https://api.openai.com/v1 (put the key in ORRERY_LLM_API_KEY)`)
        : Effect.succeed(raw.replace(/\/+$/, ""))
    })
  )

export const languageModelSettings = {
  baseUrl: modelEndpointSetting("ORRERY_LLM_BASE_URL"),
  apiKey: textSetting("ORRERY_LLM_API_KEY").pipe(Config.map((key) => (key === undefined ? undefined : Redacted.make(key)))),
  model: textSetting("ORRERY_LLM_MODEL", languageModelDefaults.model),
  timeoutMs: integerSetting("ORRERY_LLM_TIMEOUT_MS", languageModelDefaults.timeoutMs, { max: 600_000 })
}

/** ORRERY_LLM_BASE_URL, ORRERY_LLM_API_KEY, ORRERY_LLM_MODEL, ORRERY_LLM_TIMEOUT_MS; throws SettingError. */
export const languageModelConfigFromEnv = (env: Readonly<Record<string, string | undefined>>): LanguageModelConfig =>
  readSettings(languageModelSettings, { env })

/** Scrubs a secret out of text that may be shown (error messages quoting a server's answer). */
export const scrub = (text: string, secret: Redacted.Redacted<string> | undefined): string => {
  if (secret === undefined) return text
  const value = Redacted.value(secret)
  return value === "" ? text : text.split(value).join("***")
}

/** Decodes the JSON answer of a `json: true` completion, or fails with a typed error naming what is wrong. */
export const decodeJsonAnswer = <S extends Schema.Codec<any, any, never, never>>(schema: S, completion: Completion) =>
  Effect.suspend(() => {
    let parsed: unknown
    try {
      parsed = JSON.parse(stripFence(completion.text))
    } catch {
      return Effect.fail(new LanguageModelMalformedResponse({ message: `the ${completion.model} answer is not JSON` }))
    }
    return Schema.decodeUnknownEffect(schema)(parsed).pipe(
      Effect.mapError((error) => new LanguageModelMalformedResponse({ message: `the ${completion.model} answer does not fit: ${error.message}` }))
    ) as Effect.Effect<S["Type"], LanguageModelMalformedResponse>
  })

/** Models like to wrap JSON in a ```json fence even when asked not to. */
const stripFence = (text: string) => {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text)
  return fenced === null ? text : fenced[1]!
}

// -- the policy of activities that call the model ---------------------------------

export interface ModelCallPolicyConfig {
  /** Attempts per activity, the first included (ORRERY_LLM_MAX_ATTEMPTS, default 4). */
  readonly maxAttempts: number
  /** First backoff delay, doubled each retry, with jitter (ORRERY_LLM_RETRY_BASE_MS, default 500). */
  readonly retryBaseMs: number
  /** Per attempt: the HTTP timeout plus room for the activity's own work. */
  readonly timeoutMs: number
}

export const modelCallPolicyDefaults = { maxAttempts: 4, retryBaseMs: 500 } as const

export const modelCallPolicySettings = {
  maxAttempts: integerSetting("ORRERY_LLM_MAX_ATTEMPTS", modelCallPolicyDefaults.maxAttempts, { max: 100 }),
  retryBaseMs: integerSetting("ORRERY_LLM_RETRY_BASE_MS", modelCallPolicyDefaults.retryBaseMs, { max: 600_000 })
}

export const modelCallPolicyFromEnv = (env: Readonly<Record<string, string | undefined>>, llm: LanguageModelConfig): ModelCallPolicyConfig => ({
  ...readSettings(modelCallPolicySettings, { env }),
  timeoutMs: llm.timeoutMs + 5_000
})

/** `retry`, `timeout`, `nonRetryable` and `dependency` for `defineActivity`: one circuit breaker for the model. */
export const modelCallPolicy = (config: ModelCallPolicyConfig, nonRetryable: ReadonlyArray<string> = []) => ({
  retry: Schedule.max([Schedule.exponential(`${config.retryBaseMs} millis`).pipe(Schedule.jittered), Schedule.recurs(Math.max(0, config.maxAttempts - 1))]) as Schedule.Schedule<unknown, unknown>,
  timeout: `${config.timeoutMs} millis` as const,
  nonRetryable: [...nonRetryableLanguageModelErrors, ...nonRetryable],
  dependency: languageModelDependency
})

/**
 * An OpenAI-compatible chat-completions client (`POST <base>/chat/completions`)
 * on Node's `fetch`. One HTTP call per `complete`: retries, backoff and the
 * circuit breaker belong to the activity that calls it. Failures are typed:
 * 429 → LanguageModelRateLimited, 5xx and unreachable → LanguageModelUnavailable,
 * no answer in time → LanguageModelTimeout (all retryable); other 4xx →
 * LanguageModelRejected; a body that is not a chat completion →
 * LanguageModelMalformedResponse. The API key goes in the Authorization header
 * only and is scrubbed from every message.
 */
import { Effect, Redacted, Schema } from "effect"
import {
  type Completion,
  type CompletionRequest,
  type LanguageModelConfig,
  type LanguageModelError,
  LanguageModelMalformedResponse,
  LanguageModelRateLimited,
  LanguageModelRejected,
  type LanguageModelShape,
  LanguageModelTimeout,
  LanguageModelUnavailable,
  scrub
} from "./language-model.js"

const ChatCompletion = Schema.Struct({
  id: Schema.optionalKey(Schema.String),
  model: Schema.optionalKey(Schema.String),
  choices: Schema.Array(
    Schema.Struct({
      message: Schema.Struct({ content: Schema.NullOr(Schema.String) })
    })
  ).check(Schema.isMinLength(1)),
  usage: Schema.optionalKey(
    Schema.Struct({
      prompt_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
      completion_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
    })
  )
})

/** Retry-After: seconds or an HTTP date. */
const retryAfterMs = (header: string | null): number | undefined => {
  if (header === null) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

const errorMessageOf = (body: string): string => {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown }
    if (typeof parsed.error === "string") return parsed.error
    if (typeof parsed.error?.message === "string") return parsed.error.message
    if (typeof parsed.message === "string") return parsed.message
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 200)
}

const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4))

export interface OpenAiCompatibleOptions extends LanguageModelConfig {
  readonly baseUrl: string
  /** For tests; Node's global fetch by default. */
  readonly fetch?: typeof fetch
}

export const makeOpenAiCompatibleModel = (options: OpenAiCompatibleOptions): LanguageModelShape => {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`
  const doFetch = options.fetch ?? fetch
  const clean = (text: string) => scrub(text, options.apiKey)

  const call = (request: CompletionRequest) =>
    Effect.tryPromise({
      try: async (signal): Promise<Completion | LanguageModelError> => {
        const body = {
          model: options.model,
          messages: [
            { role: "system", content: request.system },
            { role: "user", content: request.prompt }
          ],
          ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
          ...(request.json === true ? { response_format: { type: "json_object" } } : {})
        }
        const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" }
        if (options.apiKey !== undefined) headers.authorization = `Bearer ${Redacted.value(options.apiKey)}`
        const response = await doFetch(url, { method: "POST", headers, body: JSON.stringify(body), signal })
        const text = await response.text()
        if (response.status === 429) {
          const after = retryAfterMs(response.headers.get("retry-after"))
          return new LanguageModelRateLimited({
            status: 429,
            ...(after === undefined ? {} : { retryAfterMs: after }),
            message: clean(`rate limited by ${options.baseUrl}: ${errorMessageOf(text)}`)
          })
        }
        if (response.status >= 500) {
          return new LanguageModelUnavailable({ status: response.status, message: clean(`${options.baseUrl} answered ${response.status}: ${errorMessageOf(text)}`) })
        }
        if (response.status >= 400) {
          return new LanguageModelRejected({ status: response.status, message: clean(`${options.baseUrl} refused the request (${response.status}): ${errorMessageOf(text)}`) })
        }
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          return new LanguageModelMalformedResponse({ message: `${options.baseUrl} answered ${response.status} with a body that is not JSON` })
        }
        const decoded = Schema.decodeUnknownExit(ChatCompletion)(json)
        if (decoded._tag === "Failure") {
          return new LanguageModelMalformedResponse({ message: `${options.baseUrl} answered with JSON that is not a chat completion` })
        }
        const completion = decoded.value
        const content = completion.choices[0]!.message.content ?? ""
        const promptText = `${request.system}\n${request.prompt}`
        return {
          text: content,
          model: completion.model ?? options.model,
          requestId: completion.id ?? response.headers.get("x-request-id") ?? `req_${request.requestKey}`,
          promptTokens: completion.usage?.prompt_tokens ?? estimateTokens(promptText),
          completionTokens: completion.usage?.completion_tokens ?? estimateTokens(content)
        }
      },
      catch: (error) => new LanguageModelUnavailable({ message: clean(`cannot reach ${options.baseUrl}: ${error instanceof Error ? error.message : String(error)}`) })
    }).pipe(
      Effect.flatMap((outcome) => ("text" in outcome ? Effect.succeed(outcome) : Effect.fail(outcome))),
      Effect.timeoutOrElse({
        duration: `${options.timeoutMs} millis`,
        orElse: () => Effect.fail(new LanguageModelTimeout({ timeoutMs: options.timeoutMs, message: `no answer from ${options.baseUrl} within ${options.timeoutMs} ms` }))
      })
    )

  return { model: options.model, complete: call }
}

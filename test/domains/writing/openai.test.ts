/**
 * The OpenAI-compatible client against a fake chat-completions server on
 * 127.0.0.1: success, 429 then success, timeout, malformed JSON, and the other
 * typed failures; then a whole chapter-generation saga through it.
 */
import { Effect, Exit, Layer, Redacted } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { SettingError } from "../../../src/kit/settings.js"
import {
  type CompletionRequest,
  LanguageModel,
  languageModelConfigFromEnv,
  modelCallPolicy
} from "../../../sagas/shared/language-model.js"
import { languageModelFromConfig } from "../../../sagas/shared/language-model-layer.js"
import { makeOpenAiCompatibleModel } from "../../../sagas/shared/openai.js"
import { drivers } from "../../support/drivers.js"
import { withDomains } from "./harness.js"
import { domainEvents, waitState, writing } from "./support.js"

type Behaviour =
  | { readonly status: number; readonly body: string; readonly headers?: Record<string, string> }
  | "hang"
  | "answer"

interface Seen {
  readonly headers: IncomingMessage["headers"]
  readonly body: any
}

const apiKey = "sk-test-secret-0123456789"

/** A chat-completions server: each request takes the next behaviour ("answer" when none is queued). */
class FakeServer {
  server: Server | undefined
  url = ""
  queue: Array<Behaviour> = []
  seen: Array<Seen> = []
  hanging: Array<ServerResponse> = []
  count = 0

  async start() {
    this.server = createServer((request, response) => {
      let raw = ""
      request.on("data", (chunk) => (raw += chunk))
      request.on("end", () => {
        let body: any
        try {
          body = JSON.parse(raw)
        } catch {
          body = raw
        }
        this.seen.push({ headers: request.headers, body })
        const behaviour = this.queue.shift() ?? "answer"
        if (behaviour === "hang") {
          this.hanging.push(response)
          return
        }
        if (behaviour === "answer") {
          response.writeHead(200, { "content-type": "application/json", "x-request-id": "hdr-req" })
          response.end(JSON.stringify(this.answer(body)))
          return
        }
        response.writeHead(behaviour.status, { "content-type": "application/json", ...behaviour.headers })
        response.end(behaviour.body)
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`
  }

  /** Answers like a model would, by what the system prompt asks for. */
  answer(body: any) {
    const system: string = body?.messages?.[0]?.content ?? ""
    const content = system.includes("check a chapter")
      ? JSON.stringify({ score: 8, issues: [{ type: "style", severity: "info", description: "a little slow" }] })
      : system.includes("extract the facts")
        ? "```json\n" + JSON.stringify({ characters: [{ name: "Elena", attributes: { eyes: "green" } }], locations: [{ name: "Marseille" }], events: [{ summary: "Elena lands" }] }) + "\n```"
        : "Elena has green eyes. She lands in Marseille at dawn and walks to the harbour, where nobody is waiting."
    this.count++
    return { id: `chatcmpl-${this.count}`, object: "chat.completion", model: "fake-model-1", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }], usage: { prompt_tokens: 100 + this.count, completion_tokens: 40, total_tokens: 140 + this.count } }
  }

  reset() {
    this.count = 0
    this.queue = []
    this.seen = []
    for (const response of this.hanging.splice(0)) response.destroy()
  }

  async stop() {
    this.reset()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()))
  }
}

const fake = new FakeServer()
beforeAll(() => fake.start())
afterAll(() => fake.stop())
beforeEach(() => fake.reset())

const client = (timeoutMs = 2_000) => makeOpenAiCompatibleModel({ baseUrl: fake.url, apiKey: Redacted.make(apiKey), model: "fake-model-1", timeoutMs })

const request: CompletionRequest = { task: "coherence", system: "You check a chapter.", prompt: "## Chapter text\nHello", json: true, maxTokens: 50, requestKey: "chapter-generation-x/validate@4" }

const failureOf = async (effect: Effect.Effect<unknown, unknown>) => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason?._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error as any
}

describe("OpenAI-compatible client", () => {
  it("success: sends the chat completion and reports the answer and its token usage", async () => {
    const completion = await Effect.runPromise(client().complete(request))
    expect(completion).toEqual({
      text: JSON.stringify({ score: 8, issues: [{ type: "style", severity: "info", description: "a little slow" }] }),
      model: "fake-model-1",
      requestId: "chatcmpl-1",
      promptTokens: 101,
      completionTokens: 40
    })
    expect(fake.seen).toHaveLength(1)
    const seen = fake.seen[0]!
    expect(seen.headers.authorization).toBe(`Bearer ${apiKey}`)
    expect(seen.headers["content-type"]).toBe("application/json")
    expect(seen.body).toEqual({
      model: "fake-model-1",
      messages: [{ role: "system", content: "You check a chapter." }, { role: "user", content: "## Chapter text\nHello" }],
      max_tokens: 50,
      response_format: { type: "json_object" }
    })
  })

  it("429 then success: a typed retryable error, and the activity's retry policy gets through", async () => {
    fake.queue.push({ status: 429, body: JSON.stringify({ error: { message: "Rate limit reached" } }), headers: { "retry-after": "2" } })
    const first = await failureOf(client().complete(request))
    expect(first).toMatchObject({ _tag: "LanguageModelRateLimited", status: 429, retryAfterMs: 2000, message: expect.stringContaining("Rate limit reached") })

    fake.queue.push({ status: 429, body: "{}" })
    const policy = modelCallPolicy({ maxAttempts: 3, retryBaseMs: 5, timeoutMs: 2_000 })
    const completion = await Effect.runPromise(client().complete(request).pipe(Effect.retry({ schedule: policy.retry, while: (e) => !policy.nonRetryable.includes(e._tag) })))
    expect(completion.model).toBe("fake-model-1")
    expect(fake.seen).toHaveLength(3)
  })

  it("timeout: no answer within the timeout is a typed LanguageModelTimeout", async () => {
    fake.queue.push("hang")
    const started = Date.now()
    const error = await failureOf(client(300).complete(request))
    expect(error).toMatchObject({ _tag: "LanguageModelTimeout", timeoutMs: 300 })
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it("malformed JSON: a body that is not JSON, or not a chat completion, is a typed LanguageModelMalformedResponse", async () => {
    fake.queue.push({ status: 200, body: "{\"id\": \"chatcmpl-1\", \"choices\": [" })
    expect(await failureOf(client().complete(request))).toMatchObject({ _tag: "LanguageModelMalformedResponse", message: expect.stringContaining("not JSON") })
    fake.queue.push({ status: 200, body: JSON.stringify({ id: "x", choices: [] }) })
    expect(await failureOf(client().complete(request))).toMatchObject({ _tag: "LanguageModelMalformedResponse", message: expect.stringContaining("not a chat completion") })
  })

  it("5xx is LanguageModelUnavailable; other 4xx are LanguageModelRejected, never echoing the key", async () => {
    fake.queue.push({ status: 503, body: JSON.stringify({ error: { message: "overloaded" } }) })
    expect(await failureOf(client().complete(request))).toMatchObject({ _tag: "LanguageModelUnavailable", status: 503 })
    fake.queue.push({ status: 401, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${apiKey}` } }) })
    const rejected = await failureOf(client().complete(request))
    expect(rejected).toMatchObject({ _tag: "LanguageModelRejected", status: 401 })
    expect(rejected.message).toContain("Incorrect API key provided: ***")
    expect(JSON.stringify(rejected)).not.toContain(apiKey)
    expect(modelCallPolicy({ maxAttempts: 3, retryBaseMs: 5, timeoutMs: 1 }).nonRetryable).toContain("LanguageModelRejected")
  })

  it("an unreachable server is LanguageModelUnavailable", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const model = makeOpenAiCompatibleModel({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: undefined, model: "m", timeoutMs: 2_000 })
    expect(await failureOf(model.complete(request))).toMatchObject({ _tag: "LanguageModelUnavailable" })
  })

  it("reads its configuration from the environment, with defaults, refusing bad values without echoing secrets", () => {
    expect(languageModelConfigFromEnv({})).toEqual({ baseUrl: undefined, apiKey: undefined, model: "gpt-4o-mini", timeoutMs: 60_000 })
    const config = languageModelConfigFromEnv({ ORRERY_LLM_BASE_URL: "http://127.0.0.1:9/v1/", ORRERY_LLM_API_KEY: apiKey, ORRERY_LLM_MODEL: "m", ORRERY_LLM_TIMEOUT_MS: "1500" })
    expect(config).toMatchObject({ baseUrl: "http://127.0.0.1:9/v1", model: "m", timeoutMs: 1500 })
    expect(Redacted.value(config.apiKey!)).toBe(apiKey)
    expect(`${JSON.stringify(config)} ${String(config.apiKey)}`).not.toContain(apiKey)
    expect(() => languageModelConfigFromEnv({ ORRERY_LLM_BASE_URL: "ftp://x" })).toThrow(SettingError)
    expect(() => languageModelConfigFromEnv({ ORRERY_LLM_BASE_URL: `https://user:${apiKey}@host/v1` })).toThrow(/without credentials/)
    try {
      languageModelConfigFromEnv({ ORRERY_LLM_BASE_URL: `https://user:${apiKey}@host/v1` })
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(apiKey)
    }
    expect(() => languageModelConfigFromEnv({ ORRERY_LLM_TIMEOUT_MS: "soon" })).toThrow(/ORRERY_LLM_TIMEOUT_MS must be an integer/)
  })
})

describe.each(drivers)("chapter-generation through the HTTP model on %s", (driver) => {
  it("survives a 429, and bills the server's token counts", async () => {
    const languageModel = languageModelFromConfig(languageModelConfigFromEnv({ ORRERY_LLM_BASE_URL: fake.url, ORRERY_LLM_API_KEY: apiKey, ORRERY_LLM_MODEL: "fake-model-1", ORRERY_LLM_TIMEOUT_MS: "2000" }))
    fake.queue.push({ status: 429, body: JSON.stringify({ error: { message: "slow down" } }) })
    await withDomains(driver, writing({ languageModel: languageModel as Layer.Layer<any, never, never> }), () => Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("chapter-generation", { projectId: "http", chapterIndex: 1, instruction: "Elena lands in Marseille", targetWordCount: 50 }, { id: "http.1" })
      const review = yield* waitState("chapter-generation", "http.1", "pending_review")
      expect(review.context).toMatchObject({ attempt: 1, score: 8, wordCount: 19, facts: [{ kind: "character", subject: "Elena", attribute: "eyes", value: "green" }, { kind: "location", subject: "Marseille" }, { kind: "event", subject: "Elena lands" }] })
      const history = yield* engine.history("chapter-generation", "http.1")
      expect(history.filter((entry) => entry.type === "activity.attempt_failed").map((entry) => (entry.data as any).error)).toEqual([
        expect.objectContaining({ _tag: "LanguageModelRateLimited", status: 429 })
      ])
      const usage = (yield* domainEvents("chapter-generation", "http.1")).filter((event) => event.type === "tokens.consumed").map((event) => event.data)
      expect(usage).toEqual([
        { requestId: "chatcmpl-1", model: "fake-model-1", promptTokens: 101, completionTokens: 40, purpose: "chapter", projectId: "http" },
        { requestId: "chatcmpl-2", model: "fake-model-1", promptTokens: 102, completionTokens: 40, purpose: "coherence", projectId: "http" },
        { requestId: "chatcmpl-3", model: "fake-model-1", promptTokens: 103, completionTokens: 40, purpose: "facts", projectId: "http" }
      ])
      expect(fake.seen).toHaveLength(4)
      for (const seen of fake.seen) expect(seen.headers.authorization).toBe(`Bearer ${apiKey}`)
    }))
  })
})

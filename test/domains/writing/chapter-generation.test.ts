/** The chapter-generation saga end to end through the engine: happy path, every failure path, its read models. */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { CircuitBreaker, Engine } from "../../../src/engine/index.js"
import { Database } from "../../../src/log/index.js"
import { Projections } from "../../../src/projections/projection.js"
import { chapterRoutes } from "../../../machines/chapter/index.js"
import { readFacts, storyMemoryRoutes } from "../../../sagas/chapter-generation/index.js"
import { makeDeterministicModel } from "../../../sagas/shared/deterministic-model.js"
import { LanguageModel, LanguageModelUnavailable } from "../../../sagas/shared/language-model.js"
import { drivers } from "../../support/drivers.js"
import { until } from "../../support/engine.js"
import { get, routesApp, withDomains } from "./harness.js"
import { domainEvents, waitState, writing } from "./support.js"

const start = (id: string, chapterIndex: number, instruction: string, projectId = "novel") =>
  Effect.gen(function*() {
    const engine = yield* Engine
    return yield* engine.start("chapter-generation", { projectId, chapterIndex, instruction, targetWordCount: 200 }, { id })
  })

const types = (events: ReadonlyArray<{ type: string }>) => events.map((event) => event.type)

/** A model that is down: every call fails, and is counted. */
const downModel = (calls: { count: number }) =>
  Layer.succeed(LanguageModel, {
    model: "down",
    complete: () => Effect.suspend(() => {
      calls.count++
      return Effect.fail(new LanguageModelUnavailable({ status: 503, message: "down for maintenance" }))
    })
  }) as Layer.Layer<any, never, never>

/** The deterministic model, except that its coherence verdicts score 12 out of 10. */
const overScoringJudge = Layer.sync(LanguageModel, () => {
  const honest = makeDeterministicModel()
  return {
    model: honest.model,
    complete: (request) =>
      request.task === "coherence"
        ? Effect.succeed({ text: JSON.stringify({ score: 12, issues: [] }), model: honest.model, requestId: "r", promptTokens: 1, completionTokens: 1 })
        : honest.complete(request)
  }
}) as Layer.Layer<any, never, never>

describe.each(drivers)("chapter-generation on %s", (driver) => {
  it("happy path: writes, validates, extracts facts, updates the memory, goes to review, is approved", async () => {
    await withDomains(driver, writing(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* start("novel.1", 1, "Elena arrives in Marseille and meets Tomas")
      const review = yield* waitState("chapter-generation", "novel.1", "pending_review")
      expect(review.context).toMatchObject({ attempt: 1, round: 1, score: 9, wordCount: expect.any(Number), contentHash: expect.stringMatching(/^sha256:/) })
      expect(review.children).toEqual({ chapter: { workflowType: "chapter", instanceId: "novel.1.chapter" } })
      expect((yield* engine.get("chapter", "novel.1.chapter")).state).toBe("pending_review")

      const events = yield* domainEvents("chapter-generation", "novel.1")
      expect(types(events)).toEqual([
        "chapter.generation_started", "tokens.consumed", "chapter.generated",
        "tokens.consumed", "coherence.validated",
        "tokens.consumed", "facts.extracted", "memory.updated"
      ])
      const data = (type: string) => events.find((event) => event.type === type)!.data as any
      expect(data("chapter.generated")).toEqual({ projectId: "novel", chapterIndex: 1, attempt: 1, wordCount: (review.context as any).wordCount, contentHash: (review.context as any).contentHash })
      expect(data("coherence.validated")).toEqual({ projectId: "novel", chapterIndex: 1, attempt: 1, score: 9, issuesCount: 0, blocking: false })
      expect(data("facts.extracted")).toEqual({ projectId: "novel", chapterIndex: 1, charactersCount: 2, locationsCount: 1, eventsCount: 1 })
      expect(data("memory.updated")).toMatchObject({ memoryType: "story-facts", entitiesUpdated: 4 })
      const usage = events.filter((event) => event.type === "tokens.consumed").map((event) => event.data as any)
      expect(usage.map((u) => u.purpose)).toEqual(["chapter", "coherence", "facts"])
      for (const u of usage) expect(u).toMatchObject({ model: "deterministic-writer", projectId: "novel", requestId: expect.stringMatching(/^det_/), promptTokens: expect.any(Number), completionTokens: expect.any(Number) })
      expect(new Set(usage.map((u) => u.requestId)).size).toBe(3)

      const approving = yield* engine.send("chapter-generation", "novel.1", { type: "APPROVE", summary: "Elena meets Tomas." })
      expect(approving.state).toBe("approving")
      // A second APPROVE while the first is on its way is refused.
      expect(yield* Effect.flip(engine.send("chapter-generation", "novel.1", { type: "APPROVE", summary: "again" }))).toMatchObject({ _tag: "EventNotAccepted" })
      const done = yield* waitState("chapter-generation", "novel.1", "approved")
      expect(done).toMatchObject({ status: "done", output: { projectId: "novel", chapterIndex: 1, summary: "Elena meets Tomas.", score: 9, contentHash: (review.context as any).contentHash } })
      expect(yield* Effect.flip(engine.send("chapter-generation", "novel.1", { type: "APPROVE", summary: "again" }))).toMatchObject({ _tag: "InstanceFinal" })
      const chapter = yield* engine.get("chapter", "novel.1.chapter")
      expect(chapter).toMatchObject({ status: "done", state: "approved" })
      expect(types(yield* domainEvents("chapter", "novel.1.chapter"))).toEqual(["chapter.submitted", "chapter.approved"])

      // Read models: the chapter's status and the story memory.
      yield* (yield* Projections).caughtUp
      const app = yield* routesApp(schema, chapterRoutes, storyMemoryRoutes)
      const chapters = yield* get(app, "/projects/novel/chapters")
      expect(chapters.body.chapters).toEqual([
        expect.objectContaining({ chapterIndex: 1, status: "approved", generation: "chapter-generation-novel.1", chapter: "chapter-novel.1.chapter", attempt: 1, round: 1, score: 9, issuesCount: 0, submissions: 1, summary: "Elena meets Tomas." })
      ])
      const memory = yield* get(app, "/projects/novel/memory")
      expect(memory.status).toBe(200)
      expect(memory.body).toMatchObject({ projectId: "novel", characters: 2, locations: 1, events: 1 })
      expect(memory.body.facts).toEqual(expect.arrayContaining([
        { chapterIndex: 1, kind: "character", subject: "Elena", attribute: "eyes", value: expect.any(String) },
        { chapterIndex: 1, kind: "location", subject: "Marseille", attribute: null, value: null },
        { chapterIndex: 1, kind: "event", subject: "Elena arrives in Marseille and meets Tomas", attribute: null, value: null }
      ]))
      expect(yield* get(app, "/projects/-bad/memory")).toMatchObject({ status: 400, body: { error: "ValidationError", details: { in: "params", field: "projectId" } } })
    }))
  })

  it("a draft that fails the coherence check ([contradiction]) is regenerated with the issues as feedback", async () => {
    await withDomains(driver, writing(), () => Effect.gen(function*() {
      yield* start("twist.1", 1, "Mara returns to Valmont [contradiction]", "twist")
      const review = yield* waitState("chapter-generation", "twist.1", "pending_review")
      expect(review.context).toMatchObject({ attempt: 2, round: 1, score: 9, feedback: [] })
      const events = yield* domainEvents("chapter-generation", "twist.1")
      expect(types(events)).toEqual([
        "chapter.generation_started", "tokens.consumed", "chapter.generated",
        "tokens.consumed", "coherence.validated", "contradiction.detected",
        "chapter.generation_started", "tokens.consumed", "chapter.generated",
        "tokens.consumed", "coherence.validated",
        "tokens.consumed", "facts.extracted", "memory.updated"
      ])
      const validations = events.filter((event) => event.type === "coherence.validated").map((event) => event.data as any)
      expect(validations).toEqual([
        { projectId: "twist", chapterIndex: 1, attempt: 1, score: 5, issuesCount: 1, blocking: true },
        { projectId: "twist", chapterIndex: 1, attempt: 2, score: 9, issuesCount: 0, blocking: false }
      ])
      expect(events.find((event) => event.type === "contradiction.detected")!.data).toEqual({
        projectId: "twist", chapterIndex: 1, attempt: 1, contradictionType: "contradiction", severity: "blocking",
        description: expect.stringMatching(/^Mara's eyes change from \w+ to \w+ within the chapter$/)
      })
      // The second draft was asked to fix the issue: its activity input carried it.
      const history = yield* (yield* Engine).history("chapter-generation", "twist.1")
      const scheduled = history.filter((entry) => entry.type === "activity.scheduled" && (entry.data as any).src === "generateChapter").map((entry) => (entry.data as any).input)
      expect(scheduled.map((input) => input.attempt)).toEqual([1, 2])
      expect(scheduled[1].feedback).toEqual([expect.stringMatching(/^contradiction \(blocking\): Mara's eyes change/)])
      const generated = events.filter((event) => event.type === "chapter.generated").map((event) => (event.data as any).contentHash)
      expect(generated[0]).not.toBe(generated[1])
    }))
  })

  it("a contradiction of a fact the story memory knows from an earlier chapter is caught", async () => {
    await withDomains(driver, writing(), (schema) => Effect.gen(function*() {
      yield* start("saga.1", 1, "Elena arrives in Marseille", "saga")
      yield* waitState("chapter-generation", "saga.1", "pending_review")
      yield* (yield* Projections).caughtUp
      const db = yield* Database
      const known = (yield* Effect.promise(() => readFacts(db, schema, "saga"))).find((fact) => fact.subject === "Elena")!
      yield* start("saga.2", 2, "Elena searches the archives [contradiction]", "saga")
      yield* waitState("chapter-generation", "saga.2", "pending_review")
      const events = yield* domainEvents("chapter-generation", "saga.2")
      const contradiction = events.find((event) => event.type === "contradiction.detected")!.data as any
      expect(contradiction.description).toMatch(new RegExp(`^Elena has \\w+ eyes here, but the story established ${known.value} eyes$`))
      // The regenerated chapter keeps the known colour, and the memory keeps it too.
      yield* (yield* Projections).caughtUp
      const facts = yield* Effect.promise(() => readFacts(db, schema, "saga"))
      expect(facts.filter((fact) => fact.subject === "Elena")).toEqual([{ chapterIndex: 2, kind: "character", subject: "Elena", attribute: "eyes", value: known.value }])
    }))
  })

  it("three incoherent drafts in a row need attention; RETRY starts a new round", async () => {
    await withDomains(driver, writing(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* start("stuck.1", 1, "Mara returns to Valmont [incoherent]", "stuck")
      const stuck = yield* waitState("chapter-generation", "stuck.1", "needs_attention")
      expect(stuck.context).toMatchObject({ attempt: 3, round: 1, reason: "still incoherent after 3 attempts (score 5, blocking issues)" })
      const events = yield* domainEvents("chapter-generation", "stuck.1")
      expect(events.filter((event) => event.type === "chapter.generated").map((event) => (event.data as any).attempt)).toEqual([1, 2, 3])
      expect(events.filter((event) => event.type === "contradiction.detected")).toHaveLength(3)
      expect(events.at(-1)).toMatchObject({ type: "chapter.needs_attention", data: { projectId: "stuck", chapterIndex: 1, attempt: 3, reason: (stuck.context as any).reason } })
      expect(types(events)).not.toContain("facts.extracted")
      // Not accepted while it needs attention: APPROVE; accepted: RETRY.
      expect(yield* Effect.flip(engine.send("chapter-generation", "stuck.1", { type: "APPROVE", summary: "x" }))).toMatchObject({ _tag: "EventNotAccepted", accepted: ["RETRY"] })
      yield* engine.send("chapter-generation", "stuck.1", { type: "RETRY", feedback: "Keep her eyes one colour." })
      const again = yield* waitState("chapter-generation", "stuck.1", (i) => i.state === "needs_attention" && (i.context as any).round === 2)
      expect(again.context).toMatchObject({ attempt: 3, round: 2 })
      yield* (yield* Projections).caughtUp
      const app = yield* routesApp(schema, chapterRoutes)
      expect((yield* get(app, "/projects/stuck/chapters")).body.chapters).toEqual([
        expect.objectContaining({ status: "needs_attention", reason: "still incoherent after 3 attempts (score 5, blocking issues)", round: 2, attempt: 3 })
      ])
    }))
  })

  it("REJECT {feedback} regenerates with the reviewer's feedback; the chapter may also be reviewed directly", async () => {
    await withDomains(driver, writing(), () => Effect.gen(function*() {
      const engine = yield* Engine
      yield* start("rev.1", 1, "Tomas confesses to Elena", "rev")
      const first = yield* waitState("chapter-generation", "rev.1", "pending_review")
      yield* engine.send("chapter-generation", "rev.1", { type: "REJECT", feedback: "Let Tomas hesitate first." })
      const second = yield* waitState("chapter-generation", "rev.1", (i) => i.state === "pending_review" && (i.context as any).round === 2)
      expect(second.context).toMatchObject({ attempt: 1, round: 2 })
      expect((second.context as any).contentHash).not.toBe((first.context as any).contentHash)
      const history = yield* engine.history("chapter-generation", "rev.1")
      const inputs = history.filter((entry) => entry.type === "activity.scheduled" && (entry.data as any).src === "generateChapter").map((entry) => (entry.data as any).input.feedback)
      expect(inputs).toEqual([[], ["reviewer: Let Tomas hesitate first."]])

      // Now the reviewer works on the chapter instance itself: reject, then approve.
      yield* engine.send("chapter", "rev.1.chapter", { type: "REJECT", feedback: "Shorter, please." })
      yield* waitState("chapter-generation", "rev.1", (i) => i.state === "pending_review" && (i.context as any).round === 3)
      yield* engine.send("chapter", "rev.1.chapter", { type: "APPROVE", summary: "Tomas confesses, at last." })
      const done = yield* waitState("chapter-generation", "rev.1", "approved")
      expect(done.output).toMatchObject({ summary: "Tomas confesses, at last." })
      const chapterEvents = yield* domainEvents("chapter", "rev.1.chapter")
      expect(types(chapterEvents)).toEqual(["chapter.submitted", "chapter.rejected", "chapter.submitted", "chapter.rejected", "chapter.submitted", "chapter.approved"])
      expect(chapterEvents[1]!.data).toMatchObject({ feedback: "Let Tomas hesitate first." })
    }))
  })

  it("the model failing after its retries needs attention, with each attempt recorded", async () => {
    await withDomains(driver, writing(), () => Effect.gen(function*() {
      const engine = yield* Engine
      yield* start("down.1", 1, "Mara waits for the ferry [llm-down]", "down")
      const stuck = yield* waitState("chapter-generation", "down.1", "needs_attention")
      expect((stuck.context as any).reason).toBe("writing the draft failed: LanguageModelUnavailable: the deterministic model is down for this prompt ([llm-down])")
      const history = yield* engine.history("chapter-generation", "down.1")
      const attempts = history.filter((entry) => entry.type === "activity.attempt_failed").map((entry) => entry.data as any)
      expect(attempts.map((attempt) => [attempt.attempt, attempt.error._tag])).toEqual([[1, "LanguageModelUnavailable"], [2, "LanguageModelUnavailable"], [3, "LanguageModelUnavailable"]])
      expect(history.find((entry) => entry.type === "activity.failed")!.data).toMatchObject({ src: "generateChapter", attempts: 3, error: { _tag: "LanguageModelUnavailable", status: 503 } })
    }))
  })

  it("the circuit breaker opens on repeated model failures: later calls wait for it without reaching the model or spending attempts", async () => {
    const calls = { count: 0 }
    await withDomains(driver, { ...writing({ languageModel: downModel(calls), modelCalls: { maxAttempts: 4, retryBaseMs: 5, timeoutMs: 2_000 } }), circuitBreaker: { failureThreshold: 2, cooldown: "1 minute" } }, () => Effect.gen(function*() {
      const engine = yield* Engine
      yield* start("cb.1", 1, "Mara waits", "cb")
      // Two calls failed and opened the circuit; the third attempt was refused: the task waits for the circuit.
      const waiting = (yield* until(engine.pending("chapter-generation", "cb.1"), (tasks) => tasks.some((task) => task.waitingFor !== undefined))).find((task) => task.waitingFor !== undefined)
      expect(waiting).toMatchObject({ kind: "activity", attempts: 2, waitingFor: { circuit: "language-model" } })
      expect(calls.count).toBe(2)
      expect(yield* (yield* CircuitBreaker).state("language-model")).toMatchObject({ state: "open", failures: 2 })
      const attempts = (yield* engine.history("chapter-generation", "cb.1")).filter((entry) => entry.type === "activity.attempt_failed").map((entry) => (entry.data as any).error._tag)
      expect(attempts).toEqual(["LanguageModelUnavailable", "LanguageModelUnavailable"])
      expect((yield* engine.get("chapter-generation", "cb.1")).status).toBe("running")
      // Another chapter meets the open circuit at once: it waits too, and the model is not called.
      yield* start("cb.2", 2, "Mara leaves", "cb")
      const second = (yield* until(engine.pending("chapter-generation", "cb.2"), (tasks) => tasks.some((task) => task.waitingFor !== undefined))).find((task) => task.waitingFor !== undefined)
      expect(second).toMatchObject({ attempts: 0, waitingFor: { circuit: "language-model" } })
      expect(calls.count).toBe(2)
      expect((yield* engine.history("chapter-generation", "cb.2")).some((entry) => entry.type === "activity.attempt_failed")).toBe(false)
    }))
  })

  it("a coherence score outside 0-10 is refused as a malformed answer", async () => {
    await withDomains(driver, writing({ languageModel: overScoringJudge }), () => Effect.gen(function*() {
      yield* start("odd.1", 1, "Mara waits", "odd")
      const stuck = yield* waitState("chapter-generation", "odd.1", "needs_attention")
      expect((stuck.context as any).reason).toMatch(/^validating coherence failed: LanguageModelMalformedResponse: .*between 0 and 10/)
      expect(types(yield* domainEvents("chapter-generation", "odd.1"))).not.toContain("coherence.validated")
    }))
  })

  it("the chapters and story-memory read models give the same rows after a rebuild", async () => {
    await withDomains(driver, writing(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* start("rb.1", 1, "Elena arrives in Marseille", "rb")
      yield* start("rb.2", 2, "Tomas follows Elena to Lyon [contradiction]", "rb")
      yield* waitState("chapter-generation", "rb.1", "pending_review")
      yield* waitState("chapter-generation", "rb.2", "pending_review")
      yield* engine.send("chapter-generation", "rb.1", { type: "APPROVE", summary: "Arrival." })
      yield* engine.send("chapter-generation", "rb.2", { type: "REJECT", feedback: "Slower." })
      yield* waitState("chapter-generation", "rb.1", "approved")
      yield* waitState("chapter-generation", "rb.2", (i) => i.state === "pending_review" && (i.context as any).round === 2)
      const projections = yield* Projections
      yield* projections.caughtUp
      const db = yield* Database
      const read = Effect.promise(() => Promise.all([
        db.query(`select * from ${schema}.writing_chapters order by project_id, chapter_index`),
        db.query(`select * from ${schema}.writing_story_facts order by project_id, chapter_index, position`)
      ]))
      const before = yield* read
      expect(before[0]).toHaveLength(2)
      expect(before[1].length).toBeGreaterThan(4)
      expect((yield* projections.rebuild("chapters")).events).toBeGreaterThan(10)
      expect((yield* projections.rebuild("story-memory")).events).toBe(3)
      expect(yield* read).toEqual(before)
    }))
  })
})

describe("chapter-generation without the chapter domain", () => {
  it("refuses to start (its chapter is a `chapter` aggregate)", async () => {
    const { workflows, services, projections } = writing()
    await withDomains("pglite", { workflows: workflows.filter((w) => w.type !== "chapter"), services, projections }, () => Effect.gen(function*() {
      const refused = yield* Effect.flip(start("lonely.1", 1, "Mara waits", "lonely"))
      // The reason should name `chapter`; the engine drops UnsupportedAction's reason (ENGINE_BUG_start-reason-empty.md).
      expect(refused).toMatchObject({ _tag: "InvalidEvent", eventType: "chapter-generation input", reason: expect.stringMatching(/^the machine could not start/) })
      expect(yield* Effect.flip((yield* Engine).get("chapter-generation", "lonely.1"))).toMatchObject({ _tag: "InstanceNotFound" })
    }))
  })
})

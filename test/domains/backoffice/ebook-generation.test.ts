/** The ebook-generation saga end to end through the engine, and the generation-costs read model it feeds. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { Database } from "../../../src/log/index.js"
import { Projections } from "../../../src/projections/projection.js"
import { costOf, costRoutes, formatUsd, imageCost, sumUsd, tokenCost } from "../../../sagas/ebook-generation/index.js"
import { drivers } from "../../support/drivers.js"
import { get, routesApp, withDomains } from "../writing/harness.js"
import { backoffice, domainEvents, prices, waitFinal } from "./support.js"

const types = (events: ReadonlyArray<{ type: string }>) => events.map((event) => event.type)

describe.each(drivers)("ebook-generation on %s", (driver) => {
  it("happy path: a cover, each page written and illustrated, assembled, priced; the costs read model agrees", async () => {
    await withDomains(driver, backoffice(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("ebook-generation", { ebookId: "cats", title: "Cats at Sea", theme: "cats who sail", pages: 3 }, { id: "cats" })
      const done = yield* waitFinal("ebook-generation", "cats")
      expect(done).toMatchObject({ status: "done", state: "generated", output: { ebookId: "cats", status: "generated", pageCount: 3, reason: null, totalCostUsd: expect.stringMatching(/^\d+\.\d{6}$/) } })

      const events = yield* domainEvents("ebook-generation", "cats")
      expect(types(events)).toEqual([
        "ebook.generation_started",
        "image.generated",
        "tokens.consumed", "ebook.page_written", "image.generated",
        "tokens.consumed", "ebook.page_written", "image.generated",
        "tokens.consumed", "ebook.page_written", "image.generated",
        "ebook.assembled", "cost.calculated", "ebook.generated"
      ])
      const tokens = events.filter((event) => event.type === "tokens.consumed").map((event) => event.data as any)
      const images = events.filter((event) => event.type === "image.generated").map((event) => event.data as any)
      for (const t of tokens) expect(t).toEqual({ requestId: expect.stringMatching(/^det_/), model: "deterministic-writer", promptTokens: expect.any(Number), completionTokens: expect.any(Number), purpose: "page", ebookId: "cats" })
      expect(images.map((i) => [i.purpose, i.page])).toEqual([["cover", undefined], ["illustration", 1], ["illustration", 2], ["illustration", 3]])
      for (const i of images) expect(i).toMatchObject({ requestId: expect.stringMatching(/^det_img_/), model: "deterministic-illustrator", ebookId: "cats" })
      expect(new Set([...tokens, ...images].map((e) => e.requestId)).size).toBe(7)

      // The total is the exact sum of what the events say was used, priced with the table.
      const expected = formatUsd(sumUsd([
        ...tokens.map((t) => tokenCost(prices, t.model, t.promptTokens, t.completionTokens)),
        ...images.map((i) => imageCost(prices, i.model))
      ]))
      const generated = events.at(-1)!.data as any
      expect(generated).toEqual({ ebookId: "cats", totalCostUsd: expected, pageCount: 3, contentHash: expect.stringMatching(/^sha256:/) })
      const calculated = events.at(-2)!.data as any
      expect(calculated).toEqual({
        ebookId: "cats",
        currency: "USD",
        totalCostUsd: expected,
        lines: costOf(prices, {
          "deterministic-illustrator": { calls: 0, promptTokens: 0, completionTokens: 0, images: 4 },
          "deterministic-writer": { calls: 3, promptTokens: tokens.reduce((s, t) => s + t.promptTokens, 0), completionTokens: tokens.reduce((s, t) => s + t.completionTokens, 0), images: 0 }
        }).lines
      })

      // GET /costs/{ebookId} and GET /costs read the same money.
      yield* (yield* Projections).caughtUp
      const app = yield* routesApp(schema, costRoutes(prices))
      const one = yield* get(app, "/costs/cats")
      expect(one.status).toBe(200)
      expect(one.body).toMatchObject({
        ebookId: "cats", title: "Cats at Sea", pages: 3, status: "generated",
        totalCostUsd: expected, calculatedCostUsd: expected,
        calls: 3, images: 4,
        promptTokens: tokens.reduce((s, t) => s + t.promptTokens, 0),
        completionTokens: tokens.reduce((s, t) => s + t.completionTokens, 0),
        byModel: calculated.lines
      })
      const all = yield* get(app, "/costs")
      expect(all.body).toMatchObject({ currency: "USD", totalCostUsd: expected, calls: 3, images: 4, ebooksTotal: 1, projects: [], byModel: calculated.lines })
      expect(all.body.ebooks).toEqual([expect.objectContaining({ ebookId: "cats", status: "generated", totalCostUsd: expected, calculatedCostUsd: expected })])
    }))
  })

  it("an illustrator that stays down fails the ebook after its retries", async () => {
    await withDomains(driver, backoffice(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("ebook-generation", { ebookId: "dark", title: "Dark", theme: "nothing to see [images-down]", pages: 2 }, { id: "dark" })
      const done = yield* waitFinal("ebook-generation", "dark")
      expect(done).toMatchObject({ status: "done", state: "failed", output: { status: "failed", totalCostUsd: null, reason: "cover failed: ImageGenerationFailed: the deterministic illustrator is down for this prompt ([images-down])" } })
      expect(types(yield* domainEvents("ebook-generation", "dark"))).toEqual(["ebook.generation_started", "ebook.generation_failed"])
      const attempts = (yield* engine.history("ebook-generation", "dark")).filter((entry) => entry.type === "activity.attempt_failed")
      expect(attempts).toHaveLength(3)
      yield* (yield* Projections).caughtUp
      const app = yield* routesApp(schema, costRoutes(prices))
      expect((yield* get(app, "/costs/dark")).body).toMatchObject({ ebookId: "dark", status: "failed", totalCostUsd: "0.000000", calculatedCostUsd: null, reason: done.output && (done.output as any).reason })
    }))
  })

  it("a language model that stays down fails the ebook at its first page; what was spent is still counted", async () => {
    await withDomains(driver, backoffice(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("ebook-generation", { ebookId: "mute", title: "Mute [llm-down]", theme: "silence", pages: 2 }, { id: "mute" })
      const done = yield* waitFinal("ebook-generation", "mute")
      expect(done.state).toBe("failed")
      expect((done.output as any).reason).toMatch(/^page failed: LanguageModelUnavailable/)
      expect(types(yield* domainEvents("ebook-generation", "mute"))).toEqual(["ebook.generation_started", "image.generated", "ebook.generation_failed"])
      yield* (yield* Projections).caughtUp
      const app = yield* routesApp(schema, costRoutes(prices))
      expect((yield* get(app, "/costs/mute")).body).toMatchObject({ status: "failed", images: 1, calls: 0, totalCostUsd: "0.020000" })
    }))
  })

  it("refuses an input it cannot use", async () => {
    await withDomains(driver, backoffice(), () => Effect.gen(function*() {
      const engine = yield* Engine
      for (const input of [{ ebookId: "x", title: "T", theme: "t", pages: 0 }, { ebookId: "x", title: "T", theme: "t", pages: 51 }, { ebookId: "bad id", title: "T", theme: "t", pages: 1 }, { ebookId: "x", title: "", theme: "t", pages: 1 }]) {
        expect(yield* Effect.flip(engine.start("ebook-generation", input))).toMatchObject({ _tag: "InvalidEvent" })
      }
    }))
  })

  it("the generation-costs read model gives the same rows after a rebuild", async () => {
    await withDomains(driver, backoffice(), (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("ebook-generation", { ebookId: "a", title: "A", theme: "apples", pages: 2 }, { id: "a" })
      yield* engine.start("ebook-generation", { ebookId: "b", title: "B", theme: "bees", pages: 1 }, { id: "b" })
      yield* waitFinal("ebook-generation", "a")
      yield* waitFinal("ebook-generation", "b")
      const projections = yield* Projections
      yield* projections.caughtUp
      const db = yield* Database
      const read = Effect.promise(() => Promise.all([
        db.query(`select scope, scope_id, model, calls, prompt_tokens, completion_tokens, images, cost_usd::text as cost from ${schema}.costs_usage order by scope, scope_id, model`),
        db.query(`select * from ${schema}.costs_ebooks order by ebook_id`)
      ]))
      const before = yield* read
      expect(before[0]).toHaveLength(4)
      expect(before[1]).toHaveLength(2)
      const rebuilt = yield* projections.rebuild("generation-costs")
      // a: 2 tokens.consumed, 3 images, started/cost/generated; b: 1, 2, and the same three.
      expect(rebuilt.events).toBe((2 + 3 + 3) + (1 + 2 + 3))
      expect(yield* read).toEqual(before)
    }))
  })
})

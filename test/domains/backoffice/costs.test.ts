/** The generation-costs read model: exact totals, every saga's calls, its routes. */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { EventLog } from "../../../src/log/index.js"
import { Projections } from "../../../src/projections/projection.js"
import { costRoutes, costsProjection, ebookGenerationWorkflow, makePriceTable } from "../../../sagas/ebook-generation/index.js"
import { TokensConsumed, type TokenCount } from "../../../sagas/shared/usage.js"
import { drivers } from "../../support/drivers.js"
import { get, routesApp, withDomains } from "../writing/harness.js"
import { waitState, writing } from "../writing/support.js"
import { backoffice, backofficeServices, fastModelCalls, prices, waitFinal } from "./support.js"

describe.each(drivers)("generation costs on %s", (driver) => {
  it("1,000 calls of $0.000123 total exactly $0.123000", async () => {
    const table = makePriceTable({ models: { "cheap-model": { promptPerMillion: "0.123" } } })
    await withDomains(driver, backoffice({ prices: table }), (schema) => Effect.gen(function*() {
      const log = yield* EventLog
      const events = Array.from({ length: 1000 }, (_, i) =>
        TokensConsumed.make({ requestId: `req-${i}`, model: "cheap-model", promptTokens: 1000 as TokenCount, completionTokens: 0 as TokenCount, purpose: "page", ebookId: "bulk" })
      )
      yield* log.append("usage-bulk", "no_stream", events)
      yield* (yield* Projections).caughtUp
      const app = yield* routesApp(schema, costRoutes(table))
      const one = yield* get(app, "/costs/bulk")
      expect(one.body).toMatchObject({ ebookId: "bulk", status: "unknown", calls: 1000, promptTokens: 1_000_000, totalCostUsd: "0.123000", byModel: [{ model: "cheap-model", calls: 1000, costUsd: "0.123000", priced: true }] })
      expect((yield* get(app, "/costs")).body).toMatchObject({ totalCostUsd: "0.123000", calls: 1000, ebooks: [{ ebookId: "bulk", totalCostUsd: "0.123000" }] })
    }))
  }, 120_000) // the read model applies 1,000 events one transaction each

  it("bills every saga's model calls: ebooks per ebook, chapters per writing project", async () => {
    const write = writing()
    await withDomains(
      driver,
      {
        workflows: [...write.workflows, ebookGenerationWorkflow(fastModelCalls)],
        services: Layer.merge(write.services, backofficeServices()) as Layer.Layer<any, never, never>,
        projections: [...write.projections, costsProjection(prices)]
      },
      (schema) => Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("chapter-generation", { projectId: "novel", chapterIndex: 1, instruction: "Elena arrives in Marseille [contradiction]", targetWordCount: 120 }, { id: "novel.1" })
        yield* engine.start("ebook-generation", { ebookId: "moon", title: "Moon", theme: "night flowers", pages: 1 }, { id: "moon" })
        yield* waitState("chapter-generation", "novel.1", "pending_review")
        yield* waitFinal("ebook-generation", "moon")
        yield* (yield* Projections).caughtUp
        const chapterTokens = (yield* engine.history("chapter-generation", "novel.1")).filter((entry) => entry.type === "tokens.consumed").map((entry) => entry.data as any)
        expect(chapterTokens).toHaveLength(5) // two drafts, two verdicts, one extraction

        const app = yield* routesApp(schema, costRoutes(prices))
        const all = (yield* get(app, "/costs")).body
        expect(all.projects).toEqual([
          {
            projectId: "novel",
            calls: 5,
            images: 0,
            promptTokens: chapterTokens.reduce((s, t) => s + t.promptTokens, 0),
            completionTokens: chapterTokens.reduce((s, t) => s + t.completionTokens, 0),
            totalCostUsd: expect.stringMatching(/^0\.\d{6}$/)
          }
        ])
        expect(all.ebooks).toEqual([expect.objectContaining({ ebookId: "moon", status: "generated", calls: 1, images: 2 })])
        expect(all.calls).toBe(6)
        const moon = (yield* get(app, "/costs/moon")).body
        expect(moon.totalCostUsd).toBe(moon.calculatedCostUsd)
        // The project's calls are not billed to any ebook.
        expect(moon.calls).toBe(1)
      })
    )
  })

  it("routes: 404 for an unknown ebook, 400 ValidationError naming the field for bad input", async () => {
    await withDomains(driver, backoffice(), (schema) => Effect.gen(function*() {
      const app = yield* routesApp(schema, costRoutes(prices))
      expect(yield* get(app, "/costs")).toEqual({ status: 200, body: { currency: "USD", totalCostUsd: "0.000000", calls: 0, promptTokens: 0, completionTokens: 0, images: 0, byModel: [], ebooks: [], ebooksTotal: 0, projects: [], projectsTotal: 0 } })
      expect(yield* get(app, "/costs/nope")).toEqual({ status: 404, body: { error: "NotFound", message: "no ebook nope in the generation costs" } })
      for (const [url, where, field] of [["/costs/bad%20id", "params", "ebookId"], ["/costs/-x", "params", "ebookId"], ["/costs?limit=0", "querystring", "limit"], ["/costs?limit=lots", "querystring", "limit"]]) {
        const refused = yield* get(app, url!)
        expect(refused.status).toBe(400)
        // The same shape as the core API's refusals: the field named, no AJV paths.
        expect(refused.body).toEqual({ error: "ValidationError", message: expect.stringContaining(field!), details: { in: where, field, reason: expect.any(String) } })
      }
    }))
  })
})

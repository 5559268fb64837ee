/** The three Domain exports together, as an application would register them, and their demos run to their ends. */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import type { Domain } from "../../../src/domain.js"
import { Engine } from "../../../src/engine/index.js"
import { Projections } from "../../../src/projections/projection.js"
import * as chapter from "../../../machines/chapter/index.js"
import * as chapterGeneration from "../../../sagas/chapter-generation/index.js"
import * as ebookGeneration from "../../../sagas/ebook-generation/index.js"
import { drivers } from "../../support/drivers.js"
import { get, routesApp, withDomains } from "./harness.js"

const domains: ReadonlyArray<Domain> = [
  chapter.domain(chapter.configFromEnv({})),
  chapterGeneration.domain(chapterGeneration.configFromEnv({})),
  ebookGeneration.domain(ebookGeneration.configFromEnv({}))
]

describe("the Domain exports", () => {
  it("name their workflows, read models, routes and demo", () => {
    expect(domains.map((d) => [d.name, d.workflows.map((w) => w.type), d.projections.map((p) => p.name), typeof d.routes, typeof d.demo])).toEqual([
      ["chapter", ["chapter"], ["chapters"], "function", "object"],
      ["chapter-generation", ["chapter-generation"], ["story-memory"], "function", "object"],
      ["ebook-generation", ["ebook-generation"], ["generation-costs"], "function", "object"]
    ])
  })
})

describe.each(drivers)("the demos on %s", (driver) => {
  it("run to their ends, twice without harm", async () => {
    await withDomains(
      driver,
      {
        workflows: domains.flatMap((d) => d.workflows),
        services: Layer.mergeAll(...(domains.map((d) => d.services) as [Layer.Layer<any>, ...Array<Layer.Layer<any>>])) as Layer.Layer<any, never, never>,
        projections: domains.flatMap((d) => d.projections)
      },
      (schema) => Effect.gen(function*() {
        for (let run = 0; run < 2; run++) for (const domain of domains) yield* domain.demo!
        const engine = yield* Engine
        expect(yield* engine.get("chapter", "demo-standalone.1")).toMatchObject({ state: "approved", context: { submissions: 2 } })
        for (const index of [1, 2, 3]) expect((yield* engine.get("chapter-generation", `demo-novel.${index}`)).state).toBe("approved")
        const second = (yield* engine.history("chapter-generation", "demo-novel.2")).filter((e) => e.type === "coherence.validated").map((e) => (e.data as any).blocking)
        expect(second).toEqual([true, false])
        expect((yield* engine.get("chapter-generation", "demo-novel.3")).context).toMatchObject({ round: 2 })
        const ebook = yield* engine.get("ebook-generation", "demo-ebook-1")
        expect(ebook).toMatchObject({ state: "generated", output: { totalCostUsd: expect.stringMatching(/^0\.\d{6}$/) } })
        expect((yield* engine.get("ebook-generation", "demo-ebook-failed")).state).toBe("failed")

        yield* (yield* Projections).caughtUp
        const app = yield* routesApp(schema, ...domains.map((d) => d.routes!))
        expect((yield* get(app, "/projects/demo-novel/chapters")).body.chapters.map((c: any) => c.status)).toEqual(["approved", "approved", "approved"])
        expect((yield* get(app, "/projects/demo-novel/memory")).body.characters).toBeGreaterThanOrEqual(2)
        const costs = (yield* get(app, "/costs")).body
        expect(costs.ebooks.map((e: any) => [e.ebookId, e.status])).toEqual([["demo-ebook-1", "generated"], ["demo-ebook-2", "generated"], ["demo-ebook-failed", "failed"]])
        expect(costs.projects.map((p: any) => p.projectId)).toEqual(["demo-novel"])
        expect((yield* get(app, "/costs/demo-ebook-1")).body.totalCostUsd).toBe((ebook.output as any).totalCostUsd)
      })
    )
  })
})

/** The `chapter` aggregate on its own, end to end through the engine, and its read model. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { Projections } from "../../../src/projections/projection.js"
import { chapterRoutes, chaptersOf, chaptersProjection, chapterWorkflow } from "../../../machines/chapter/index.js"
import { drivers } from "../../support/drivers.js"
import { get, routesApp, withDomains } from "./harness.js"
import { Database } from "../../../src/log/index.js"

const hash = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`

const options = { workflows: [chapterWorkflow], projections: [chaptersProjection] }

describe.each(drivers)("chapter aggregate on %s", (driver) => {
  it("draft → pending_review → rejected → pending_review → approved; approving twice is refused", async () => {
    await withDomains(driver, options, (schema) => Effect.gen(function*() {
      const engine = yield* Engine
      const { instance } = yield* engine.start("chapter", { projectId: "book", chapterIndex: 2 }, { id: "book.2" })
      expect(instance.state).toBe("draft")

      // Nothing to approve yet.
      const early = yield* Effect.flip(engine.send("chapter", "book.2", { type: "APPROVE", summary: "too early" }))
      expect(early).toMatchObject({ _tag: "EventNotAccepted", accepted: ["SUBMIT"] })
      // A bad payload is refused by its schema.
      const bad = yield* Effect.flip(engine.send("chapter", "book.2", { type: "SUBMIT", contentHash: "nope", wordCount: 10 }))
      expect(bad).toMatchObject({ _tag: "InvalidEvent", field: "contentHash" })

      expect((yield* engine.send("chapter", "book.2", { type: "SUBMIT", contentHash: hash(1), wordCount: 1200, score: 8 })).state).toBe("pending_review")
      expect((yield* engine.send("chapter", "book.2", { type: "REJECT", feedback: "More tension." })).state).toBe("rejected")
      expect((yield* engine.send("chapter", "book.2", { type: "SUBMIT", contentHash: hash(2), wordCount: 1300 })).state).toBe("pending_review")
      const approved = yield* engine.send("chapter", "book.2", { type: "APPROVE", summary: "The storm breaks." })
      expect(approved).toMatchObject({ state: "approved", status: "done", output: { projectId: "book", chapterIndex: 2, contentHash: hash(2), wordCount: 1300, summary: "The storm breaks." } })

      const twice = yield* Effect.flip(engine.send("chapter", "book.2", { type: "APPROVE", summary: "again" }))
      expect(twice).toMatchObject({ _tag: "InstanceFinal", status: "done" })

      const history = yield* engine.history("chapter", "book.2")
      const domain = history.filter((entry) => entry.kind === "domain")
      expect(domain.map((entry) => entry.type)).toEqual(["chapter.submitted", "chapter.rejected", "chapter.submitted", "chapter.approved"])
      expect(domain[0]!.data).toEqual({ projectId: "book", chapterIndex: 2, contentHash: hash(1), wordCount: 1200, score: 8, submission: 1 })
      expect(domain[1]!.data).toEqual({ projectId: "book", chapterIndex: 2, contentHash: hash(1), feedback: "More tension." })
      expect(domain[3]!.data).toEqual({ projectId: "book", chapterIndex: 2, contentHash: hash(2), summary: "The storm breaks." })

      // The read model, directly and over HTTP.
      yield* (yield* Projections).caughtUp
      const db = yield* Database
      const rows = yield* Effect.promise(() => chaptersOf(db, schema, "book"))
      expect(rows).toEqual([
        expect.objectContaining({ chapterIndex: 2, status: "approved", chapter: "chapter-book.2", wordCount: 1300, contentHash: hash(2), submissions: 2, rejections: 1, summary: "The storm breaks.", feedback: "More tension." })
      ])
      const app = yield* routesApp(schema, chapterRoutes)
      const listed = yield* get(app, "/projects/book/chapters")
      expect(listed.status).toBe(200)
      expect(listed.body).toEqual({ projectId: "book", chapters: JSON.parse(JSON.stringify(rows)) })
      expect((yield* get(app, "/projects/nothing-here/chapters")).body).toEqual({ projectId: "nothing-here", chapters: [] })
      const refused = yield* get(app, "/projects/bad%20id/chapters")
      expect(refused.status).toBe(400)
      expect(refused.body).toEqual({ error: "ValidationError", message: expect.stringContaining("projectId"), details: { in: "params", field: "projectId", reason: expect.any(String) } })

      // Rebuilt from the log, the read model has the same rows.
      const before = yield* Effect.promise(() => db.query(`select * from ${schema}.writing_chapters order by project_id, chapter_index`))
      const rebuilt = yield* (yield* Projections).rebuild("chapters")
      expect(rebuilt.events).toBe(4)
      expect(yield* Effect.promise(() => db.query(`select * from ${schema}.writing_chapters order by project_id, chapter_index`))).toEqual(before)
    }))
  })
})

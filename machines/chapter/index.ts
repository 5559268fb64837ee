/**
 * Writing, part 1: the `chapter` aggregate and the `chapters` read model
 * (`GET /projects/{projectId}/chapters`). The `chapter-generation` saga
 * (sagas/chapter-generation) starts one `chapter` per generated chapter as its
 * child; register both domains together.
 */
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { type Domain, Engine } from "orrery"
import { startOnce, waitFor } from "../../sagas/shared/demo.js"
import { chapterWorkflow } from "./machine.js"
import { chapterRoutes, chaptersProjection } from "./read-model.js"

export { ChapterApproved, ChapterRejected, ChapterSubmitted } from "./events.js"
export { chapterMachine, chapterWorkflow, type ChapterContext, type ChapterOutput } from "./machine.js"
export { chapterRoutes, chaptersOf, chaptersProjection, chaptersTable, type ChapterRow } from "./read-model.js"

/** The aggregate has no settings of its own. */
export type ChapterConfig = Record<string, never>

export const configFromEnv = (_env: Readonly<Record<string, string | undefined>> = process.env): ChapterConfig => ({})

/**
 * A chapter reviewed by hand, without a saga: submitted, rejected with
 * feedback, resubmitted, approved; a second approval is refused.
 */
export const demo: Effect.Effect<void, unknown, Engine> = Effect.gen(function*() {
  const engine = yield* Engine
  const id = "demo-standalone.1"
  const draft = (text: string) => ({ contentHash: `sha256:${createHash("sha256").update(text).digest("hex")}`, wordCount: text.split(/\s+/).length })
  const started = yield* startOnce("chapter", id, { projectId: "demo-standalone", chapterIndex: 1 })
  if (started.status !== "running") return
  if (started.state === "draft") yield* engine.send("chapter", id, { type: "SUBMIT", ...draft("It was a dark and stormy night.") }, { actor: "demo" })
  const reviewed = yield* waitFor("chapter", id, (i) => i.state === "pending_review" || i.state === "rejected")
  if (reviewed.state === "pending_review" && (reviewed.context as { submissions: number }).submissions === 1) {
    yield* engine.send("chapter", id, { type: "REJECT", feedback: "Open with the lighthouse, not the weather." }, { actor: "demo" })
  }
  const now = yield* engine.get("chapter", id)
  if (now.state === "rejected") yield* engine.send("chapter", id, { type: "SUBMIT", ...draft("The lighthouse had been dark for eleven years.") }, { actor: "demo" })
  const again = yield* engine.get("chapter", id)
  if (again.state === "pending_review") yield* engine.send("chapter", id, { type: "APPROVE", summary: "The keeper returns to the dark lighthouse." }, { actor: "demo" })
  // Approving twice is refused (InstanceFinal): shown, not fatal.
  yield* engine.send("chapter", id, { type: "APPROVE", summary: "again" }).pipe(Effect.ignore)
})

export const domain = (_config: ChapterConfig = configFromEnv()): Domain => ({
  name: "chapter",
  workflows: [chapterWorkflow],
  projections: [chaptersProjection],
  services: Layer.empty as Layer.Layer<any, never, never>,
  routes: chapterRoutes,
  demo
})

/** The name the repository's orrery.config.ts lists it by. */
export const chapterDomain = domain

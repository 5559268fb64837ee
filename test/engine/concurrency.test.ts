/**
 * Concurrent writers on one instance: every input lands once, in some order,
 * on a gap-free stream; the losers of each race re-run on the fresh state.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { EventLog } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { withOrrery, withRestarts } from "../support/engine.js"
import { tallyWorkflow } from "./fixtures.js"

describe.each(drivers)("concurrent inputs on %s", (driver) => {
  it("applies 40 concurrent sends to one instance exactly once each", () =>
    withOrrery(driver, { workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
      const engine = yield* Engine
      const log = yield* EventLog
      yield* engine.start("tally", {}, { id: "t1" })
      yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => engine.send("tally", "t1", { type: "BUMP", by: `s${i}` }), {
        concurrency: "unbounded",
        discard: true
      })
      const final = yield* engine.get("tally", "t1")
      expect(final.context).toEqual({ count: 40 })
      const events = yield* log.readStream("tally-t1")
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1))
      const bumps = events.filter((e) => e.type === "test.bumped").map((e) => e.data as { by: string; count: number })
      expect(new Set(bumps.map((b) => b.by)).size).toBe(40)
      expect(bumps.map((b) => b.count)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    })))

  it("serialises two engines (two processes' caches) writing the same instance", () =>
    withRestarts(driver, (phase) =>
      phase({ workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
        const first = yield* Engine
        yield* first.start("tally", {}, { id: "t2" })
        // A second engine over the same database, with a cache of its own; they take turns, each one stale.
        yield* phase({ workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
          const second = yield* Engine
          for (let i = 0; i < 5; i++) {
            yield* second.send("tally", "t2", { type: "BUMP", by: `second-${i}` })
            yield* first.send("tally", "t2", { type: "BUMP", by: `first-${i}` })
          }
          expect((yield* second.get("tally", "t2")).context).toEqual({ count: 10 })
          const log = yield* EventLog
          const events = yield* log.readStream("tally-t2")
          expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1))
        }))
      }))
    ))
})

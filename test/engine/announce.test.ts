/**
 * A step's events wake the subscribers of their types: a read model sees an
 * instance's domain event as it is recorded, not at its next poll.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { EventLog, type RecordedEvent } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { withOrrery } from "../support/engine.js"
import { tallyWorkflow } from "./fixtures.js"

describe.each(drivers)("a step's events on %s", (driver) => {
  it("wake the subscribers of their types at once", async () => {
    await withOrrery(driver, { workflows: [tallyWorkflow] }, Effect.gen(function*() {
      const engine = yield* Engine
      const log = yield* EventLog
      const received: Array<RecordedEvent> = []
      // A poll of a minute: only a wake-up can deliver within the wait below.
      yield* log.subscribe("bumps", (event) => Effect.sync(() => received.push(event)), { types: ["test.bumped"], pollInterval: "60 seconds" })
      yield* engine.start("tally", {}, { id: "t1" })
      yield* engine.send("tally", "t1", { type: "BUMP", by: "ada" })
      const deadline = Date.now() + 30_000
      while (received.length === 0 && Date.now() < deadline) yield* Effect.sleep("10 millis")
      expect(received.map((event) => [event.type, event.data])).toEqual([["test.bumped", { by: "ada", count: 1 }]])
    }))
  })
})

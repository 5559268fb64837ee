/**
 * Replay re-derives what the engine recorded; a changed machine that would
 * behave differently is caught at the step where it diverges.
 */
import { Effect, Option, Result } from "effect"
import { describe, expect, it } from "vitest"
import { Engine, replay } from "../../src/engine/index.js"
import { EventLog } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"
import { Gateway, makePaymentMachine, paymentMachine, paymentWorkflow } from "./fixtures.js"

describe.each(drivers)("replay on %s", (driver) => {
  it("re-derives every state and domain event of a recorded saga, and catches a changed machine", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { snapshotEvery: 3 })] }, Effect.gen(function*() {
      const engine = yield* Engine
      const log = yield* EventLog
      yield* engine.start("payment", { amount: 7 }, { id: "r1" })
      yield* until(engine.get("payment", "r1"), (i) => i.state === "shipped")
      const final = yield* engine.send("payment", "r1", { type: "DELIVERED" })
      const history = yield* log.readStream("payment-r1")

      const replayed = Result.getOrThrow(replay(history, paymentMachine, { keepSteps: true }))
      expect(replayed.steps.map((s) => s.state)).toEqual(["charging", "shipping", "shipped", "delivered"])
      expect(replayed.snapshot!.context).toEqual(final.context)
      expect(replayed.steps[1]!.emitted).toEqual([{ type: "test.charged", amount: 7, chargeId: expect.any(String) }])

      // The same machine with another emit payload: replay stops at the step that changed.
      const diverged = replay(history, makePaymentMachine(60_000, "charges-zero"))
      expect(Result.isFailure(diverged)).toBe(true)
      if (Result.isFailure(diverged)) {
        expect(diverged.failure).toMatchObject({ _tag: "DeterminismError", step: 2, streamVersion: 4 })
        expect(diverged.failure.message).toContain("test.charged")
      }
      // A machine without the delivery transition diverges at the last input.
      const rejected = replay(history, makePaymentMachine(60_000, "never-delivers"))
      expect(Result.isFailure(rejected) ? rejected.failure.step : undefined).toBe(4)

      // From the saved snapshot onwards only the tail is folded, to the same end.
      // Saved after the third input (the shipment): only the delivery is left to fold.
      const snapshot = Option.getOrThrow(yield* log.loadLatestSnapshot("payment-r1"))
      const tail = Result.getOrThrow(replay(history, paymentMachine, { from: snapshot, keepSteps: true }))
      expect(tail.steps.map((s) => s.state)).toEqual(["delivered"])
      expect(tail.snapshot!.context).toEqual(final.context)
    })))
})

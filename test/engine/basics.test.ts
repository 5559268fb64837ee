import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"
import { Gateway, paymentWorkflow } from "./fixtures.js"

describe.each(drivers)("engine on %s", (driver) => {
  it("runs a saga through its activities to a final state, recording everything", async () => {
    const gateway = new Gateway()
    await withOrrery(driver, { workflows: [paymentWorkflow(gateway)] }, Effect.gen(function*() {
      const engine = yield* Engine
      const { instance, created } = yield* engine.start("payment", { amount: 42 }, { id: "p1" })
      expect(created).toBe(true)
      expect(instance).toMatchObject({ id: "p1", type: "payment", machineVersion: 1, status: "running", state: "charging" })
      const shipped = yield* until(engine.get("payment", "p1"), (i) => i.state === "shipped")
      expect(shipped.context).toMatchObject({ amount: 42, trackingId: expect.stringMatching(/^trk-ch_/) })
      const done = yield* engine.send("payment", "p1", { type: "DELIVERED" })
      expect(done.status).toBe("done")
      const history = yield* engine.history("payment", "p1")
      console.log(history.map((h) => `${h.streamVersion} ${h.kind} ${h.type}`).join("\n"))
      expect(history.filter((h) => h.kind === "domain").map((h) => h.type)).toEqual(["test.charged", "test.shipped"])
      expect([...gateway.charges.values()]).toEqual([1])
    }))
  })
})

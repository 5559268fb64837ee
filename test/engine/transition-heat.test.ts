/**
 * The heatmap's read model counts exactly the transitions the inputs recorded,
 * per workflow type (a type whose name has a "-" included), counts inputs
 * recorded without them as unrecorded, and rebuilds to the same counts.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import * as R from "../../src/engine/records.js"
import { EventLog, type RecordedEvent } from "../../src/log/index.js"
import { Projections } from "../../src/projections/projection.js"
import { transitionHeat, transitionHeatProjection } from "../../src/projections/transition-heat.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"
import { Gateway, paymentWorkflow } from "./fixtures.js"

/** What the histories say: one count per (source, event, target) of every input's recorded transitions. */
const countedFrom = (histories: ReadonlyArray<ReadonlyArray<RecordedEvent>>) => {
  const counts = new Map<string, number>()
  for (const history of histories) {
    for (const event of history) {
      if (event.metadata.kind !== "input") continue
      for (const [source, event_, ...targets] of event.metadata.transitions as Array<Array<string>>) {
        for (const target of targets.length === 0 ? [null] : targets) {
          const key = JSON.stringify([source, event_, target])
          counts.set(key, (counts.get(key) ?? 0) + 1)
        }
      }
    }
  }
  return counts
}

const countedFromHeat = (transitions: ReadonlyArray<{ source: string; event: string; target: string | null; count: number }>) =>
  new Map(transitions.map((t) => [JSON.stringify([t.source, t.event, t.target]), t.count]))

describe.each(drivers)("the transition heat read model on %s", (driver) => {
  it("counts the recorded transitions per type, the inputs without them as unrecorded, and rebuilds to the same counts", () =>
    withOrrery(
      driver,
      { workflows: [paymentWorkflow(new Gateway()), { ...paymentWorkflow(new Gateway()), type: "payment-plan" }], projections: [transitionHeatProjection] },
      Effect.gen(function*() {
        const engine = yield* Engine
        const log = yield* EventLog
        const projections = yield* Projections
        for (const id of ["a", "b", "c"]) yield* engine.start("payment", { amount: 5 }, { id })
        // The same machine under a type whose name reads like "payment" + an id with a dash.
        yield* engine.start("payment-plan", { amount: 5 }, { id: "x" })
        for (const id of ["a", "b", "c"]) yield* until(engine.get("payment", id), (i) => i.state === "shipped")
        yield* until(engine.get("payment-plan", "x"), (i) => i.state === "shipped")
        yield* engine.send("payment", "a", { type: "DELIVERED" })
        yield* engine.send("payment", "b", { type: "CANCEL", reason: "refused in shipped" }).pipe(Effect.exit)

        // A history from before transitions were recorded: inputs with a state and nothing else.
        yield* log.append("payment-old", "no_stream", [
          R.WorkflowStarted.make({ workflowType: "payment", instanceId: "old", machineVersion: 1, input: { amount: 1 } }, { metadata: { kind: "input", state: "charging" } }),
          R.EventReceived.make({ event: { type: "CANCEL", reason: "old" } }, { metadata: { kind: "input", state: "cancelled" } })
        ])
        yield* projections.caughtUp

        const histories = yield* Effect.forEach(["a", "b", "c"], (id) => log.readStream(`payment-${id}`))
        const heat = yield* transitionHeat("payment", "all")
        expect(countedFromHeat(heat.transitions)).toEqual(countedFrom(histories))
        expect(heat.transitions.find((t) => t.event === "DELIVERED")).toEqual({ source: "payment.shipped", event: "DELIVERED", target: "payment.delivered", count: 1 })
        expect(heat.unrecorded).toBe(2)
        expect(heat.since).toBeNull()

        const plan = yield* transitionHeat("payment-plan", "hour")
        expect(countedFromHeat(plan.transitions)).toEqual(countedFrom([yield* log.readStream("payment-plan-x")]))
        expect(plan.unrecorded).toBe(0)
        expect(Date.parse(plan.since!)).toBeLessThan(Date.now() - 59 * 60_000)
        expect((yield* transitionHeat("nothing", "day")).transitions).toEqual([])

        yield* projections.rebuild("transition-heat")
        expect(yield* transitionHeat("payment", "all")).toEqual(heat)
      })
    ))
})

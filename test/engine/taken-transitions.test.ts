/**
 * Each input the engine applies records the transitions it took
 * (`metadata.transitions`: `[source, event, ...targets]`), named as the
 * machine's graph names them; replay ignores them and folds to the same end.
 */
import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { assign, setup } from "xstate"
import { activityLogic, Engine, replay } from "../../src/engine/index.js"
import { activityResultEvent } from "../../src/engine/records.js"
import { type Invocables, nextStep, startStep, takenTransitions } from "../../src/engine/step.js"
import { graphOf } from "../../src/http/routes/machine-graph.js"
import { EventLog } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"
import { Gateway, paymentMachine, paymentWorkflow } from "./fixtures.js"

const invocables: Invocables = { isActivity: () => true, isWorkflow: () => false }

const machine = setup({
  types: {} as { context: { n: number }; events: { type: "GO" } | { type: "TICK" } | { type: "NEXT" } | { type: "NOOP" } },
  actors: { work: activityLogic<unknown, unknown>() }
}).createMachine({
  id: "m",
  initial: "idle",
  context: { n: 0 },
  states: {
    idle: { on: { GO: "checking", NOOP: { actions: assign({ n: ({ context }) => context.n + 1 }) } } },
    // Eventless: GO lands here and `always` moves on within the same input.
    checking: { always: [{ guard: ({ context }) => context.n > 99, target: "idle" }, { target: "working" }] },
    working: {
      invoke: { id: "job", src: "work", onDone: "nested", onError: "idle" },
      after: { 5000: "idle" }
    },
    nested: {
      initial: "a",
      states: {
        a: { on: { NEXT: "b" } },
        b: { type: "final" }
      },
      onDone: "both"
    },
    both: {
      type: "parallel",
      states: {
        left: { initial: "l1", states: { l1: { on: { TICK: "l2" } }, l2: {} } },
        right: { initial: "r1", states: { r1: { on: { TICK: "r2" } }, r2: {} } }
      }
    }
  }
})

const edgesOf = (graph: ReturnType<typeof graphOf>) => new Set(graph.transitions.flatMap((t) => (t.targets.length === 0 ? [`${t.source}|${t.event}|`] : t.targets.map((target) => `${t.source}|${t.event}|${target}`))))

describe("the transitions a step took", () => {
  it("names eventless, invoke done and error, after, nested and parallel transitions as the graph does, and none for a refused event", () => {
    const started = startStep(machine, undefined, invocables)
    expect(takenTransitions(started)).toEqual([])

    const go = nextStep(machine, started.snapshot, { type: "GO" }, invocables)!
    expect(takenTransitions(go)).toEqual([["m.idle", "GO", "m.checking"], ["m.checking", "", "m.working"]])

    const failed = nextStep(machine, go.snapshot, activityResultEvent("job@3", false, { _tag: "Boom" }), invocables)!
    expect(takenTransitions(failed)).toEqual([["m.working", "xstate.error.actor.job", "m.idle"]])

    const late = nextStep(machine, go.snapshot, { type: "xstate.after.5000.m.working" }, invocables)!
    expect(takenTransitions(late)).toEqual([["m.working", "xstate.after.5000.m.working", "m.idle"]])

    const done = nextStep(machine, go.snapshot, activityResultEvent("job@3", true, 1), invocables)!
    expect(takenTransitions(done)).toEqual([["m.working", "xstate.done.actor.job", "m.nested"]])

    // Reaching the nested final state raises the compound's done event within the same input.
    const next = nextStep(machine, done.snapshot, { type: "NEXT" }, invocables)!
    expect(takenTransitions(next)).toEqual([["m.nested.a", "NEXT", "m.nested.b"], ["m.nested", "xstate.done.state.m.nested", "m.both"]])

    // One event, one transition per parallel region.
    const tick = nextStep(machine, next.snapshot, { type: "TICK" }, invocables)!
    expect(takenTransitions(tick)).toEqual([["m.both.left.l1", "TICK", "m.both.left.l2"], ["m.both.right.r1", "TICK", "m.both.right.r2"]])

    // A targetless transition is taken and has no target; a refused event takes nothing.
    expect(takenTransitions(nextStep(machine, started.snapshot, { type: "NOOP" }, invocables)!)).toEqual([["m.idle", "NOOP"]])
    expect(nextStep(machine, started.snapshot, { type: "TICK" }, invocables)).toBeUndefined()

    // Every recorded transition is an edge of the machine's graph.
    const edges = edgesOf(graphOf(machine))
    for (const step of [go, failed, late, done, next, tick]) {
      for (const [source, event, ...targets] of takenTransitions(step)) {
        for (const target of targets) expect(edges.has(`${source}|${event}|${target}`)).toBe(true)
      }
    }
  })
})

describe.each(drivers)("recorded transitions on %s", (driver) => {
  it("are kept with every input, none with a refused event, and replay folds to the same end", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway())] }, Effect.gen(function*() {
      const engine = yield* Engine
      const log = yield* EventLog
      yield* engine.start("payment", { amount: 7 }, { id: "t1" })
      yield* until(engine.get("payment", "t1"), (i) => i.state === "shipped")
      // Refused: shipped takes no CANCEL.
      yield* Effect.exit(engine.send("payment", "t1", { type: "CANCEL", reason: "late" }))
      yield* engine.send("payment", "t1", { type: "DELIVERED" })

      const history = yield* log.readStream("payment-t1")
      const inputs = history.filter((event) => event.metadata.kind === "input")
      expect(inputs.map((event) => event.metadata.transitions)).toEqual([
        [],
        [["payment.charging", "xstate.done.actor.charge", "payment.shipping"]],
        [["payment.shipping", "xstate.done.actor.ship", "payment.shipped"]],
        [["payment.shipped", "DELIVERED", "payment.delivered"]]
      ])
      const replayed = Result.getOrThrow(replay(history, paymentMachine, { keepSteps: true }))
      expect(replayed.steps.map((step) => step.state)).toEqual(inputs.map((event) => event.metadata.state))
    })))
})

/**
 * The circuit breaker: opens after K consecutive failures, fails fast while
 * open, lets one trial through after the cool-down; and an activity behind it
 * sees CircuitOpen as a retryable failure, recorded like any attempt.
 */
import { Effect, Exit, Schedule, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow, Engine } from "../../src/engine/index.js"
import { makeCircuitBreaker } from "../../src/activities/circuit-breaker.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"

const failing = Effect.fail("down" as const)

describe("circuit breaker", () => {
  it("opens after K failures, fails fast, and closes after a successful trial", async () => {
    const breaker = makeCircuitBreaker({ failureThreshold: 3, cooldown: "100 millis" })
    let calls = 0
    const call = (ok: boolean) => breaker.protect("llm", Effect.suspend(() => (calls++, ok ? Effect.succeed("fine") : failing)))
    for (let i = 0; i < 3; i++) expect(Exit.isFailure(await Effect.runPromiseExit(call(false)))).toBe(true)
    expect(breaker.state("llm")).toBe("open")
    const fast = await Effect.runPromiseExit(call(true))
    expect(fast).toMatchObject({ _tag: "Failure" })
    expect(JSON.stringify(fast)).toContain("CircuitOpen")
    expect(calls).toBe(3)
    // Other dependencies are not affected.
    expect(await Effect.runPromise(breaker.protect("images", Effect.succeed(1)))).toBe(1)

    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(breaker.state("llm")).toBe("half_open")
    expect(await Effect.runPromise(call(true))).toBe("fine")
    expect(breaker.state("llm")).toBe("closed")
    expect(breaker.states()).toEqual([{ dependency: "llm", state: "closed" }, { dependency: "images", state: "closed" }])
  })

  it("does not count business answers as outages", async () => {
    const breaker = makeCircuitBreaker({ failureThreshold: 2, cooldown: "10 seconds" })
    const declined = Effect.fail({ _tag: "PaymentDeclined" as const })
    const isOutage = (error: { _tag: string }) => error._tag !== "PaymentDeclined"
    for (let i = 0; i < 5; i++) await Effect.runPromiseExit(breaker.protect("payments", declined, isOutage))
    expect(breaker.state("payments")).toBe("closed")
    await Effect.runPromiseExit(breaker.protect("payments", Effect.fail({ _tag: "Unavailable" }), isOutage))
    await Effect.runPromiseExit(breaker.protect("payments", declined, isOutage))
    // A decline in between proves the dependency answers: the count starts again.
    await Effect.runPromiseExit(breaker.protect("payments", Effect.fail({ _tag: "Unavailable" }), isOutage))
    expect(breaker.state("payments")).toBe("closed")
  })

  it("re-opens when the trial fails", async () => {
    const breaker = makeCircuitBreaker({ failureThreshold: 1, cooldown: "50 millis" })
    await Effect.runPromiseExit(breaker.protect("x", failing))
    await new Promise((resolve) => setTimeout(resolve, 60))
    await Effect.runPromiseExit(breaker.protect("x", failing))
    expect(breaker.state("x")).toBe("open")
  })
})

describe.each(drivers)("an activity behind an open circuit on %s", (driver) => {
  it("retries through CircuitOpen and records every attempt", () => {
    let calls = 0
    const workflow = defineWorkflow({
      type: "caller",
      version: 1,
      kind: "saga",
      machine: setup({ actors: { call: activityLogic() } }).createMachine({
        id: "caller",
        initial: "calling",
        states: { calling: { invoke: { id: "call", src: "call", onDone: "done", onError: "gaveUp" } }, done: { type: "final" }, gaveUp: { type: "final" } }
      }),
      events: { input: Schema.Struct({}), accepts: {}, emits: [] },
      activities: {
        call: defineActivity({
          run: () => Effect.suspend(() => (calls++, Effect.fail({ _tag: "Unavailable", message: "503" }))),
          dependency: "upstream",
          retry: Schedule.max([Schedule.spaced("20 millis"), Schedule.recurs(5)]) as Schedule.Schedule<unknown, unknown>
        })
      }
    })
    return withOrrery(driver, { workflows: [workflow], circuitBreaker: { failureThreshold: 2, cooldown: "10 seconds" } }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("caller", {}, { id: "c1" })
      const done = yield* until(engine.get("caller", "c1"), (i) => i.status === "done")
      expect(done.state).toBe("gaveUp")
      // Two real calls opened the circuit; the other four attempts failed fast without calling.
      expect(calls).toBe(2)
      const history = yield* engine.history("caller", "c1")
      const attempts = history.filter((e) => e.type === "activity.attempt_failed").map((e) => (e.data as { error: { _tag: string } }).error._tag)
      expect(attempts).toEqual(["Unavailable", "Unavailable", "CircuitOpen", "CircuitOpen", "CircuitOpen", "CircuitOpen"])
      expect(history.find((e) => e.type === "activity.failed")!.data).toMatchObject({ attempts: 6, error: { _tag: "CircuitOpen" } })
    }))
  })
})

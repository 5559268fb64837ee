/**
 * The circuit breaker, shared by every worker on the database: one row per
 * dependency counts consecutive failures, opens at the threshold, lets exactly
 * one trial call through when half open (whatever the number of breakers
 * asking at once), and closes on its success. An activity whose call the
 * circuit refuses spends no attempt: its task waits, due when the trial may go.
 */
import { Deferred, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow, Engine, OrrerySchema } from "../../src/engine/index.js"
import { Database, type DatabaseShape } from "../../src/log/index.js"
import { TestClock } from "effect/testing"
import { type CircuitBreakerOptions, makeCircuitBreaker } from "../../src/activities/circuit-breaker.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"

const failing = Effect.fail({ _tag: "Unavailable" as const })

/** `n` breakers on one database (the engine's tables migrated by an Orrery without a worker), as `n` workers would have. */
const withBreakers = <A>(driver: (typeof drivers)[number], n: number, options: CircuitBreakerOptions, body: (breakers: ReadonlyArray<Effect.Success<ReturnType<typeof makeCircuitBreaker>>>) => Effect.Effect<A, unknown, any>) =>
  withOrrery(driver, { workflows: [], worker: false }, Effect.gen(function*() {
    const breakers = []
    for (let i = 0; i < n; i++) breakers.push(yield* makeCircuitBreaker(options))
    return yield* body(breakers)
  }))

describe.each(drivers)("the shared circuit breaker on %s", (driver) => {
  it("is one circuit for every breaker on the database: failures add up, all see it open, one trial closes it", () =>
    withBreakers(driver, 3, { failureThreshold: 3, cooldown: "300 millis" }, ([a, b, c]) =>
      Effect.gen(function*() {
        let calls = 0
        const call = (breaker: typeof a, ok: boolean) => breaker!.protect("llm", Effect.suspend(() => (calls++, ok ? Effect.succeed("fine") : failing)))
        yield* Effect.exit(call(a, false))
        yield* Effect.exit(call(b, false))
        expect(yield* c!.state("llm")).toMatchObject({ state: "closed", failures: 2 })
        yield* Effect.exit(call(c, false))
        // Three failures from three breakers: open for all of them.
        for (const breaker of [a, b, c]) expect(yield* breaker!.state("llm")).toMatchObject({ state: "open", failures: 3 })
        const refused = yield* Effect.exit(call(a, true))
        expect(Exit.isFailure(refused) && JSON.stringify(refused)).toContain("CircuitOpen")
        expect(calls).toBe(3)
        // Other dependencies are not affected.
        expect(yield* b!.protect("images", Effect.succeed(1))).toBe(1)

        yield* until(c!.state("llm"), (view) => view.state === "half_open", 10_000)
        expect(yield* call(b, true)).toBe("fine")
        expect(yield* a!.state("llm")).toMatchObject({ state: "closed", failures: 0, openUntil: null, trialUntil: null, transitions: { open: 1, half_open: 1, closed: 1 } })
        expect((yield* c!.states).map((view) => [view.dependency, view.state])).toEqual([["images", "closed"], ["llm", "closed"]])
      })
    ))

  it("clears counted failures on a success; successes on a healthy circuit leave it as it was", () =>
    withOrrery(driver, { workflows: [], worker: false }, Effect.gen(function*() {
      const [a, b] = [yield* makeCircuitBreaker({ failureThreshold: 3 }), yield* makeCircuitBreaker({ failureThreshold: 3 })]
      const db = yield* Database
      const { name } = yield* OrrerySchema
      const written = () => Effect.promise(() => db.query<{ at: string }>(`select updated_at::text as at from ${name}.circuits where dependency = 'mail'`))
      yield* Effect.exit(a!.protect("mail", failing))
      yield* Effect.exit(b!.protect("mail", failing))
      expect(yield* a!.state("mail")).toMatchObject({ state: "closed", failures: 2 })
      expect(yield* b!.protect("mail", Effect.succeed("sent"))).toBe("sent")
      expect(yield* a!.state("mail")).toMatchObject({ state: "closed", failures: 0 })
      const cleared = yield* written()
      for (let i = 0; i < 5; i++) expect(yield* a!.protect("mail", Effect.succeed(i))).toBe(i)
      expect(yield* written()).toEqual(cleared)
      // A failure after them still counts from zero.
      yield* Effect.exit(a!.protect("mail", failing))
      expect(yield* b!.state("mail")).toMatchObject({ state: "closed", failures: 1 })
    })))

  it("trusts a healthy circuit without reading it on every call, and reads it again when another breaker counts a failure", () =>
    withOrrery(driver, { workflows: [], worker: false }, Effect.gen(function*() {
      const db = yield* Database
      let reads = 0
      const counted: DatabaseShape = { ...db, query: (text, params) => (reads++, db.query(text, params)) }
      const a = yield* makeCircuitBreaker({ failureThreshold: 2, cooldown: "1 minute" })
      const b = yield* makeCircuitBreaker({ failureThreshold: 2, cooldown: "1 minute" }).pipe(Effect.provideService(Database, counted))
      // b's clock stands still: its trust in the healthy circuit never runs out by itself, only a heard failure ends it.
      const still = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(TestClock.layer()))
      expect(yield* still(b.protect("search", Effect.succeed(0)))).toBe(0)
      const afterFirst = reads
      for (let i = 1; i <= 20; i++) expect(yield* still(b.protect("search", Effect.succeed(i)))).toBe(i)
      expect(reads).toBe(afterFirst)
      yield* Effect.exit(a.protect("search", failing))
      yield* Effect.exit(a.protect("search", failing))
      expect(yield* a.state("search")).toMatchObject({ state: "open", failures: 2 })
      const refused = yield* until(still(b.admit("search")), (admission) => admission._tag === "Refused", 10_000)
      expect(refused).toMatchObject({ _tag: "Refused", dependency: "search" })
    })))

  it("lets exactly one trial through when half open, however many callers ask at once", () =>
    withBreakers(driver, 4, { failureThreshold: 1, cooldown: "200 millis" }, (breakers) =>
      Effect.gen(function*() {
        yield* Effect.exit(breakers[0]!.protect("payments", failing))
        yield* until(breakers[0]!.state("payments"), (view) => view.state === "half_open", 10_000)
        let calls = 0
        let refused = 0
        // 40 callers on 4 breakers at once. The trial holds until the 39 others have been answered, however
        // slow the machine: each of them asked while it was in flight. (Should a second call get through, it
        // waits too; the latch gives up after 10 s so that the count below fails instead of hanging.)
        const othersAnswered = yield* Deferred.make<void>()
        const trial = Effect.suspend(() => {
          calls++
          return Deferred.await(othersAnswered).pipe(Effect.timeoutOption("10 seconds"), Effect.as("ok"))
        })
        const exits = yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => breakers[i % 4]!),
          (breaker) =>
            Effect.exit(breaker.protect("payments", trial)).pipe(
              Effect.tap((exit) => (Exit.isFailure(exit) && ++refused === 39 ? Deferred.succeed(othersAnswered, undefined) : Effect.void))
            ),
          { concurrency: "unbounded" }
        )
        expect(calls).toBe(1)
        expect(exits.filter(Exit.isSuccess)).toHaveLength(1)
        const refusals = exits.filter(Exit.isFailure).map((exit) => JSON.stringify(exit.cause))
        expect(refusals).toHaveLength(39)
        for (const refusal of refusals) expect(refusal).toContain("CircuitOpen")
        expect(yield* breakers[3]!.state("payments")).toMatchObject({ state: "closed", transitions: { open: 1, half_open: 1, closed: 1 } })
      })
    ))

  it("does not count business answers as outages", () =>
    withBreakers(driver, 2, { failureThreshold: 2, cooldown: "10 seconds" }, ([a, b]) =>
      Effect.gen(function*() {
        const declined = Effect.fail({ _tag: "PaymentDeclined" as const })
        const isOutage = (error: { _tag: string }) => error._tag !== "PaymentDeclined"
        for (let i = 0; i < 5; i++) yield* Effect.exit(a!.protect("payments", declined, isOutage))
        expect(yield* b!.state("payments")).toMatchObject({ state: "closed", failures: 0 })
        yield* Effect.exit(a!.protect("payments", Effect.fail({ _tag: "Unavailable" }), isOutage))
        // A decline in between proves the dependency answers: the count starts again.
        yield* Effect.exit(b!.protect("payments", declined, isOutage))
        yield* Effect.exit(a!.protect("payments", Effect.fail({ _tag: "Unavailable" }), isOutage))
        expect(yield* b!.state("payments")).toMatchObject({ state: "closed", failures: 1 })
      })
    ))

  it("re-opens when the trial fails, and an interrupted trial lets another go", () =>
    withBreakers(driver, 2, { failureThreshold: 1, cooldown: "100 millis" }, ([a, b]) =>
      Effect.gen(function*() {
        yield* Effect.exit(a!.protect("x", failing))
        yield* until(a!.state("x"), (view) => view.state === "half_open", 10_000)
        yield* Effect.exit(b!.protect("x", failing))
        expect(yield* a!.state("x")).toMatchObject({ state: "open", failures: 2, transitions: { open: 2, half_open: 1 } })
        yield* until(a!.state("x"), (view) => view.state === "half_open", 10_000)
        // A trial cut short (a shutdown) says nothing about the dependency: its lease goes at once.
        const trial = yield* Effect.forkChild(a!.protect("x", Effect.never))
        yield* until(a!.state("x"), (view) => view.trialUntil !== null, 10_000)
        expect(Exit.isFailure(yield* Effect.exit(b!.protect("x", Effect.succeed(1))))).toBe(true)
        yield* Fiber.interrupt(trial)
        expect(yield* a!.state("x")).toMatchObject({ state: "half_open", failures: 2, trialUntil: null })
        expect(yield* b!.protect("x", Effect.succeed(1))).toBe(1)
        expect(yield* a!.state("x")).toMatchObject({ state: "closed", failures: 0 })
      })
    ))
})

describe.each(drivers)("an activity behind an open circuit on %s", (driver) => {
  it("waits for the circuit instead of spending attempts, shows what it waits for, and succeeds on the trial", () => {
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
          // Down for the first two calls, up after.
          run: () => Effect.suspend(() => (++calls <= 2 ? Effect.fail({ _tag: "Unavailable", message: "503" }) : Effect.succeed({ ok: true }))),
          dependency: "upstream",
          // Three attempts in all: spent on refusals, the budget would run out before the circuit half-opens.
          retry: Schedule.max([Schedule.spaced("20 millis"), Schedule.recurs(2)]) as Schedule.Schedule<unknown, unknown>
        })
      }
    })
    return withOrrery(driver, { workflows: [workflow], circuitBreaker: { failureThreshold: 2, cooldown: "1500 millis" } }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("caller", {}, { id: "c1" })
      // Two real calls opened the circuit; the third attempt was refused without a call, and the task waits.
      const [waiting] = yield* until(engine.pending("caller", "c1"), (tasks) => tasks[0]?.waitingFor !== undefined)
      expect(waiting).toMatchObject({ kind: "activity", lockedBy: null, attempts: 2, waitingFor: { circuit: "upstream", trialAt: expect.any(Date) } })
      expect(waiting!.waitingFor!.trialAt.getTime()).toBe(waiting!.dueAt.getTime())
      expect(calls).toBe(2)
      expect((yield* engine.get("caller", "c1")).state).toBe("calling")

      const done = yield* until(engine.get("caller", "c1"), (i) => i.status === "done")
      expect(done.state).toBe("done")
      expect(calls).toBe(3)
      const history = yield* engine.history("caller", "c1")
      const attempts = history.filter((e) => e.type === "activity.attempt_failed").map((e) => (e.data as { error: { _tag: string } }).error._tag)
      expect(attempts).toEqual(["Unavailable", "Unavailable"])
      expect(history.find((e) => e.type === "activity.completed")!.data).toMatchObject({ attempts: 3 })
      expect(history.some((e) => JSON.stringify(e.data).includes("CircuitOpen"))).toBe(false)
    }))
  })
})

/**
 * Engine bugs found by the domain and differential work, kept fixed.
 */
import { Effect, Fiber, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { type AnyStateMachine, assign, sendParent, sendTo, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow, Engine, EngineRuntime, orreryLayer } from "../../src/engine/index.js"
import type { TaskRow } from "../../src/engine/store.js"
import type { ActivityTask } from "../../src/engine/task-payloads.js"
import { Database, type DatabaseShape } from "../../src/log/index.js"
import { databaseLayer, drivers, freshSchema } from "../support/drivers.js"
import { Gateway, paymentWorkflow, tallyWorkflow } from "./fixtures.js"

const paymentWorkflowForCounts = paymentWorkflow(new Gateway())
import { until, withOrrery } from "../support/engine.js"

const pinged = defineWorkflow({
  type: "pinged",
  version: 1,
  kind: "aggregate",
  machine: setup({ types: {} as { context: { pings: number } } }).createMachine({
    id: "pinged",
    context: { pings: 0 },
    initial: "idle",
    states: { idle: { on: { PING: { actions: [assign({ pings: ({ context }) => context.pings + 1 }), sendParent({ type: "PONG" })] } } } }
  }),
  events: { input: Schema.Struct({}), accepts: {}, emits: [] },
  activities: {}
})

const pinger = (fromRootEntry: boolean) =>
  defineWorkflow({
    type: "pinger",
    version: 1,
    kind: "saga",
    machine: setup({ actors: { pinged: activityLogic() } }).createMachine({
      id: "pinger",
      invoke: { id: "child", src: "pinged", input: {} },
      initial: "waiting",
      ...(fromRootEntry ? { entry: sendTo("child", { type: "PING" }) } : {}),
      states: {
        waiting: { ...(fromRootEntry ? {} : { entry: sendTo("child", { type: "PING" }) }), on: { PONG: "ponged" } },
        ponged: { type: "final" }
      }
    }),
    events: { input: Schema.Struct({}), accepts: {}, emits: [] },
    activities: {}
  })

const steps = 12
const chainStates: Record<string, unknown> = { done: { type: "final" } }
for (let i = 0; i < steps; i++) {
  chainStates[`s${i}`] = { invoke: { id: `step${i}`, src: "step", input: { i }, onDone: i + 1 < steps ? `s${i + 1}` : "done" } }
}
const chain = defineWorkflow({
  type: "chain",
  version: 1,
  kind: "saga",
  machine: setup({ actors: { step: activityLogic() } }).createMachine({ id: "chain", initial: "s0", states: chainStates as never }) as unknown as AnyStateMachine,
  events: { input: Schema.Struct({}), accepts: {}, emits: [] },
  activities: { step: defineActivity({ run: () => Effect.succeed({ ok: true }) }) }
})

describe.each(drivers)("engine regressions on %s", (driver) => {
  it.each([false, true])("a message sent to a child as it is invoked reaches it (sent from the root's entry: %s)", (fromRoot) =>
    withOrrery(driver, { workflows: [pinged, pinger(fromRoot)] }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("pinger", {}, { id: "p" })
      const parent = yield* until(engine.get("pinger", "p"), (i) => i.status === "done")
      expect(parent.state).toBe("ponged")
      expect((yield* engine.get("pinged", "p.child")).context).toEqual({ pings: 1 })
    })))

  it("says why a machine could not start", () =>
    withOrrery(driver, { workflows: [pinger(false)] }, Effect.gen(function*() {
      const engine = yield* Engine
      const error = yield* engine.start("pinger", {}).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "InvalidEvent" })
      expect(error.message).toContain("pinged")
    })))

  it("never drops an activity result because a reader cached an older state", () =>
    withOrrery(driver, { workflows: [chain] }, Effect.gen(function*() {
      const engine = yield* Engine
      const ids = Array.from({ length: 10 }, (_, i) => `c${i}`)
      for (const id of ids) yield* engine.start("chain", {}, { id })
      const readers = yield* Effect.forkChild(
        Effect.forEach(ids, (id) => Effect.forever(engine.get("chain", id).pipe(Effect.ignore)), { concurrency: "unbounded" })
      )
      const finished = yield* until(
        Effect.forEach(ids, (id) => engine.get("chain", id)),
        (views) => views.every((view) => view.status === "done"),
        30_000
      )
      yield* Fiber.interrupt(readers)
      expect(finished.map((view) => view.state)).toEqual(ids.map(() => "done"))
      for (const id of ids) {
        const history = yield* engine.history("chain", id)
        expect(history.filter((entry) => entry.type === "activity.ignored")).toEqual([])
      }
    })))

  it("loads the instances of the activities a worker claims in one statement, not one per activity", () => {
    const schema = freshSchema()
    return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const database = yield* Layer.build(databaseLayer(driver, schema))
      const engineOn = (db: Layer.Layer<Database>) => orreryLayer({ workflows: [chain], schema, worker: false }).pipe(Layer.provideMerge(db), Layer.orDie)
      // Started by an API process with no worker: their first activities wait to be claimed.
      const ids = ["a", "b", "c", "d", "e"]
      yield* Effect.scoped(Effect.gen(function*() {
        const engine = yield* Engine
        for (const id of ids) yield* engine.start("chain", {}, { id })
      }).pipe(Effect.provide(engineOn(Layer.succeedContext(database)))))
      // A worker in another process: none of these instances in its memory, every statement it sends seen.
      const seen: Array<string> = []
      const counted = Layer.effect(Database, Effect.map(Database, (db): DatabaseShape => ({
        ...db,
        query: (text, params) => {
          seen.push(text)
          return db.query(text, params)
        }
      }))).pipe(Layer.provide(Layer.succeedContext(database)))
      yield* Effect.scoped(Effect.gen(function*() {
        const runtime = yield* EngineRuntime
        const engine = yield* Engine
        const db = yield* Database
        const rows = yield* Effect.promise(() => db.query<TaskRow>(runtime.statements.claim, ["w1", 10, 30_000, new Date().toISOString()]))
        expect(rows.map((row) => row.instance_id).sort()).toEqual(ids)
        const tasks = yield* runtime.admit(rows, "w1")
        for (const task of tasks) {
          yield* runtime.completeActivity(task as ActivityTask, "w1", { ok: true, value: { ok: true }, attempts: 1, durationMs: 1 })
        }
        const sent = (statement: string) => seen.filter((text) => text === statement).length
        expect({ together: sent(runtime.statements.loadInstances), each: sent(runtime.statements.loadInstance) }).toEqual({ together: 1, each: 0 })
        // Every result was recorded on the instance as it was loaded: each went on to its next step.
        for (const id of ids) expect((yield* engine.get("chain", id)).state).toBe("s1")
      }).pipe(Effect.provide(engineOn(counted))))
    })))
  })

  it("keeps the worker working after its database answered with an error that is nobody's fault (XX000), not only a lost connection", async () => {
    const schema = freshSchema()
    const failing = { on: false, failed: 0 }
    const broken = (): Promise<never> => {
      failing.failed++
      return Promise.reject(Object.assign(new Error("internal error in the storage"), { code: "XX000" }))
    }
    const flakyDatabase = Layer.effect(
      Database,
      Effect.map(Database, (db): DatabaseShape => ({
        ...db,
        query: (text, params) => (failing.on ? broken() : db.query(text, params)),
        exec: (text) => (failing.on ? broken() : db.exec(text)),
        transaction: (work) => (failing.on ? broken() : db.transaction(work))
      }))
    ).pipe(Layer.provide(databaseLayer(driver, schema)))
    const orrery = orreryLayer({ workflows: [chain], schema, worker: { pollMs: 50 } }).pipe(Layer.provideMerge(flakyDatabase), Layer.orDie)
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const engine = yield* Engine
      failing.on = true
      // The worker polls on its own: let it meet the error a few times.
      yield* until(Effect.sync(() => failing.failed), (failed) => failed >= 3, 30_000)
      failing.on = false
      yield* engine.start("chain", {}, { id: "after-the-error" })
      const done = yield* until(engine.get("chain", "after-the-error"), (view) => view.status === "done", 30_000)
      expect(done.state).toBe("done")
    }).pipe(Effect.provide(orrery))))
  })

  it("refuses an event named like an Object method, and NUL in list filters, as typed errors", () =>
    withOrrery(driver, { workflows: [tallyWorkflow], worker: false }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("tally", {}, { id: "t" })
      expect(yield* engine.send("tally", "t", { type: "toString" }).pipe(Effect.flip)).toMatchObject({ _tag: "EventNotAccepted", eventType: "toString" })
      expect(yield* engine.list({ state: "a\u0000b" }).pipe(Effect.flip)).toMatchObject({ _tag: "InvalidEvent", field: "state" })
    })))

  it("counts every instance's tasks by kind and state", () =>
    withOrrery(driver, { workflows: [paymentWorkflowForCounts], worker: false }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("payment", { amount: 1 }, { id: "counted" })
      const counts = yield* engine.taskCounts
      expect(counts).toEqual([
        { kind: "activity", scheduled: 0, due: 1, late: 0, leased: 0 },
        { kind: "timer", scheduled: 1, due: 0, late: 0, leased: 0 }
      ])
    })))
})

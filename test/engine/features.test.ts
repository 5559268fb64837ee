/**
 * The engine's behaviour, end to end on both drivers: timers, cancellation,
 * child sagas, versions, typed refusals, retries of failed activities,
 * idempotent starts and listing.
 */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery, withRestarts } from "../support/engine.js"
import { Gateway, checkoutWorkflow, fragileWorkflow, paymentWorkflow } from "./fixtures.js"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure.error
}

const types = (history: ReadonlyArray<{ type: string }>) => history.map((entry) => entry.type)

describe.each(drivers)("engine features on %s", (driver) => {
  it("fires a timer when its state is still active and ignores the late activity result", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { slowMs: 1_500, paymentWindowMs: 200 })] }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("payment", { amount: 10 }, { id: "slow" })
      const cancelled = yield* until(engine.get("payment", "slow"), (i) => i.state === "cancelled")
      expect(cancelled.status).toBe("done")
      const history = yield* until(engine.history("payment", "slow"), (h) => types(h).includes("activity.ignored"), 10_000)
      const fired = history.find((entry) => entry.type === "timer.fired")!
      expect(fired.kind).toBe("input")
      expect(fired.data).toMatchObject({ timerId: "xstate.after.paymentWindow.payment.charging" })
      const dueAt = Date.parse((fired.data as { dueAt: string }).dueAt)
      // Fired within a second of its due time.
      expect(fired.time.getTime() - dueAt).toBeLessThan(1_000)
      expect(history.filter((e) => e.kind === "domain").map((e) => e.data)).toEqual([{ reason: "timeout" }])
      expect(history.find((e) => e.type === "activity.ignored")!.data).toMatchObject({ src: "charge", outcome: "completed" })
    })))

  it("never fires a timer whose state was left", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { paymentWindowMs: 400 })] }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("payment", { amount: 10 }, { id: "quick" })
      yield* until(engine.get("payment", "quick"), (i) => i.state === "shipped")
      yield* Effect.sleep("900 millis")
      const history = yield* engine.history("payment", "quick")
      expect(types(history)).not.toContain("timer.fired")
      expect(types(history)).toContain("timer.cancelled")
      expect((yield* engine.get("payment", "quick")).state).toBe("shipped")
      expect(yield* engine.pending("payment", "quick")).toEqual([])
    })))

  it("keeps timers across a restart and fires them with a worker up", () =>
    withRestarts(driver, (phase) => Effect.gen(function*() {
      const workflows = [paymentWorkflow(new Gateway(), { slowMs: 5_000, paymentWindowMs: 700 })]
      // No worker: the instance is recorded with its timer, then the process "stops".
      yield* phase({ workflows, worker: false }, Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("payment", { amount: 3 }, { id: "restart" })
        const pending = yield* engine.pending("payment", "restart")
        expect(pending.map((t) => t.kind).sort()).toEqual(["activity", "timer"])
      }))
      yield* phase({ workflows, worker: { pollMs: 100 } }, Effect.gen(function*() {
        const engine = yield* Engine
        const done = yield* until(engine.get("payment", "restart"), (i) => i.state === "cancelled")
        expect(done.context).toMatchObject({ amount: 3 })
      }))
    })))

  it("cancels an instance, drops its tasks and refuses what comes after", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { slowMs: 2_000 })] }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("payment", { amount: 10 }, { id: "c1" })
      const cancelled = yield* engine.cancel("payment", "c1", "customer changed their mind")
      expect(cancelled).toMatchObject({ status: "cancelled", state: "charging", failure: { reason: "customer changed their mind" } })
      expect(yield* engine.pending("payment", "c1")).toEqual([])
      expect(failureOf(yield* Effect.exit(engine.cancel("payment", "c1", "again")))).toMatchObject({ _tag: "InstanceFinal", status: "cancelled" })
      expect(failureOf(yield* Effect.exit(engine.send("payment", "c1", { type: "CANCEL", reason: "x" })))).toMatchObject({ _tag: "InstanceFinal" })
      const history = yield* engine.history("payment", "c1")
      expect(history.at(-1)).toMatchObject({ type: "workflow.cancelled", data: { reason: "customer changed their mind" } })
    })))

  it("runs a child saga and hands its output to the parent", () => {
    const gateway = new Gateway()
    return withOrrery(driver, { workflows: [paymentWorkflow(gateway), checkoutWorkflow] }, Effect.gen(function*() {
      const engine = yield* Engine
      const { instance } = yield* engine.start("checkout", { amount: 25 }, { id: "basket" })
      expect(instance.children).toEqual({ pay: { workflowType: "payment", instanceId: "basket.pay" } })
      yield* until(engine.get("payment", "basket.pay").pipe(Effect.option), (found) => found._tag === "Some")
      const child = yield* until(engine.get("payment", "basket.pay"), (i) => i.state === "shipped")
      expect(child.parent).toEqual({ workflowType: "checkout", instanceId: "basket", invokeId: "pay" })
      yield* engine.send("payment", "basket.pay", { type: "DELIVERED" })
      const parent = yield* until(engine.get("checkout", "basket"), (i) => i.status === "done")
      expect(parent.state).toBe("done")
      expect(parent.context).toMatchObject({ trackingId: expect.stringMatching(/^trk-/) })
      const history = yield* engine.history("checkout", "basket")
      expect(types(history)).toEqual(["workflow.started", "child.requested", "message.received", "test.checkout_done"])
    }))
  })

  it("cancels a running child when its parent is cancelled", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { slowMs: 3_000 }), checkoutWorkflow] }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("checkout", { amount: 25 }, { id: "basket2" })
      yield* until(engine.get("payment", "basket2.pay").pipe(Effect.option), (child) => child._tag === "Some")
      yield* engine.cancel("checkout", "basket2", "no longer needed")
      const child = yield* until(engine.get("payment", "basket2.pay"), (i) => i.status === "cancelled")
      expect(child.failure).toMatchObject({ reason: expect.stringContaining("no longer needed") })
    })))

  it("refuses bad input with typed errors and writes nothing", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { slowMs: 2_000 })] }, Effect.gen(function*() {
      const engine = yield* Engine
      expect(failureOf(yield* Effect.exit(engine.start("payment", { amount: -1 })))).toMatchObject({ _tag: "InvalidEvent", field: "amount" })
      expect(failureOf(yield* Effect.exit(engine.start("nope", {})))).toMatchObject({ _tag: "WorkflowNotFound", workflowType: "nope" })
      expect(failureOf(yield* Effect.exit(engine.start("payment", { amount: 1 }, { id: "bad id!" })))).toMatchObject({ _tag: "InvalidEvent", field: "id" })
      expect(failureOf(yield* Effect.exit(engine.get("payment", "ghost")))).toMatchObject({ _tag: "InstanceNotFound" })

      yield* engine.start("payment", { amount: 5 }, { id: "e1" })
      const before = (yield* engine.history("payment", "e1")).length
      expect(failureOf(yield* Effect.exit(engine.send("payment", "e1", { type: "DELIVERED" })))).toMatchObject({
        _tag: "EventNotAccepted",
        eventType: "DELIVERED",
        state: "charging",
        accepted: ["CANCEL"]
      })
      expect(failureOf(yield* Effect.exit(engine.send("payment", "e1", { type: "TELEPORT" })))).toMatchObject({ _tag: "EventNotAccepted", accepted: ["CANCEL"] })
      expect(failureOf(yield* Effect.exit(engine.send("payment", "e1", { type: "CANCEL", reason: 5 })))).toMatchObject({ _tag: "InvalidEvent", eventType: "CANCEL", field: "reason" })
      expect(failureOf(yield* Effect.exit(engine.send("payment", "e1", { reason: "no type" })))).toMatchObject({ _tag: "InvalidEvent", field: "type" })
      expect((yield* engine.history("payment", "e1")).length).toBe(before)
      expect(failureOf(yield* Effect.exit(engine.start("payment", { amount: 5 }, { id: "e1" })))).toMatchObject({ _tag: "InstanceExists" })
    })))

  it("marks an instance failed on an activity error with no onError, and retry runs it again", () => {
    const upstream = { failuresLeft: 1, calls: 0 }
    return withOrrery(driver, { workflows: [fragileWorkflow(upstream)] }, Effect.gen(function*() {
      const engine = yield* Engine
      yield* engine.start("fragile", {}, { id: "f1" })
      const failed = yield* until(engine.get("fragile", "f1"), (i) => i.status === "failed")
      expect(failed.state).toBe("calling")
      expect(failed.failure).toMatchObject({ reason: expect.stringContaining("no onError"), activity: { src: "call", error: { _tag: "Outage", service: "upstream" } } })
      expect(failureOf(yield* Effect.exit(engine.send("fragile", "f1", { type: "X" })))).toMatchObject({ _tag: "InstanceFinal", status: "failed" })

      const retried = yield* engine.retry("fragile", "f1")
      expect(retried.status).toBe("running")
      const done = yield* until(engine.get("fragile", "f1"), (i) => i.status === "done")
      expect(done.state).toBe("done")
      expect(upstream.calls).toBe(2)
      expect(failureOf(yield* Effect.exit(engine.retry("fragile", "f1")))).toMatchObject({ _tag: "NothingToRetry" })
      const history = yield* engine.history("fragile", "f1")
      expect(history.map((e) => `${e.kind}:${e.type}`)).toEqual([
        "input:workflow.started",
        "record:activity.scheduled",
        "record:activity.attempt_failed",
        "record:activity.failed",
        "record:workflow.failed",
        "record:workflow.retried",
        "input:activity.completed"
      ])
    }))
  })

  it("keeps old instances on their version while new ones take the newest", () =>
    withRestarts(driver, (phase) => Effect.gen(function*() {
      const v1 = paymentWorkflow(new Gateway(), { slowMs: 60_000, version: 1 })
      yield* phase({ workflows: [v1], worker: false }, Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("payment", { amount: 1 }, { id: "old" })
      }))
      const v2 = paymentWorkflow(new Gateway(), { slowMs: 60_000, version: 2, paymentWindowMs: 1_234 })
      yield* phase({ workflows: [v1, v2], worker: false }, Effect.gen(function*() {
        const engine = yield* Engine
        const { instance } = yield* engine.start("payment", { amount: 1 }, { id: "new" })
        expect(instance.machineVersion).toBe(2)
        expect((yield* engine.get("payment", "old")).machineVersion).toBe(1)
        const old = yield* engine.cancel("payment", "old", "done testing")
        expect(old.machineVersion).toBe(1)
      }))
      // Without v1 registered the old instance can no longer be loaded; the error says which version is missing.
      yield* phase({ workflows: [v2], worker: false }, Effect.gen(function*() {
        const engine = yield* Engine
        expect(failureOf(yield* Effect.exit(engine.get("payment", "old")))).toMatchObject({ _tag: "WorkflowNotFound", version: 1 })
      }))
    })))

  it("starts once per idempotency key and lists instances newest first, paged", () =>
    withOrrery(driver, { workflows: [paymentWorkflow(new Gateway(), { slowMs: 60_000 })], worker: false }, Effect.gen(function*() {
      const engine = yield* Engine
      const first = yield* engine.start("payment", { amount: 1 }, { idempotencyKey: "key-1" })
      const again = yield* engine.start("payment", { amount: 1 }, { idempotencyKey: "key-1" })
      expect(first.created).toBe(true)
      expect(again.created).toBe(false)
      expect(again.instance.id).toBe(first.instance.id)
      for (let i = 0; i < 4; i++) yield* engine.start("payment", { amount: 2 + i }, { id: `l${i}` })
      yield* engine.cancel("payment", "l1", "x")

      const page1 = yield* engine.list({ type: "payment", limit: 3 })
      expect(page1.items.map((i) => i.id)).toEqual(["l3", "l2", "l1"])
      const page2 = yield* engine.list({ type: "payment", limit: 3, cursor: page1.nextCursor! })
      expect(page2.items.map((i) => i.id)).toEqual(["l0", first.instance.id])
      expect(page2.nextCursor).toBeNull()
      expect((yield* engine.list({ status: "cancelled" })).items.map((i) => i.id)).toEqual(["l1"])
      expect((yield* engine.list({ type: "payment", state: "charging" })).items.length).toBe(5)
      expect(failureOf(yield* Effect.exit(engine.list({ cursor: "garbage" })))).toMatchObject({ _tag: "InvalidCursor", cursor: "garbage" })
      // An instance started without an id gets a time-ordered one (UUIDv7).
      const later = yield* engine.start("payment", { amount: 1 })
      for (const id of [first.instance.id, later.instance.id]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(later.instance.id > first.instance.id).toBe(true)
    })))
})

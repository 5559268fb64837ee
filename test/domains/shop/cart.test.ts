/** The cart aggregate end to end through the engine, on both drivers, with the order saga as its child. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { cartDomain, makeCartMachine } from "../../../machines/cart/index.js"
import { orderDomain } from "../../../sagas/order/index.js"
import { drivers } from "../../support/drivers.js"
import { appWith, caughtUp, dataOf, domainEvents, domainTypes, history, inject, reachState, replays, withDomains } from "./support.js"

const order = orderDomain({ paymentWindowMs: 30_000 })

describe.each(drivers)("cart on %s", (driver) => {
  it("collects items, checks out into an order saga (its child) and closes when the order ends", async () => {
    const cart = cartDomain({ inactivityMs: 60_000 })
    await withDomains(driver, [order, cart], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("cart", {}, { id: "c1" })
        yield* engine.send("cart", "c1", { type: "ADD_ITEM", sku: "mug-blue", quantity: 2, unitPrice: "12.50" })
        yield* engine.send("cart", "c1", { type: "ADD_ITEM", sku: "tee-m", quantity: 1, unitPrice: "19.99" })
        yield* engine.send("cart", "c1", { type: "ADD_ITEM", sku: "mug-blue", quantity: 1, unitPrice: "12.50" })
        const removed = yield* engine.send("cart", "c1", { type: "REMOVE_ITEM", sku: "tee-m" })
        expect(removed.context).toMatchObject({ items: [{ sku: "mug-blue", quantity: 3, unitPrice: "12.50" }] })

        const checkedOut = yield* engine.send("cart", "c1", { type: "CHECKOUT", customerId: "alice", paymentMethod: "tok_visa" })
        expect(checkedOut.state).toBe("checked_out")
        // The order id comes back with the checkout: the child instance the cart invoked.
        expect(checkedOut.children.order).toEqual({ workflowType: "order", instanceId: "c1.order" })

        const child = yield* reachState("order", "c1.order", "shipped")
        expect(child.parent).toEqual({ workflowType: "cart", instanceId: "c1", invokeId: "order" })
        const orderEvents = yield* history("order", "c1.order")
        expect(dataOf(orderEvents, "order.created")).toEqual({
          customerId: "alice",
          items: [{ sku: "mug-blue", quantity: 3, unitPrice: "12.50" }],
          total: "37.50",
          paymentMethod: "tok_visa"
        })
        // While the order runs, the cart takes no more items.
        expect((yield* engine.send("cart", "c1", { type: "ADD_ITEM", sku: "x", quantity: 1, unitPrice: "1.00" }).pipe(Effect.flip))._tag).toBe("EventNotAccepted")

        yield* engine.send("order", "c1.order", { type: "DELIVERED" })
        const closed = yield* reachState("cart", "c1", "closed")
        expect(closed).toMatchObject({ status: "done", output: { status: "ordered", orderStatus: "delivered" } })

        const events = yield* history("cart", "c1")
        expect(domainTypes(events)).toEqual(["cart.item.added", "cart.item.added", "cart.item.added", "cart.item.removed", "cart.checked_out"])
        expect(domainEvents(events).map((e) => e.data)).toEqual([
          { sku: "mug-blue", quantity: 2, unitPrice: "12.50", lineQuantity: 2 },
          { sku: "tee-m", quantity: 1, unitPrice: "19.99", lineQuantity: 1 },
          { sku: "mug-blue", quantity: 1, unitPrice: "12.50", lineQuantity: 3 },
          { sku: "tee-m", quantity: 1 },
          { customerId: "alice", items: [{ sku: "mug-blue", quantity: 3, unitPrice: "12.50" }], total: "37.50" }
        ])
        expect(yield* replays("cart", "c1", makeCartMachine({ inactivityMs: 60_000 }))).toBe("closed")

        yield* caughtUp(schema)
        const app = yield* appWith(order, schema)
        expect((yield* inject(app, "/orders/c1.order")).body).toMatchObject({ orderId: "c1.order", customerId: "alice", status: "delivered", total: "37.50" })
      })
    )
  })

  it("refuses CHECKOUT on an empty cart and REMOVE_ITEM of a SKU it does not hold", async () => {
    const cart = cartDomain({ inactivityMs: 60_000 })
    await withDomains(driver, [order, cart], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("cart", { customerId: "bob" }, { id: "c-empty" })
        const refused = yield* engine.send("cart", "c-empty", { type: "CHECKOUT", customerId: "bob" }).pipe(Effect.flip)
        expect(refused).toMatchObject({ _tag: "EventNotAccepted", eventType: "CHECKOUT", state: "open" })
        expect((yield* engine.send("cart", "c-empty", { type: "REMOVE_ITEM", sku: "ghost" }).pipe(Effect.flip))._tag).toBe("EventNotAccepted")
        yield* engine.send("cart", "c-empty", { type: "ADD_ITEM", sku: "mug", quantity: 1, unitPrice: "5" })
        yield* engine.send("cart", "c-empty", { type: "REMOVE_ITEM", sku: "mug" })
        expect((yield* engine.send("cart", "c-empty", { type: "CHECKOUT", customerId: "bob" }).pipe(Effect.flip))._tag).toBe("EventNotAccepted")
        // Bad payloads are refused before anything is written.
        expect((yield* engine.send("cart", "c-empty", { type: "ADD_ITEM", sku: "mug", quantity: -1, unitPrice: "5" }).pipe(Effect.flip))._tag).toBe("InvalidEvent")
        expect((yield* engine.send("cart", "c-empty", { type: "ADD_ITEM", sku: "mug", quantity: 1, unitPrice: "5.001" }).pipe(Effect.flip))._tag).toBe("InvalidEvent")
        // A line never grows past 10,000 units: the add that would is refused, the line stays as it was.
        yield* engine.send("cart", "c-empty", { type: "ADD_ITEM", sku: "bulk", quantity: 7_787, unitPrice: "1" })
        const tooMany = yield* engine.send("cart", "c-empty", { type: "ADD_ITEM", sku: "bulk", quantity: 7_787, unitPrice: "1" }).pipe(Effect.flip)
        expect(tooMany).toMatchObject({ _tag: "EventNotAccepted", eventType: "ADD_ITEM" })
        const view = yield* engine.get("cart", "c-empty")
        expect(view).toMatchObject({ state: "open", status: "running", children: {}, context: { items: [{ sku: "bulk", quantity: 7_787 }] } })
        expect(domainTypes(yield* history("cart", "c-empty"))).toEqual(["cart.item.added", "cart.item.removed", "cart.item.added"])
      })
    )
  })

  it("is abandoned after the inactivity timer; every change restarts it", async () => {
    // Long enough that a slow input on a busy machine does not let the cart lapse before the test's
    // second change; the test then waits for the timer.
    const cart = cartDomain({ inactivityMs: 5_000 })
    await withDomains(driver, [order, cart], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("cart", {}, { id: "c-idle" })
        yield* engine.send("cart", "c-idle", { type: "ADD_ITEM", sku: "mug", quantity: 1, unitPrice: "12.50" })
        const [first] = yield* engine.pending("cart", "c-idle")
        yield* Effect.sleep("300 millis")
        yield* engine.send("cart", "c-idle", { type: "ADD_ITEM", sku: "tee", quantity: 2, unitPrice: "19.99" })
        const timers = yield* engine.pending("cart", "c-idle")
        expect(timers).toHaveLength(1)
        expect(timers[0]!.kind).toBe("timer")
        expect(timers[0]!.dueAt.getTime()).toBeGreaterThanOrEqual(first!.dueAt.getTime() + 250)

        const abandoned = yield* reachState("cart", "c-idle", "abandoned")
        expect(abandoned).toMatchObject({ status: "done", output: { status: "abandoned", orderStatus: null } })
        const events = yield* history("cart", "c-idle")
        expect(dataOf(events, "cart.abandoned")).toEqual({ itemCount: 3, total: "52.48" })
        expect(events.filter((e) => e.type === "timer.fired")).toHaveLength(1)
        expect((yield* engine.send("cart", "c-idle", { type: "ADD_ITEM", sku: "mug", quantity: 1, unitPrice: "1" }).pipe(Effect.flip))._tag).toBe("InstanceFinal")
        expect(yield* replays("cart", "c-idle", makeCartMachine({ inactivityMs: 5_000 }))).toBe("abandoned")
      })
    )
  })

  it("closes with the order cancelled when the checkout's payment is declined", async () => {
    const cart = cartDomain({ inactivityMs: 60_000 })
    await withDomains(driver, [order, cart], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("cart", {}, { id: "c-declined" })
        yield* engine.send("cart", "c-declined", { type: "ADD_ITEM", sku: "mug", quantity: 1, unitPrice: "12.50" })
        yield* engine.send("cart", "c-declined", { type: "CHECKOUT", customerId: "carol", paymentMethod: "tok_declined" })
        const closed = yield* reachState("cart", "c-declined", "closed")
        expect(closed.output).toEqual({ status: "ordered", orderStatus: "cancelled" })
        const child = yield* engine.get("order", "c-declined.order")
        expect(child).toMatchObject({ status: "done", state: "cancelled", output: { cause: "payment_declined" } })
      })
    )
  })
})

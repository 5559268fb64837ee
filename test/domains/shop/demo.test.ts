/** The shop's demos (cart and order) run their instances to their ends, and may run again. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { cartDomain } from "../../../machines/cart/index.js"
import { orderDomain } from "../../../sagas/order/index.js"
import { drivers } from "../../support/drivers.js"
import { withDomains } from "./support.js"

describe.each(drivers)("shop demo on %s", (driver) => {
  it("delivers, declines, runs out of stock, retries, cancels, checks out and abandons", async () => {
    const order = orderDomain({ paymentWindowMs: 30_000 })
    // Long enough that the checked-out cart is never abandoned between two of its inputs on a busy
    // machine (with 1 s, a slow send during the order demos let it lapse), short enough to wait for
    // the other cart's abandonment.
    const cart = cartDomain({ inactivityMs: 5_000 })
    await withDomains(driver, [order, cart], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* Effect.all([order.demo!, cart.demo!], { concurrency: "unbounded" })
        const outcome = (type: string, id: string) => engine.get(type, id).pipe(Effect.map((view) => [view.status, view.state, (view.output as { cause?: unknown } | undefined)?.cause ?? null]))
        expect(yield* outcome("order", "demo-order-delivered")).toEqual(["done", "delivered", null])
        expect(yield* outcome("order", "demo-order-declined")).toEqual(["done", "cancelled", "payment_declined"])
        expect(yield* outcome("order", "demo-order-out-of-stock")).toEqual(["done", "cancelled", "out_of_stock"])
        expect(yield* outcome("order", "demo-order-flaky")).toEqual(["done", "delivered", null])
        expect(yield* outcome("order", "demo-order-cancelled")).toEqual(["done", "cancelled", "customer"])
        expect(yield* outcome("cart", "demo-cart-ordered")).toEqual(["done", "closed", null])
        expect(yield* outcome("order", "demo-cart-ordered.order")).toEqual(["done", "delivered", null])
        expect(yield* outcome("cart", "demo-cart-abandoned")).toEqual(["done", "abandoned", null])
        // A second run finds its instances and leaves them be.
        const before = (yield* engine.list({ limit: 100 })).items.length
        yield* Effect.all([order.demo!, cart.demo!])
        expect((yield* engine.list({ limit: 100 })).items.length).toBe(before)
      })
    )
  })
})

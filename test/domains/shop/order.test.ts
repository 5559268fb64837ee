/** The order saga end to end through the engine, on both drivers: its happy path and every failure path. */
import { Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { Projections } from "../../../src/projections/projection.js"
import { Inventory, makeInventory, makeOrderMachine, makePayments, makeShipping, orderDomain, Payments, PaymentUnavailable, Shipping } from "../../../sagas/order/index.js"
import { drivers } from "../../support/drivers.js"
import { appWith, caughtUp, dataOf, domainTypes, history, inject, reachState, replays, rows, withDomains } from "./support.js"

const items = [
  { sku: "mug-blue", quantity: 2, unitPrice: "12.50" },
  { sku: "tee-m", quantity: 1, unitPrice: "19.99" }
]
const total = "44.99"

describe.each(drivers)("order saga on %s", (driver) => {
  it("reserves, charges, ships, and is delivered; the read models follow", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        const { instance } = yield* engine.start("order", { customerId: "alice", items, paymentMethod: "tok_visa" }, { id: "o-happy" })
        expect(instance.status).toBe("running")
        yield* reachState("order", "o-happy", "shipped")
        const delivered = yield* engine.send("order", "o-happy", { type: "DELIVERED" })
        expect(delivered).toMatchObject({ status: "done", state: "delivered", output: { status: "delivered", total, cause: null } })

        const events = yield* history("order", "o-happy")
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "order.paid", "order.shipped", "order.delivered"])
        expect(dataOf(events, "order.created")).toEqual({ customerId: "alice", items, total, paymentMethod: "tok_visa" })
        expect(dataOf(events, "order.stock_reserved").items).toEqual([{ sku: "mug-blue", quantity: 2 }, { sku: "tee-m", quantity: 1 }])
        expect(dataOf(events, "order.paid")).toMatchObject({ amount: total, chargeId: expect.stringMatching(/^ch_/) })
        expect(dataOf(events, "order.shipped")).toMatchObject({ trackingNumber: expect.stringMatching(/^TRK/), carrier: "Orrery Post" })
        // The payment window was set while charging and cancelled when the payment went through.
        expect(events.filter((e) => e.type === "timer.cancelled")).toHaveLength(1)

        yield* caughtUp(schema)
        const app = yield* appWith(domain, schema)
        const order = yield* inject(app, "/orders/o-happy")
        expect(order.status).toBe(200)
        expect(order.body).toMatchObject({ orderId: "o-happy", customerId: "alice", status: "delivered", total, items, cancellation: null, refunded: false })
        expect(order.body.timeline.map((t: { type: string }) => t.type)).toEqual(["order.created", "order.stock_reserved", "order.paid", "order.shipped", "order.delivered"])
        expect(order.body.timeline[0].at).toBe(events.find((e) => e.type === "order.created")!.time.toISOString())
        expect((yield* inject(app, "/stock/mug-blue")).body).toEqual({ sku: "mug-blue", initial: 100, onHand: 98, reserved: 0, sold: 2, available: 98 })
        expect((yield* inject(app, "/stock/tee-m")).body).toMatchObject({ sold: 1, available: 99 })
        expect((yield* inject(app, "/orders?customerId=alice")).body.orders.map((o: { orderId: string }) => o.orderId)).toEqual(["o-happy"])
        expect(yield* replays("order", "o-happy", makeOrderMachine({ paymentWindowMs: 30_000 }))).toBe("delivered")
      })
    )
  })

  it("cancels an order whose stock is out, without charging", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "bob", items: [...items, { sku: "sold-out-lamp", quantity: 1, unitPrice: "49.00" }] }, { id: "o-oos" })
        const view = yield* reachState("order", "o-oos", "cancelled")
        expect(view.output).toMatchObject({ status: "cancelled", cause: "out_of_stock" })
        const events = yield* history("order", "o-oos")
        expect(domainTypes(events)).toEqual(["order.created", "order.cancelled"])
        expect(dataOf(events, "order.cancelled")).toEqual({ cause: "out_of_stock", reason: "sold-out-lamp: 1 requested, 0 available", refunded: false })
        expect(events.some((e) => e.type === "activity.scheduled" && (e.data as { src: string }).src === "chargePayment")).toBe(false)
        yield* caughtUp(schema)
        const app = yield* appWith(domain, schema)
        expect((yield* inject(app, "/orders/o-oos")).body).toMatchObject({ status: "cancelled", cancellation: { cause: "out_of_stock" } })
        // Nothing was reserved: every level is untouched.
        expect((yield* inject(app, "/stock/mug-blue")).body).toMatchObject({ reserved: 0, available: 100 })
        expect((yield* inject(app, "/stock/sold-out-lamp")).body).toMatchObject({ initial: 0, available: 0 })
      })
    )
  })

  it("releases the stock and cancels when the payment is declined (not retried)", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "carol", items, paymentMethod: "tok_declined" }, { id: "o-declined" })
        const view = yield* reachState("order", "o-declined", "cancelled")
        expect(view.output).toMatchObject({ status: "cancelled", cause: "payment_declined" })
        const events = yield* history("order", "o-declined")
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "stock.released", "order.cancelled"])
        expect(dataOf(events, "stock.released").items).toEqual([{ sku: "mug-blue", quantity: 2 }, { sku: "tee-m", quantity: 1 }])
        expect(yield* replays("order", "o-declined", makeOrderMachine({ paymentWindowMs: 30_000 }))).toBe("cancelled")
        expect(dataOf(events, "order.cancelled")).toEqual({ cause: "payment_declined", reason: "payment declined: card declined", refunded: false })
        const failed = events.find((e) => e.type === "activity.failed")!
        expect(failed.data).toMatchObject({ src: "chargePayment", attempts: 1, error: { _tag: "PaymentDeclined", reason: "card declined" } })
        yield* caughtUp(schema)
        const app = yield* appWith(domain, schema)
        expect((yield* inject(app, "/stock/mug-blue")).body).toEqual({ sku: "mug-blue", initial: 100, onHand: 100, reserved: 0, sold: 0, available: 100 })
        expect((yield* inject(app, "/orders/o-declined")).body.timeline.map((t: { type: string }) => t.type)).toEqual([
          "order.created",
          "order.stock_reserved",
          "stock.released",
          "order.cancelled"
        ])
      })
    )
  })

  it("retries a flaky gateway until the payment goes through", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    await withDomains(driver, [domain], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "dave", items, paymentMethod: "tok_flaky" }, { id: "o-flaky" })
        yield* reachState("order", "o-flaky", "shipped")
        const events = yield* history("order", "o-flaky")
        const attempts = events.filter((e) => e.type === "activity.attempt_failed")
        expect(attempts.map((e) => (e.data as { error: { _tag: string } }).error._tag)).toEqual(["PaymentUnavailable", "PaymentUnavailable"])
        expect(events.find((e) => e.type === "activity.completed" && (e.data as { src: string }).src === "chargePayment")!.data).toMatchObject({ attempts: 3 })
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "order.paid", "order.shipped"])
      })
    )
  })

  it("gives up on a gateway that keeps failing after its retries: stock released, cancelled", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    const down = Layer.succeed(Payments, {
      charge: () => Effect.fail(new PaymentUnavailable({ reason: "gateway down" })),
      refund: () => Effect.succeed({ refunded: false, refundId: null, amount: null })
    })
    const services = Layer.mergeAll(Layer.effect(Inventory, makeInventory()), down, Layer.effect(Shipping, makeShipping))
    await withDomains(driver, [domain], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "dora", items }, { id: "o-down" })
        const view = yield* reachState("order", "o-down", "cancelled")
        expect(view.output).toMatchObject({ status: "cancelled", cause: "payment_failed", reason: "payment gateway unavailable: gateway down" })
        const events = yield* history("order", "o-down")
        expect(events.filter((e) => e.type === "activity.attempt_failed")).toHaveLength(5)
        expect(events.find((e) => e.type === "activity.failed")!.data).toMatchObject({ src: "chargePayment", attempts: 5 })
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "stock.released", "order.cancelled"])
      }),
      { services }
    )
  })

  it("treats a payment that does not answer within the payment window as failed", async () => {
    const domain = orderDomain({ paymentWindowMs: 1_000 })
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "erin", items, paymentMethod: "tok_timeout" }, { id: "o-window" })
        const view = yield* reachState("order", "o-window", "cancelled")
        expect(view.output).toMatchObject({ status: "cancelled", cause: "payment_timeout" })
        const events = yield* history("order", "o-window")
        expect(events.some((e) => e.type === "timer.fired")).toBe(true)
        // Voided (nothing had been charged, so no refund event), then the stock went back.
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "stock.released", "order.cancelled"])
        expect(dataOf(events, "order.cancelled")).toMatchObject({ cause: "payment_timeout", refunded: false })
        expect(yield* replays("order", "o-window", makeOrderMachine({ paymentWindowMs: 1_000 }))).toBe("cancelled")
        yield* caughtUp(schema)
        const app = yield* appWith(domain, schema)
        expect((yield* inject(app, "/stock/tee-m")).body).toMatchObject({ reserved: 0, available: 100 })
      })
    )
  })

  it("on CANCEL while the payment is pending: voids it and releases the stock", async () => {
    const domain = orderDomain({ paymentWindowMs: 60_000 })
    await withDomains(driver, [domain], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "frank", items, paymentMethod: "tok_timeout" }, { id: "o-cancel-pending" })
        yield* reachState("order", "o-cancel-pending", "charging")
        yield* engine.send("order", "o-cancel-pending", { type: "CANCEL", reason: "changed my mind" })
        const view = yield* reachState("order", "o-cancel-pending", "cancelled")
        expect(view.output).toMatchObject({ status: "cancelled", cause: "customer", reason: "changed my mind" })
        const events = yield* history("order", "o-cancel-pending")
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "stock.released", "order.cancelled"])
        expect(dataOf(events, "order.cancelled")).toEqual({ cause: "customer", reason: "changed my mind", refunded: false })
      })
    )
  })

  it("on CANCEL after the charge, before shipment: refunds, releases the stock, cancels", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    // A carrier that never confirms the shipment, so that the order waits in `shipping`, paid.
    const cancelled: Array<string> = []
    const slowCarrier = Layer.succeed(Shipping, {
      createShipment: () => Effect.never,
      cancelShipment: ({ key }) => Effect.sync(() => void cancelled.push(key)).pipe(Effect.as({ cancelled: true }))
    })
    const services = Layer.mergeAll(Layer.effect(Inventory, makeInventory()), Layer.effect(Payments, makePayments), slowCarrier)
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("order", { customerId: "grace", items }, { id: "o-refund" })
        yield* reachState("order", "o-refund", "shipping")
        yield* engine.send("order", "o-refund", { type: "CANCEL", reason: "found it cheaper" })
        const view = yield* reachState("order", "o-refund", "cancelled")
        expect(view.output).toMatchObject({ status: "cancelled", cause: "customer" })
        const events = yield* history("order", "o-refund")
        expect(domainTypes(events)).toEqual(["order.created", "order.stock_reserved", "order.paid", "payment.refunded", "stock.released", "order.cancelled"])
        expect(dataOf(events, "payment.refunded")).toEqual({ refundId: expect.stringMatching(/^re_/), amount: total })
        expect(dataOf(events, "order.cancelled")).toEqual({ cause: "customer", reason: "found it cheaper", refunded: true })
        expect(cancelled).toEqual(["order-o-refund/shipment"])
        expect(yield* replays("order", "o-refund", makeOrderMachine({ paymentWindowMs: 30_000 }))).toBe("cancelled")
        yield* caughtUp(schema)
        const app = yield* appWith(domain, schema)
        expect((yield* inject(app, "/orders/o-refund")).body).toMatchObject({ status: "cancelled", refunded: true, cancellation: { cause: "customer", reason: "found it cheaper" } })
        expect((yield* inject(app, "/stock/mug-blue")).body).toMatchObject({ reserved: 0, sold: 0, available: 100 })
      }),
      { services }
    )
  })

  it("refuses CANCEL once shipped, DELIVERED before shipment, and invalid input", async () => {
    const domain = orderDomain({ paymentWindowMs: 60_000 })
    await withDomains(driver, [domain], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        const bad = (input: unknown) => engine.start("order", input).pipe(Effect.flip, Effect.map((e) => e._tag))
        expect(yield* bad({ customerId: "h", items: [] })).toBe("InvalidEvent")
        expect(yield* bad({ customerId: "h", items: [{ sku: "a", quantity: 1, unitPrice: "1.999" }] })).toBe("InvalidEvent")
        expect(yield* bad({ customerId: "h", items: [{ sku: "a", quantity: 0, unitPrice: "1.00" }] })).toBe("InvalidEvent")
        expect(yield* bad({ customerId: "h", items: [{ sku: "a", quantity: 1, unitPrice: 1.5 }] })).toBe("InvalidEvent")

        yield* engine.start("order", { customerId: "h", items, paymentMethod: "tok_timeout" }, { id: "o-early" })
        yield* reachState("order", "o-early", "charging")
        const early = yield* Effect.exit(engine.send("order", "o-early", { type: "DELIVERED" }))
        expect(Exit.isFailure(early) && JSON.stringify(early.cause)).toContain("EventNotAccepted")

        yield* engine.start("order", { customerId: "h", items }, { id: "o-late" })
        yield* reachState("order", "o-late", "shipped")
        const late = yield* engine.send("order", "o-late", { type: "CANCEL", reason: "too late" }).pipe(Effect.flip)
        expect(late._tag).toBe("EventNotAccepted")
        expect(domainTypes(yield* history("order", "o-late"))).not.toContain("order.cancelled")
      })
    )
  })

  it("gives the same rows after rebuilding the orders and stock read models", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        const projections = yield* Projections
        yield* engine.start("order", { customerId: "ivy", items }, { id: "r1" })
        yield* engine.start("order", { customerId: "ivy", items, paymentMethod: "tok_declined" }, { id: "r2" })
        yield* engine.start("order", { customerId: "jo", items: [{ sku: "mug-blue", quantity: 5, unitPrice: "12.50" }] }, { id: "r3" })
        yield* engine.start("order", { customerId: "jo", items: [{ sku: "sold-out-x", quantity: 1, unitPrice: "1.00" }] }, { id: "r4" })
        yield* reachState("order", "r1", "shipped")
        yield* engine.send("order", "r1", { type: "DELIVERED" })
        yield* reachState("order", "r2", "cancelled")
        yield* reachState("order", "r3", "shipped")
        yield* reachState("order", "r4", "cancelled")
        yield* caughtUp(schema)
        const ordersSql = `select order_id, customer_id, status, items, total::text, payment_method, charge_id, tracking_number, carrier, cancel_cause,
          cancel_reason, refunded, timeline, created_at, updated_at from ${schema}.shop_orders order by order_id`
        const stockSql = `select * from ${schema}.shop_stock order by sku`
        const orders = yield* rows(ordersSql)
        const stock = yield* rows(stockSql)
        expect(orders.map((o) => [o.order_id, o.status])).toEqual([["r1", "delivered"], ["r2", "cancelled"], ["r3", "shipped"], ["r4", "cancelled"]])
        expect(stock).toEqual([
          { sku: "mug-blue", initial: 100, reserved: 0, sold: 7 },
          { sku: "tee-m", initial: 100, reserved: 0, sold: 1 }
        ])
        expect((yield* projections.rebuild("orders")).events).toBeGreaterThan(0)
        expect((yield* projections.rebuild("stock")).events).toBeGreaterThan(0)
        expect(yield* rows(ordersSql)).toEqual(orders)
        expect(yield* rows(stockSql)).toEqual(stock)
      })
    )
  })

  it("serves the read routes with 400 on bad input and 404 on unknown orders", async () => {
    const domain = orderDomain({ paymentWindowMs: 30_000 })
    await withDomains(driver, [domain], (schema) =>
      Effect.gen(function*() {
        const app = yield* appWith(domain, schema)
        const missing = yield* inject(app, "/orders/nope")
        expect(missing).toEqual({ status: 404, body: { error: "NotFound", message: "no order nope" } })
        const badSku = yield* inject(app, "/stock/%20bad")
        expect(badSku.status).toBe(400)
        expect(badSku.body).toMatchObject({ error: "ValidationError", message: expect.stringContaining("sku") })
        const badStatus = yield* inject(app, "/orders?status=lost")
        expect(badStatus.status).toBe(400)
        expect(badStatus.body.error).toBe("ValidationError")
        const badLimit = yield* inject(app, "/orders?limit=0")
        expect(badLimit.status).toBe(400)
        expect(badLimit.body.details).toMatchObject({ in: "querystring", field: "limit" })
        expect((yield* inject(app, "/stock/new-sku")).body).toEqual({ sku: "new-sku", initial: 100, onHand: 100, reserved: 0, sold: 0, available: 100 })
        expect((yield* inject(app, "/stock")).body).toEqual({ stock: [] })
      })
    )
  })
})

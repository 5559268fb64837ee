/** The shop's money and settings, and its services over their tables on both drivers. */
import { BigDecimal, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { readSettings } from "orrery"
import { cartSettings } from "../../../machines/cart/index.js"
import { formatMoney, Inventory, orderDomain, orderSettings, Payments, Shipping, totalOf } from "../../../sagas/order/index.js"
import { drivers } from "../../support/drivers.js"
import { rows, withServices } from "./support.js"

describe("money", () => {
  it("adds exactly, with two decimals", () => {
    expect(totalOf([{ quantity: 3, unitPrice: "19.99" }, { quantity: 1, unitPrice: "0.01" }])).toBe("59.98")
    expect(totalOf(Array.from({ length: 1000 }, () => ({ quantity: 1, unitPrice: "0.10" })))).toBe("100.00")
    expect(totalOf([{ quantity: 7, unitPrice: "20" }])).toBe("140.00")
    expect(formatMoney(BigDecimal.fromStringUnsafe("0.5"))).toBe("0.50")
  })
})

describe("settings", () => {
  it("read ORRERY_PAYMENT_WINDOW and ORRERY_CART_INACTIVITY, with defaults", () => {
    expect(readSettings(orderSettings, { env: {} })).toEqual({ paymentWindowMs: 15 * 60_000 })
    expect(readSettings(orderSettings, { env: { ORRERY_PAYMENT_WINDOW: "45s" } })).toEqual({ paymentWindowMs: 45_000 })
    expect(readSettings(cartSettings, { env: {} })).toEqual({ inactivityMs: 24 * 3_600_000 })
    expect(readSettings(cartSettings, { env: { ORRERY_CART_INACTIVITY: "30m" } })).toEqual({ inactivityMs: 1_800_000 })
    expect(readSettings(cartSettings, { env: { ORRERY_CART_INACTIVITY: "" } })).toEqual({ inactivityMs: 24 * 3_600_000 })
    expect(() => readSettings(orderSettings, { env: { ORRERY_PAYMENT_WINDOW: "10" } })).toThrow(/^ORRERY_PAYMENT_WINDOW must be a duration/)
    expect(() => readSettings(cartSettings, { env: { ORRERY_CART_INACTIVITY: "forever" } })).toThrow(/^ORRERY_CART_INACTIVITY must be a duration/)
  })
})

describe.each(drivers)("durable services on %s", (driver) => {
  const order = orderDomain()
  const exit = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.exit(effect)
  const level = (sku: string) => Inventory.use((inventory) => inventory.level(sku))

  it("the inventory reserves all lines or none, answers a key again the same, and releases once", () =>
    withServices(driver, [order], (schema) =>
      Effect.gen(function*() {
        const inventory = yield* Inventory
        const refused = yield* exit(inventory.reserve("o1", [{ sku: "mug", quantity: 3 }, { sku: "sold-out-lamp", quantity: 1 }]))
        expect(JSON.stringify(refused)).toContain("OutOfStock")
        expect(yield* level("mug")).toEqual({ sku: "mug", onHand: 100, reserved: 0, available: 100 })
        yield* inventory.reserve("o2", [{ sku: "mug", quantity: 60 }, { sku: "mug", quantity: 30 }])
        expect(JSON.stringify(yield* exit(inventory.reserve("o3", [{ sku: "mug", quantity: 11 }])))).toContain('"available":10')
        // The same key: the same reservation, whatever the lines say now.
        expect(yield* inventory.reserve("o2", [{ sku: "mug", quantity: 1 }])).toEqual({ reservationId: expect.stringMatching(/^rsv_/), items: [{ sku: "mug", quantity: 90 }] })
        expect(yield* inventory.release("o2")).toEqual({ items: [{ sku: "mug", quantity: 90 }] })
        // Released once; asked again (a retry after a crash), the same answer and no second movement.
        expect(yield* inventory.release("o2")).toEqual({ items: [{ sku: "mug", quantity: 90 }] })
        expect(yield* level("mug")).toEqual({ sku: "mug", onHand: 100, reserved: 0, available: 100 })
        yield* inventory.reserve("o4", [{ sku: "mug", quantity: 5 }])
        yield* inventory.commit("o4")
        yield* inventory.commit("o4")
        expect(yield* level("mug")).toEqual({ sku: "mug", onHand: 95, reserved: 0, available: 95 })
        // A committed reservation whose shipment was cancelled goes back on the shelf.
        yield* inventory.reserve("o6", [{ sku: "mug", quantity: 4 }])
        yield* inventory.commit("o6")
        expect(yield* inventory.release("o6")).toEqual({ items: [{ sku: "mug", quantity: 4 }] })
        expect(yield* level("mug")).toEqual({ sku: "mug", onHand: 95, reserved: 0, available: 95 })
        // A released key is closed: a late reservation or commit under it is refused.
        expect(yield* inventory.release("o5")).toEqual({ items: [] })
        expect(JSON.stringify(yield* exit(inventory.reserve("o5", [{ sku: "mug", quantity: 1 }])))).toContain("ReservationClosed")
        expect(JSON.stringify(yield* exit(inventory.commit("o5")))).toContain("ReservationClosed")
        expect(yield* rows(`select sku, initial, reserved, sold, available from ${schema}.shop_inventory order by sku`)).toEqual([
          { sku: "mug", initial: 100, reserved: 0, sold: 5, available: 95 },
          { sku: "sold-out-lamp", initial: 0, reserved: 0, sold: 0, available: 0 }
        ])
      })
    ))

  it("concurrent reservations never oversell, in any order of SKUs, and never deadlock", () =>
    withServices(driver, [order], (schema) =>
      Effect.gen(function*() {
        const inventory = yield* Inventory
        const exits = yield* Effect.all(
          Array.from({ length: 30 }, (_, i) =>
            exit(inventory.reserve(`k${i % 24}`, i % 2 === 0 ? [{ sku: "cup", quantity: 7 }, { sku: "pot", quantity: 1 }] : [{ sku: "pot", quantity: 1 }, { sku: "cup", quantity: 7 }]))
          ),
          { concurrency: "unbounded" }
        )
        // 24 keys (6 asked twice): 14 × 7 = 98 of 100 cups; the rest are refused.
        const held = yield* rows(`select count(*)::int as n from ${schema}.shop_reservations where status = 'held'`)
        expect(held).toEqual([{ n: 14 }])
        expect(exits.filter(Exit.isFailure).every((e) => JSON.stringify(e).includes("OutOfStock"))).toBe(true)
        expect(yield* level("cup")).toEqual({ sku: "cup", onHand: 100, reserved: 98, available: 2 })
        expect(yield* level("pot")).toEqual({ sku: "pot", onHand: 100, reserved: 14, available: 86 })
        // Concurrent releases of the same keys move the units back once.
        yield* Effect.all(Array.from({ length: 48 }, (_, i) => inventory.release(`k${i % 24}`)), { concurrency: "unbounded" })
        expect(yield* level("cup")).toEqual({ sku: "cup", onHand: 100, reserved: 0, available: 100 })
      })
    ))

  it("payments and shipping are idempotent by key, and a refund happens once", () =>
    withServices(driver, [order], (schema) =>
      Effect.gen(function*() {
        const payments = yield* Payments
        const charges = yield* Effect.all(Array.from({ length: 8 }, () => exit(payments.charge({ key: "k", amount: "12.5", method: "tok_visa" }))), { concurrency: "unbounded" })
        for (const charge of charges) expect(charge).toEqual(Exit.succeed({ chargeId: expect.stringMatching(/^ch_/), amount: "12.50" }))
        expect(JSON.stringify(yield* exit(payments.charge({ key: "x", amount: "1", method: "tok_declined" })))).toContain("PaymentDeclined")
        const flaky = [] as Array<string>
        for (let i = 0; i < 3; i++) flaky.push((yield* exit(payments.charge({ key: "f", amount: "1", method: "tok_flaky" })))._tag)
        expect(flaky).toEqual(["Failure", "Failure", "Success"])
        const refunds = yield* Effect.all(Array.from({ length: 4 }, () => payments.refund({ key: "k" })), { concurrency: "unbounded" })
        for (const refund of refunds) expect(refund).toEqual({ refunded: true, refundId: expect.stringMatching(/^re_/), amount: "12.50" })
        // A refund with nothing charged closes the key: a payment still in flight is refused.
        expect(yield* payments.refund({ key: "t" })).toEqual({ refunded: false, refundId: null, amount: null })
        expect(JSON.stringify(yield* exit(payments.charge({ key: "t", amount: "1", method: "tok_visa" })))).toContain("voided")
        expect(yield* rows(`select key, charge_id is not null as charged, refund_id is not null as refunded from ${schema}.test_payments order by key`)).toEqual([
          { key: "f", charged: true, refunded: false },
          { key: "k", charged: true, refunded: true },
          { key: "t", charged: false, refunded: false },
          { key: "x", charged: false, refunded: false }
        ])
        const shipping = yield* Shipping
        const first = yield* shipping.createShipment({ key: "s", customerId: "c", items: [] })
        expect(yield* shipping.createShipment({ key: "s", customerId: "c", items: [] })).toEqual(first)
        expect(yield* shipping.cancelShipment({ key: "s" })).toEqual({ cancelled: true })
        expect(yield* shipping.cancelShipment({ key: "s" })).toEqual({ cancelled: true })
        expect(yield* shipping.cancelShipment({ key: "t" })).toEqual({ cancelled: false })
        expect(JSON.stringify(yield* exit(shipping.createShipment({ key: "t", customerId: "c", items: [] })))).toContain("ShipmentCancelled")
      })
    ))
})

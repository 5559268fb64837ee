/** The shop's money, settings and in-process services, without a database. */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { readSettings } from "orrery"
import { cartSettings } from "../../../machines/cart/index.js"
import { formatMoney, makeInventory, makePayments, makeShipping, orderSettings, totalOf } from "../../../sagas/order/index.js"
import { BigDecimal } from "effect"

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.exit(effect))

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

describe("in-process services", () => {
  it("the inventory reserves all lines or none, and releases once", async () => {
    const inventory = makeInventory()
    const refused = await run(inventory.reserve("o1", [{ sku: "mug", quantity: 3 }, { sku: "sold-out-lamp", quantity: 1 }]))
    expect(JSON.stringify(refused)).toContain("OutOfStock")
    expect(await Effect.runPromise(inventory.level("mug"))).toEqual({ sku: "mug", onHand: 100, reserved: 0, available: 100 })
    await Effect.runPromise(inventory.reserve("o2", [{ sku: "mug", quantity: 60 }, { sku: "mug", quantity: 30 }]))
    expect(JSON.stringify(await run(inventory.reserve("o3", [{ sku: "mug", quantity: 11 }])))).toContain('"available":10')
    expect(await Effect.runPromise(inventory.reserve("o2", [{ sku: "mug", quantity: 90 }]))).toMatchObject({ items: [{ sku: "mug", quantity: 90 }] })
    expect(await Effect.runPromise(inventory.release("o2"))).toEqual({ items: [{ sku: "mug", quantity: 90 }] })
    expect(await Effect.runPromise(inventory.release("o2"))).toEqual({ items: [] })
    await Effect.runPromise(inventory.reserve("o4", [{ sku: "mug", quantity: 5 }]))
    await Effect.runPromise(inventory.commit("o4"))
    expect(await Effect.runPromise(inventory.level("mug"))).toEqual({ sku: "mug", onHand: 95, reserved: 0, available: 95 })
    // A released key is closed: a late reservation under it is refused.
    await Effect.runPromise(inventory.release("o5"))
    expect(JSON.stringify(await run(inventory.reserve("o5", [{ sku: "mug", quantity: 1 }])))).toContain("ReservationClosed")
  })

  it("payments and shipping are idempotent by key", async () => {
    const payments = makePayments()
    const charge = await run(payments.charge({ key: "k", amount: "12.5", method: "tok_visa" }))
    expect(charge).toEqual(Exit.succeed({ chargeId: expect.stringMatching(/^ch_/), amount: "12.50" }))
    expect(await run(payments.charge({ key: "k", amount: "12.5", method: "tok_visa" }))).toEqual(charge)
    expect(JSON.stringify(await run(payments.charge({ key: "x", amount: "1", method: "tok_declined" })))).toContain("PaymentDeclined")
    const shipping = makeShipping()
    const first = await Effect.runPromise(shipping.createShipment({ key: "s", customerId: "c", items: [] }))
    expect(await Effect.runPromise(shipping.createShipment({ key: "s", customerId: "c", items: [] }))).toEqual(first)
    expect(await Effect.runPromise(shipping.cancelShipment({ key: "t" }))).toEqual({ cancelled: false })
    expect(JSON.stringify(await run(shipping.createShipment({ key: "t", customerId: "c", items: [] })))).toContain("ShipmentCancelled")
  })
})

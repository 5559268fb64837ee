/**
 * The outside world of an order: a warehouse (`Inventory`), a payment gateway
 * (`Payments`) and a carrier (`Shipping`). Each is an Effect service with a
 * deterministic in-process implementation (`layer`), used by default and in
 * tests; an application swaps one by providing another Layer.
 *
 * Every call carries an idempotency key that is stable for the order (see
 * `orderKey` in workflow.ts), so that retries, restarts and a second worker
 * never reserve, charge or ship twice. Compensations (`release`, `refund`,
 * `cancelShipment`) also close their key: a call that was still in flight when
 * the order gave up cannot land afterwards.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { shortHash } from "../shared/hash.js"
import { makeTestGateway, type Payment, type PaymentDeclined, type PaymentUnavailable, type Refund } from "../shared/test-payments.js"

export interface StockLine {
  readonly sku: string
  readonly quantity: number
}

// -- Inventory ----------------------------------------------------------------

export class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", {
  sku: Schema.String,
  requested: Schema.Number,
  available: Schema.Number
}) {
  override get message() {
    return `${this.sku}: ${this.requested} requested, ${this.available} available`
  }
}

/** The reservation under this key was released (or never made and then closed): it cannot be used any more. */
export class ReservationClosed extends Schema.TaggedError<ReservationClosed>()("ReservationClosed", { key: Schema.String }) {
  override get message() {
    return `reservation ${this.key} is closed`
  }
}

export interface StockLevel {
  readonly sku: string
  /** Units in the warehouse (not yet shipped). */
  readonly onHand: number
  /** Units held by orders that have not shipped. */
  readonly reserved: number
  readonly available: number
}

export interface InventoryShape {
  /** Holds every line or none (all-or-nothing); the same key gives back the same reservation. */
  readonly reserve: (key: string, lines: ReadonlyArray<StockLine>) => Effect.Effect<{ readonly reservationId: string; readonly items: ReadonlyArray<StockLine> }, OutOfStock | ReservationClosed>
  /** Gives a held reservation back and closes the key; what was given back (nothing if it was not held). */
  readonly release: (key: string) => Effect.Effect<{ readonly items: ReadonlyArray<StockLine> }>
  /** The reserved units leave the warehouse (the order shipped). */
  readonly commit: (key: string) => Effect.Effect<{ readonly items: ReadonlyArray<StockLine> }, ReservationClosed>
  readonly level: (sku: string) => Effect.Effect<StockLevel>
}

export class Inventory extends Context.Service<Inventory, InventoryShape>()("orrery/shop/Inventory") {}

/** The default catalogue: every SKU starts with 100 units, those beginning with `sold-out-` with none. */
export const initialStock = (sku: string): number => (sku.startsWith("sold-out-") ? 0 : 100)

/** Lines of the same SKU added up, in first-seen order. */
export const mergeLines = (lines: ReadonlyArray<StockLine>): Array<StockLine> => {
  const merged = new Map<string, number>()
  for (const line of lines) merged.set(line.sku, (merged.get(line.sku) ?? 0) + line.quantity)
  return [...merged].map(([sku, quantity]) => ({ sku, quantity }))
}

/** An in-process warehouse. Each call is one synchronous step, so concurrent reservations cannot oversell. */
export const makeInventory = (stockOf: (sku: string) => number = initialStock): InventoryShape => {
  const onHand = new Map<string, number>()
  const reserved = new Map<string, number>()
  const reservations = new Map<string, { status: "held" | "committed" | "released"; items: ReadonlyArray<StockLine> }>()
  const hand = (sku: string) => onHand.get(sku) ?? stockOf(sku)
  const levelOf = (sku: string): StockLevel => {
    const held = reserved.get(sku) ?? 0
    return { sku, onHand: hand(sku), reserved: held, available: hand(sku) - held }
  }
  return {
    reserve: (key, lines) =>
      Effect.suspend((): Effect.Effect<{ reservationId: string; items: ReadonlyArray<StockLine> }, OutOfStock | ReservationClosed> => {
        const existing = reservations.get(key)
        if (existing !== undefined) {
          return existing.status === "released"
            ? Effect.fail(new ReservationClosed({ key }))
            : Effect.succeed({ reservationId: `rsv_${shortHash(key)}`, items: existing.items })
        }
        const items = mergeLines(lines)
        for (const line of items) {
          const available = levelOf(line.sku).available
          if (available < line.quantity) return Effect.fail(new OutOfStock({ sku: line.sku, requested: line.quantity, available }))
        }
        for (const line of items) reserved.set(line.sku, (reserved.get(line.sku) ?? 0) + line.quantity)
        reservations.set(key, { status: "held", items })
        return Effect.succeed({ reservationId: `rsv_${shortHash(key)}`, items })
      }),
    release: (key) =>
      Effect.sync(() => {
        const existing = reservations.get(key)
        if (existing === undefined) {
          reservations.set(key, { status: "released", items: [] })
          return { items: [] }
        }
        if (existing.status !== "held") return { items: [] }
        for (const line of existing.items) reserved.set(line.sku, (reserved.get(line.sku) ?? 0) - line.quantity)
        reservations.set(key, { status: "released", items: existing.items })
        return { items: existing.items }
      }),
    commit: (key) =>
      Effect.suspend((): Effect.Effect<{ items: ReadonlyArray<StockLine> }, ReservationClosed> => {
        const existing = reservations.get(key)
        if (existing === undefined || existing.status === "released") return Effect.fail(new ReservationClosed({ key }))
        if (existing.status === "held") {
          for (const line of existing.items) {
            reserved.set(line.sku, (reserved.get(line.sku) ?? 0) - line.quantity)
            onHand.set(line.sku, hand(line.sku) - line.quantity)
          }
          reservations.set(key, { status: "committed", items: existing.items })
        }
        return Effect.succeed({ items: existing.items })
      }),
    level: (sku) => Effect.sync(() => levelOf(sku))
  }
}

// -- Payments -----------------------------------------------------------------

export { PaymentDeclined, PaymentUnavailable, type Refund } from "../shared/test-payments.js"

/** What the gateway took under a key. */
export type Charge = Payment

export interface PaymentsShape {
  /** Charges once per key: the same key gives back the same charge. */
  readonly charge: (request: { readonly key: string; readonly amount: string; readonly method: string }) => Effect.Effect<Charge, PaymentDeclined | PaymentUnavailable>
  /** Refunds the charge made under the key, if any, and closes the key so that a late charge is refused. */
  readonly refund: (request: { readonly key: string }) => Effect.Effect<Refund>
}

export class Payments extends Context.Service<Payments, PaymentsShape>()("orrery/shop/Payments") {}

/**
 * A gateway with test cards (src/kit/test-payments.ts): `tok_declined` is
 * declined, `tok_flaky` fails transiently twice (per key) and then succeeds,
 * `tok_timeout` never answers; anything else is accepted.
 */
export const makePayments = (): PaymentsShape => {
  const gateway = makeTestGateway()
  return { charge: ({ key, amount, method }) => gateway.pay({ key, amount, card: method }), refund: gateway.refund }
}

// -- Shipping -----------------------------------------------------------------

export class ShipmentCancelled extends Schema.TaggedError<ShipmentCancelled>()("ShipmentCancelled", { key: Schema.String }) {
  override get message() {
    return `shipment ${this.key} was cancelled`
  }
}

export interface Shipment {
  readonly trackingNumber: string
  readonly carrier: string
}

export interface ShippingShape {
  /** Books one shipment per key. */
  readonly createShipment: (request: { readonly key: string; readonly customerId: string; readonly items: ReadonlyArray<StockLine> }) => Effect.Effect<Shipment, ShipmentCancelled>
  /** Cancels the shipment under the key (if any) and closes the key. */
  readonly cancelShipment: (request: { readonly key: string }) => Effect.Effect<{ readonly cancelled: boolean }>
}

export class Shipping extends Context.Service<Shipping, ShippingShape>()("orrery/shop/Shipping") {}

export const makeShipping = (): ShippingShape => {
  const shipments = new Map<string, Shipment>()
  const closed = new Set<string>()
  return {
    createShipment: ({ key }) =>
      Effect.suspend((): Effect.Effect<Shipment, ShipmentCancelled> => {
        if (closed.has(key)) return Effect.fail(new ShipmentCancelled({ key }))
        let shipment = shipments.get(key)
        if (shipment === undefined) {
          shipment = { trackingNumber: `TRK${shortHash(key).toUpperCase()}`, carrier: "Orrery Post" }
          shipments.set(key, shipment)
        }
        return Effect.succeed(shipment)
      }),
    cancelShipment: ({ key }) =>
      Effect.sync(() => {
        const wasOpen = !closed.has(key)
        closed.add(key)
        return { cancelled: wasOpen && shipments.has(key) }
      })
  }
}

/** The three in-process services, fresh state per build. */
export const inProcessServices: Layer.Layer<Inventory | Payments | Shipping> = Layer.mergeAll(
  Layer.sync(Inventory, () => makeInventory()),
  Layer.sync(Payments, () => makePayments()),
  Layer.sync(Shipping, () => makeShipping())
)

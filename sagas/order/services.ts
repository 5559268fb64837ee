/**
 * The outside world of an order: a warehouse (`Inventory`), a payment gateway
 * (`Payments`) and a carrier (`Shipping`). Each is an Effect service whose
 * state is kept in tables of the application's database (`durableServices`,
 * tables made by `shopMigrations`), so that a restart forgets nothing: a
 * reservation made before a crash is released after it, a charge refunded.
 * An application swaps one by providing another Layer.
 *
 * Every call carries an idempotency key that is stable for the order (see
 * `orderKey` in workflow.ts), so that retries, restarts and a second worker
 * never reserve, charge or ship twice: asking again under a key answers what
 * the key already did. Compensations (`release`, `refund`, `cancelShipment`)
 * also close their key: a call that was still in flight when the order gave up
 * cannot land afterwards.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Database, Migration, OrrerySchema, Queryable } from "orrery"
import { shortHash } from "../shared/hash.js"
import { answer, lockKeyIn, type Outcome, refuse, settle, store } from "../shared/store.js"
import { makeTestGateway, type Payment, type PaymentDeclined, type PaymentUnavailable, type Refund, testPaymentsMigration } from "../shared/test-payments.js"

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
  /**
   * Gives the reservation's units back (held, or committed to a shipment that was cancelled) and
   * closes the key; what was given back (nothing if nothing was reserved). Asked again, the same answer.
   */
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

/** The shop's tables: stock per SKU, reservations and shipments by idempotency key. */
export const shopMigration: Migration = {
  component: "shop",
  version: 1,
  name: "shop services: inventory, reservations, shipments",
  sql: (s) => `
    -- One row per SKU, made the first time an order names it: available + reserved + sold = initial, always.
    create table ${s}.shop_inventory (
      sku text primary key,
      initial integer not null check (initial >= 0),
      reserved integer not null default 0 check (reserved >= 0),
      sold integer not null default 0 check (sold >= 0),
      available integer generated always as (initial - reserved - sold) stored,
      constraint shop_inventory_never_oversold check (reserved + sold <= initial)
    );
    -- One row per reservation key: what it holds, and the answer its release gave.
    create table ${s}.shop_reservations (
      key text primary key,
      status text not null check (status in ('held', 'committed', 'released')),
      items jsonb not null,
      released jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create table ${s}.shop_shipments (
      key text primary key,
      status text not null check (status in ('booked', 'cancelled')),
      tracking_number text,
      carrier text,
      customer_id text,
      items jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );`
}

const bySku = (a: StockLine, b: StockLine) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)

/**
 * The warehouse over its tables (see sagas/shared/store.ts for the pattern):
 * each call is one transaction that locks its reservation key first, answers
 * again what the key already did, and otherwise locks the SKUs' rows in SKU
 * order, checks and moves the units. `stockOf` gives a new SKU its units.
 */
export const makeInventory = (stockOf: (sku: string) => number = initialStock): Effect.Effect<InventoryShape, never, Database | OrrerySchema> =>
  Effect.gen(function*() {
    const { schema: s, transaction, query } = yield* store
    type Reservation = { status: "held" | "committed" | "released"; items: ReadonlyArray<StockLine>; released: ReadonlyArray<StockLine> | null }
    const reservationOf = async (tx: Queryable, key: string) => {
      await lockKeyIn(tx, "shop_reservations", key)
      const [row] = await tx.query<Reservation>(`select status, items, released from ${s}.shop_reservations where key = $1`, [key])
      return row
    }
    /** Adds `reserved` and `sold` units (negative to give back) to each line's SKU, in SKU order. */
    const move = async (tx: Queryable, lines: ReadonlyArray<StockLine>, reserved: number, sold: number) => {
      for (const line of [...lines].sort(bySku)) {
        await tx.query(`update ${s}.shop_inventory set reserved = reserved + $2, sold = sold + $3 where sku = $1`, [
          line.sku,
          reserved * line.quantity,
          sold * line.quantity
        ])
      }
    }
    const reservationId = (key: string) => `rsv_${shortHash(key)}`
    return {
      reserve: (key, lines) =>
        settle(transaction(async (tx): Promise<Outcome<{ reservationId: string; items: ReadonlyArray<StockLine> }, OutOfStock | ReservationClosed>> => {
          const existing = await reservationOf(tx, key)
          if (existing !== undefined) {
            return existing.status === "released" ? refuse(new ReservationClosed({ key })) : answer({ reservationId: reservationId(key), items: existing.items })
          }
          const items = mergeLines(lines)
          // Lock every SKU's row in SKU order (made on first sight), then check all before taking any.
          for (const line of [...items].sort(bySku)) {
            await tx.query(`insert into ${s}.shop_inventory (sku, initial) values ($1, $2) on conflict (sku) do nothing`, [line.sku, stockOf(line.sku)])
          }
          const rows = await tx.query<{ sku: string; available: number }>(
            `select sku, available from ${s}.shop_inventory where sku in (select jsonb_array_elements_text($1::text::jsonb)) order by sku for update`,
            [JSON.stringify(items.map((line) => line.sku))]
          )
          const available = new Map(rows.map((row) => [row.sku, row.available]))
          for (const line of items) {
            const left = available.get(line.sku) ?? 0
            if (left < line.quantity) return refuse(new OutOfStock({ sku: line.sku, requested: line.quantity, available: left }))
          }
          await move(tx, items, 1, 0)
          await tx.query(`insert into ${s}.shop_reservations (key, status, items) values ($1, 'held', $2::text::jsonb)`, [key, JSON.stringify(items)])
          return answer({ reservationId: reservationId(key), items })
        })),
      release: (key) =>
        transaction(async (tx) => {
          const existing = await reservationOf(tx, key)
          if (existing === undefined) {
            // Never reserved: close the key, so that a reservation still in flight is refused.
            await tx.query(`insert into ${s}.shop_reservations (key, status, items, released) values ($1, 'released', '[]', '[]')`, [key])
            return { items: [] }
          }
          // Released already: the same answer as the first time (a retry after a crash must report the same units).
          if (existing.status === "released") return { items: existing.released ?? [] }
          // Held units go back; so do committed ones whose shipment was cancelled before the order shipped.
          await move(tx, existing.items, existing.status === "held" ? -1 : 0, existing.status === "committed" ? -1 : 0)
          await tx.query(`update ${s}.shop_reservations set status = 'released', released = items, updated_at = now() where key = $1`, [key])
          return { items: existing.items }
        }),
      commit: (key) =>
        settle(transaction(async (tx): Promise<Outcome<{ items: ReadonlyArray<StockLine> }, ReservationClosed>> => {
          const existing = await reservationOf(tx, key)
          if (existing === undefined || existing.status === "released") return refuse(new ReservationClosed({ key }))
          if (existing.status === "held") {
            await move(tx, existing.items, -1, 1)
            await tx.query(`update ${s}.shop_reservations set status = 'committed', updated_at = now() where key = $1`, [key])
          }
          return answer({ items: existing.items })
        })),
      level: (sku) =>
        Effect.map(
          query<{ initial: number; reserved: number; sold: number }>(`select initial, reserved, sold from ${s}.shop_inventory where sku = $1`, [sku]),
          ([row]): StockLevel => {
            const initial = row?.initial ?? stockOf(sku)
            const reserved = row?.reserved ?? 0
            const onHand = initial - (row?.sold ?? 0)
            return { sku, onHand, reserved, available: onHand - reserved }
          }
        )
    }
  })

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
 * The test payment gateway (sagas/shared/test-payments.ts): `tok_declined` is
 * declined, `tok_flaky` fails transiently twice (per key) and then succeeds,
 * `tok_timeout` never answers; anything else is accepted. Its charges and
 * refunds are rows of `test_payments`.
 */
export const makePayments: Effect.Effect<PaymentsShape, never, Database | OrrerySchema> = Effect.map(makeTestGateway, (gateway) => ({
  charge: ({ key, amount, method }) => gateway.pay({ key, amount, card: method }),
  refund: gateway.refund
}))

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

const trackingOf = (key: string): Shipment => ({ trackingNumber: `TRK${shortHash(key).toUpperCase()}`, carrier: "Orrery Post" })

/** The carrier over `shop_shipments`: one shipment per key; a cancelled key stays cancelled. */
export const makeShipping: Effect.Effect<ShippingShape, never, Database | OrrerySchema> = Effect.gen(function*() {
  const { schema: s, transaction } = yield* store
  const shipmentOf = async (tx: Queryable, key: string) => {
    await lockKeyIn(tx, "shop_shipments", key)
    const [row] = await tx.query<{ status: "booked" | "cancelled"; tracking_number: string | null; carrier: string | null }>(
      `select status, tracking_number, carrier from ${s}.shop_shipments where key = $1`,
      [key]
    )
    return row
  }
  return {
    createShipment: ({ key, customerId, items }) =>
      settle(transaction(async (tx): Promise<Outcome<Shipment, ShipmentCancelled>> => {
        const existing = await shipmentOf(tx, key)
        if (existing?.status === "cancelled") return refuse(new ShipmentCancelled({ key }))
        if (existing !== undefined) return answer({ trackingNumber: existing.tracking_number!, carrier: existing.carrier! })
        const shipment = trackingOf(key)
        await tx.query(
          `insert into ${s}.shop_shipments (key, status, tracking_number, carrier, customer_id, items) values ($1, 'booked', $2, $3, $4, $5::text::jsonb)`,
          [key, shipment.trackingNumber, shipment.carrier, customerId, JSON.stringify(items)]
        )
        return answer(shipment)
      })),
    cancelShipment: ({ key }) =>
      transaction(async (tx) => {
        const existing = await shipmentOf(tx, key)
        if (existing === undefined) {
          await tx.query(`insert into ${s}.shop_shipments (key, status) values ($1, 'cancelled')`, [key])
          return { cancelled: false }
        }
        if (existing.status === "booked") await tx.query(`update ${s}.shop_shipments set status = 'cancelled', updated_at = now() where key = $1`, [key])
        // The same answer every time: was a booked shipment cancelled under this key.
        return { cancelled: existing.tracking_number !== null }
      })
  }
})

/** The tables these services keep their state in (the domain declares them). */
export const shopMigrations: ReadonlyArray<Migration> = [shopMigration, testPaymentsMigration]

/** The three services over the application's database: what the order domain runs with. */
export const durableServices: Layer.Layer<Inventory | Payments | Shipping, never, Database | OrrerySchema> = Layer.mergeAll(
  Layer.effect(Inventory, makeInventory()),
  Layer.effect(Payments, makePayments),
  Layer.effect(Shipping, makeShipping)
)

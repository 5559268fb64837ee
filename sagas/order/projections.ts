/**
 * Read models of the shop's orders, fed by the order saga's domain events:
 * `orders` (status, items, total, timeline per order) and `stock` (units
 * reserved and sold per SKU). Rows depend on the events alone (times are the
 * events' recorded times), so a rebuild gives the same rows.
 */
import { defineProjection, type Queryable, type RecordedEvent } from "orrery"
import type { OrderLine, StockLine } from "./events.js"
import { initialStock } from "./services.js"

/** `order-<id>` → `<id>`: an instance's stream names it. */
export const orderIdOf = (event: Pick<RecordedEvent, "streamId">): string | undefined =>
  event.streamId.startsWith("order-") ? event.streamId.slice("order-".length) : undefined

const statusOf: Record<string, string | undefined> = {
  "order.created": "created",
  "order.stock_reserved": "stock_reserved",
  "order.paid": "paid",
  "order.shipped": "shipped",
  "order.delivered": "delivered",
  "order.cancelled": "cancelled"
}

const timelineEntry = (event: RecordedEvent) => {
  const { items: _items, ...data } = event.data as Record<string, unknown>
  return { type: event.type, at: event.recordedAt.toISOString(), data }
}

export const ordersProjection = defineProjection({
  name: "orders",
  types: ["order.created", "order.stock_reserved", "order.paid", "order.shipped", "order.delivered", "order.cancelled", "stock.released", "payment.refunded"],
  setup: (s) => `
    create table if not exists ${s}.shop_orders (
      order_id text primary key,
      customer_id text not null,
      status text not null,
      items jsonb not null,
      total numeric(14, 2) not null,
      payment_method text not null,
      charge_id text,
      tracking_number text,
      carrier text,
      cancel_cause text,
      cancel_reason text,
      refunded boolean not null default false,
      timeline jsonb not null default '[]'::jsonb,
      created_at timestamptz not null,
      updated_at timestamptz not null
    );
    create index if not exists shop_orders_customer on ${s}.shop_orders (customer_id, created_at desc);`,
  reset: (s) => `delete from ${s}.shop_orders;`,
  apply: async (tx, s, event) => {
    const orderId = orderIdOf(event)
    if (orderId === undefined) return
    const at = event.recordedAt.toISOString()
    const entry = JSON.stringify([timelineEntry(event)])
    const data = event.data as Record<string, any>
    if (event.type === "order.created") {
      await tx.query(
        `insert into ${s}.shop_orders (order_id, customer_id, status, items, total, payment_method, timeline, created_at, updated_at)
         values ($1, $2, 'created', $3::text::jsonb, $4::numeric, $5, $6::text::jsonb, $7::timestamptz, $7::timestamptz)
         on conflict (order_id) do nothing`,
        [orderId, data.customerId, JSON.stringify(data.items as ReadonlyArray<OrderLine>), data.total, data.paymentMethod, entry, at]
      )
      return
    }
    const status = statusOf[event.type] ?? null
    await tx.query(
      `update ${s}.shop_orders set
         status = coalesce($2, status),
         charge_id = coalesce($3, charge_id),
         tracking_number = coalesce($4, tracking_number),
         carrier = coalesce($5, carrier),
         cancel_cause = coalesce($6, cancel_cause),
         cancel_reason = coalesce($7, cancel_reason),
         refunded = refunded or $8,
         timeline = timeline || $9::text::jsonb,
         updated_at = $10::timestamptz
       where order_id = $1`,
      [
        orderId,
        status,
        event.type === "order.paid" ? data.chargeId : null,
        event.type === "order.shipped" ? data.trackingNumber : null,
        event.type === "order.shipped" ? data.carrier : null,
        event.type === "order.cancelled" ? data.cause : null,
        event.type === "order.cancelled" ? data.reason : null,
        event.type === "payment.refunded",
        entry,
        at
      ]
    )
  }
})

const moveStock = async (tx: Queryable, s: string, lines: ReadonlyArray<StockLine>, reserved: number, sold: number) => {
  for (const line of lines) {
    await tx.query(
      `insert into ${s}.shop_stock (sku, initial, reserved, sold) values ($1, $2, $3, $4)
       on conflict (sku) do update set reserved = ${s}.shop_stock.reserved + excluded.reserved, sold = ${s}.shop_stock.sold + excluded.sold`,
      [line.sku, initialStock(line.sku), reserved * line.quantity, sold * line.quantity]
    )
  }
}

export const stockProjection = defineProjection({
  name: "stock",
  types: ["order.stock_reserved", "stock.released", "order.shipped"],
  setup: (s) => `
    create table if not exists ${s}.shop_stock (
      sku text primary key,
      initial integer not null,
      reserved integer not null default 0,
      sold integer not null default 0
    );
    -- The orders whose reservation the log recorded: a release counts only against one of them.
    -- (New with the durable services: a database with rows from before it rebuilds once: orrery projections rebuild stock.)
    create table if not exists ${s}.shop_stock_orders (
      order_id text primary key
    );`,
  reset: (s) => `delete from ${s}.shop_stock; delete from ${s}.shop_stock_orders;`,
  apply: async (tx, s, event) => {
    const items = (event.data as { items: ReadonlyArray<StockLine> }).items
    const orderId = orderIdOf(event) ?? event.streamId
    switch (event.type) {
      case "order.stock_reserved":
        await tx.query(`insert into ${s}.shop_stock_orders (order_id) values ($1) on conflict do nothing`, [orderId])
        return moveStock(tx, s, items, 1, 0)
      case "stock.released": {
        // An order cancelled while its reservation was in flight releases units the log never saw reserved
        // (the reservation landed, its answer came too late): those moved nothing here, so nothing goes back.
        const recorded = await tx.query(`delete from ${s}.shop_stock_orders where order_id = $1 returning order_id`, [orderId])
        return recorded.length === 0 ? undefined : moveStock(tx, s, items, -1, 0)
      }
      case "order.shipped":
        await tx.query(`delete from ${s}.shop_stock_orders where order_id = $1`, [orderId])
        return moveStock(tx, s, items, -1, 1)
    }
  }
})

// -- reading ------------------------------------------------------------------

export interface OrderView {
  readonly orderId: string
  readonly customerId: string
  readonly status: string
  readonly items: ReadonlyArray<OrderLine>
  readonly total: string
  readonly paymentMethod: string
  readonly chargeId: string | null
  readonly trackingNumber: string | null
  readonly carrier: string | null
  readonly cancellation: { readonly cause: string; readonly reason: string } | null
  readonly refunded: boolean
  readonly timeline: ReadonlyArray<{ readonly type: string; readonly at: string; readonly data: unknown }>
  readonly createdAt: string
  readonly updatedAt: string
}

const orderColumns = `order_id, customer_id, status, items, total::text as total, payment_method, charge_id, tracking_number, carrier,
  cancel_cause, cancel_reason, refunded, timeline, created_at, updated_at`

const iso = (value: unknown) => new Date(value as string | Date).toISOString()
const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value)

const orderView = (row: Record<string, any>): OrderView => ({
  orderId: row.order_id,
  customerId: row.customer_id,
  status: row.status,
  items: json(row.items),
  total: row.total,
  paymentMethod: row.payment_method,
  chargeId: row.charge_id,
  trackingNumber: row.tracking_number,
  carrier: row.carrier,
  cancellation: row.cancel_cause === null ? null : { cause: row.cancel_cause, reason: row.cancel_reason ?? "" },
  refunded: row.refunded,
  timeline: json(row.timeline),
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at)
})

export const findOrder = async (db: Queryable, s: string, orderId: string): Promise<OrderView | undefined> => {
  const [row] = await db.query(`select ${orderColumns} from ${s}.shop_orders where order_id = $1`, [orderId])
  return row === undefined ? undefined : orderView(row)
}

export const listOrders = async (
  db: Queryable,
  s: string,
  filter: { readonly customerId?: string | undefined; readonly status?: string | undefined; readonly limit?: number | undefined }
): Promise<ReadonlyArray<OrderView>> => {
  const rows = await db.query(
    `select ${orderColumns} from ${s}.shop_orders
     where ($1::text is null or customer_id = $1) and ($2::text is null or status = $2)
     order by created_at desc, order_id limit $3`,
    [filter.customerId ?? null, filter.status ?? null, filter.limit ?? 50]
  )
  return rows.map(orderView)
}

export interface StockView {
  readonly sku: string
  readonly initial: number
  /** Units in the warehouse: initial minus those shipped. */
  readonly onHand: number
  readonly reserved: number
  readonly sold: number
  readonly available: number
}

const stockView = (sku: string, initial: number, reserved: number, sold: number): StockView => ({
  sku,
  initial,
  onHand: initial - sold,
  reserved,
  sold,
  available: initial - sold - reserved
})

/** A SKU no order has touched reads as its initial stock. */
export const findStock = async (db: Queryable, s: string, sku: string): Promise<StockView> => {
  const [row] = await db.query<{ initial: number; reserved: number; sold: number }>(`select initial, reserved, sold from ${s}.shop_stock where sku = $1`, [sku])
  return row === undefined ? stockView(sku, initialStock(sku), 0, 0) : stockView(sku, Number(row.initial), Number(row.reserved), Number(row.sold))
}

export const listStock = async (db: Queryable, s: string): Promise<ReadonlyArray<StockView>> => {
  const rows = await db.query<{ sku: string; initial: number; reserved: number; sold: number }>(`select sku, initial, reserved, sold from ${s}.shop_stock order by sku`)
  return rows.map((row) => stockView(row.sku, Number(row.initial), Number(row.reserved), Number(row.sold)))
}

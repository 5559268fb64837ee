/**
 * What must hold between the shop's and travel's services' tables, the log and
 * the read models however the process died: checked after a restart (and
 * after SIGKILLs) by the durability tests.
 */
import { expect } from "vitest"
import type { Queryable } from "../../../src/log/index.js"
import { initialStock } from "../../../sagas/order/index.js"
import { offerById } from "../../../sagas/booking/index.js"

const count = async (db: Queryable, sql: string, params: ReadonlyArray<unknown> = []) => Number((await db.query<{ n: unknown }>(sql, params))[0]!.n)

export interface Figures {
  readonly orders: Record<string, number>
  readonly bookings: Record<string, number>
  readonly refunds: number
  readonly releases: number
}

/** Checks every invariant in schema `s`; answers a few figures (statuses, refunds) for the report. */
export const checkInvariants = async (db: Queryable, s: string): Promise<Figures> => {
  // -- Stock: available + reserved + sold = initial for every SKU; the units match the reservations and the read model.
  const inventory = await db.query<{ sku: string; initial: number; reserved: number; sold: number; available: number }>(
    `select sku, initial, reserved, sold, available from ${s}.shop_inventory order by sku`
  )
  const byStatus = await db.query<{ sku: string; status: string; units: string }>(
    `select line->>'sku' as sku, r.status, sum((line->>'quantity')::int)::text as units
     from ${s}.shop_reservations r, jsonb_array_elements(r.items) line group by 1, 2`
  )
  const units = (sku: string, status: string) => Number(byStatus.find((row) => row.sku === sku && row.status === status)?.units ?? 0)
  const readModel = new Map(
    (await db.query<{ sku: string; initial: number; reserved: number; sold: number }>(`select sku, initial, reserved, sold from ${s}.shop_stock`)).map((row) => [row.sku, row])
  )
  for (const row of inventory) {
    expect(row.initial).toBe(initialStock(row.sku))
    expect(row.available + row.reserved + row.sold).toBe(row.initial)
    expect(row.available).toBeGreaterThanOrEqual(0)
    expect({ sku: row.sku, reserved: row.reserved, sold: row.sold }).toEqual({ sku: row.sku, reserved: units(row.sku, "held"), sold: units(row.sku, "committed") })
    const model = readModel.get(row.sku)
    expect({ sku: row.sku, reserved: model?.reserved ?? 0, sold: model?.sold ?? 0 }).toEqual({ sku: row.sku, reserved: row.reserved, sold: row.sold })
  }

  // -- Orders: a cancelled order holds nothing, was refunded iff it was charged, each exactly once.
  const orders = await db.query<{ order_id: string; status: string; refunded: boolean; reservation: string | null; charged: boolean; refund_id: string | null }>(
    `select o.order_id, o.status, o.refunded, r.status as reservation, coalesce(p.charge_id is not null, false) as charged, p.refund_id
     from ${s}.shop_orders o
     left join ${s}.shop_reservations r on r.key = 'order-' || o.order_id || '/stock'
     left join ${s}.test_payments p on p.key = 'order-' || o.order_id || '/payment'`
  )
  for (const order of orders) {
    if (order.status === "cancelled") {
      expect({ id: order.order_id, reservation: order.reservation === null || order.reservation === "released" }).toEqual({ id: order.order_id, reservation: true })
      expect({ id: order.order_id, refunded: order.refunded, refund: order.refund_id !== null }).toEqual({ id: order.order_id, refunded: order.charged, refund: order.charged })
    } else {
      expect({ id: order.order_id, status: order.status, refund: order.refund_id }).toEqual({ id: order.order_id, status: expect.stringMatching(/^(shipped|delivered)$/), refund: null })
      expect({ id: order.order_id, reservation: order.reservation }).toEqual({ id: order.order_id, reservation: "committed" })
    }
  }
  // Each compensation reported once at most: a refund or a release recorded twice would count twice in the read models.
  expect(await count(db, `select count(*) as n from (select stream_id from ${s}.events where type in ('payment.refunded', 'booking.refunded') group by stream_id, type having count(*) > 1) x`)).toBe(0)
  expect(await count(db, `select count(*) as n from (select stream_id from ${s}.events where type = 'stock.released' group by stream_id having count(*) > 1) x`)).toBe(0)
  // Every reservation released with units was reported released (the read model saw it), and only those.
  const releasedWithUnits = await count(db, `select count(*) as n from ${s}.shop_reservations where status = 'released' and jsonb_array_length(released) > 0`)
  expect(await count(db, `select count(*) as n from ${s}.events where type = 'stock.released'`)).toBe(releasedWithUnits)

  // -- Seats: never oversold; held and sold match the holds and the read model.
  const seats = await db.query<{ offer_id: string; capacity: number; held: number; sold: number }>(`select offer_id, capacity, held, sold from ${s}.travel_seats`)
  const holds = await db.query<{ offer_id: string; status: string; seats: string }>(
    `select offer_id, status, sum(seats)::text as seats from ${s}.travel_holds where offer_id is not null group by 1, 2`
  )
  const taken = new Map((await db.query<{ offer_id: string; taken: number }>(`select offer_id, taken from ${s}.travel_flight_seats`)).map((row) => [row.offer_id, row.taken]))
  for (const row of seats) {
    const seatsOf = (status: string) => Number(holds.find((hold) => hold.offer_id === row.offer_id && hold.status === status)?.seats ?? 0)
    expect(row.capacity).toBe(offerById(row.offer_id)!.seats)
    expect(row.held + row.sold).toBeLessThanOrEqual(row.capacity)
    expect({ offer: row.offer_id, held: row.held, sold: row.sold, model: taken.get(row.offer_id) ?? 0 }).toEqual({
      offer: row.offer_id,
      held: seatsOf("held"),
      sold: seatsOf("sold"),
      model: row.held + row.sold
    })
  }

  // -- Bookings: a cancelled or expired one holds no seat and every capture of it was refunded once.
  const bookings = await db.query<{ booking_id: string; status: string }>(`select booking_id, status from ${s}.travel_bookings`)
  for (const booking of bookings) {
    const key = `booking-${booking.booking_id}`
    const hold = await db.query<{ status: string }>(`select status from ${s}.travel_holds where key = $1`, [`${key}/seats`])
    const captures = await db.query<{ refund_id: string | null }>(`select refund_id from ${s}.test_payments where key like $1 and charge_id is not null`, [`${key}/payment/%`])
    if (booking.status === "cancelled" || booking.status === "expired") {
      expect({ id: booking.booking_id, hold: hold[0]?.status ?? "released" }).toEqual({ id: booking.booking_id, hold: "released" })
      expect({ id: booking.booking_id, unrefunded: captures.filter((capture) => capture.refund_id === null).length }).toEqual({ id: booking.booking_id, unrefunded: 0 })
    } else if (booking.status === "confirmed") {
      expect({ id: booking.booking_id, hold: hold[0]?.status, refunds: captures.filter((capture) => capture.refund_id !== null).length }).toEqual({ id: booking.booking_id, hold: "sold", refunds: 0 })
    }
  }

  const tally = (rows: ReadonlyArray<{ status: string }>) => rows.reduce<Record<string, number>>((all, row) => ({ ...all, [row.status]: (all[row.status] ?? 0) + 1 }), {})
  return {
    orders: tally(orders),
    bookings: tally(bookings),
    refunds: await count(db, `select count(*) as n from ${s}.test_payments where refund_id is not null`),
    releases: releasedWithUnits
  }
}

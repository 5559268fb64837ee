/**
 * Read models of travel, fed by the booking saga's domain events: `bookings`
 * (one row per booking, found by user) and `flight-seats` (seats held or sold
 * per offer; seats left = the offer's seats minus those). Rows depend on the
 * events alone, so a rebuild gives the same rows.
 *
 * The read side only reports seats: holding them — and refusing the last seat
 * to all but one of two racing bookings — is the SeatInventory's job.
 */
import { defineProjection, type Queryable, type RecordedEvent } from "orrery"
import { offerById } from "./offers.js"

/** `booking-<id>` → `<id>`. */
export const bookingIdOf = (event: Pick<RecordedEvent, "streamId">): string | undefined =>
  event.streamId.startsWith("booking-") ? event.streamId.slice("booking-".length) : undefined

export const bookingsProjection = defineProjection({
  name: "bookings",
  types: [
    "flight.booked",
    "booking.payment_failed",
    "booking.payment_captured",
    "booking.ticket_issued",
    "booking.refunded",
    "booking.cancelled",
    "booking.expired",
    "booking.rejected"
  ],
  setup: (s) => `
    create table if not exists ${s}.travel_bookings (
      booking_id text primary key,
      user_id text not null,
      email text not null,
      offer_id text not null,
      adults integer not null,
      flight_number text,
      origin text,
      destination text,
      departure timestamptz,
      total_price numeric(14, 2),
      currency text,
      status text not null,
      hold_expires_at timestamptz,
      charge_id text,
      ticket_number text,
      refunded boolean not null default false,
      payment_failures integer not null default 0,
      reason text,
      created_at timestamptz not null,
      updated_at timestamptz not null
    );
    create index if not exists travel_bookings_user on ${s}.travel_bookings (user_id, created_at desc);`,
  reset: (s) => `delete from ${s}.travel_bookings;`,
  apply: async (tx, s, event) => {
    const bookingId = bookingIdOf(event)
    if (bookingId === undefined) return
    const at = event.recordedAt.toISOString()
    const data = event.data as Record<string, any>
    switch (event.type) {
      case "flight.booked":
        await tx.query(
          `insert into ${s}.travel_bookings (booking_id, user_id, email, offer_id, adults, flight_number, origin, destination, departure,
             total_price, currency, status, hold_expires_at, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, $10::numeric, $11, 'awaiting_payment', $12::timestamptz, $13::timestamptz, $13::timestamptz)
           on conflict (booking_id) do nothing`,
          [bookingId, data.userId, data.email, data.offerId, data.adults, data.flightNumber, data.from, data.to, data.departure, data.totalPrice, data.currency, data.holdExpiresAt, at]
        )
        return
      case "booking.rejected":
        await tx.query(
          `insert into ${s}.travel_bookings (booking_id, user_id, email, offer_id, adults, status, reason, created_at, updated_at)
           values ($1, $2, $3, $4, $5, 'rejected', $6, $7::timestamptz, $7::timestamptz)
           on conflict (booking_id) do nothing`,
          [bookingId, data.userId, data.email, data.offerId, data.adults, `${data.reason}: ${data.detail}`, at]
        )
        return
    }
    const change: Record<string, readonly [string, unknown]> = {
      "booking.payment_failed": ["payment_failures = payment_failures + 1, reason = $3", data.reason],
      "booking.payment_captured": ["status = 'paid', charge_id = $3", data.chargeId],
      "booking.ticket_issued": ["status = 'confirmed', ticket_number = $3, hold_expires_at = null", data.ticketNumber],
      "booking.refunded": ["refunded = true, reason = coalesce(reason, $3::text)", null],
      "booking.cancelled": ["status = 'cancelled', reason = $3", data.reason],
      "booking.expired": ["status = 'expired', hold_expires_at = null, reason = $3", "the seat hold expired before payment"]
    }
    const [set, value] = change[event.type] ?? []
    if (set === undefined) return
    await tx.query(`update ${s}.travel_bookings set ${set}, updated_at = $2::timestamptz where booking_id = $1`, [bookingId, at, value])
  }
})

export const flightSeatsProjection = defineProjection({
  name: "flight-seats",
  types: ["booking.seat_held", "booking.cancelled", "booking.expired"],
  setup: (s) => `
    create table if not exists ${s}.travel_flight_seats (
      offer_id text primary key,
      capacity integer not null,
      taken integer not null default 0
    );`,
  reset: (s) => `delete from ${s}.travel_flight_seats;`,
  apply: async (tx, s, event) => {
    const data = event.data as { offerId: string; seats?: number; seatsReleased?: number }
    const delta = event.type === "booking.seat_held" ? (data.seats ?? 0) : -(data.seatsReleased ?? 0)
    if (delta === 0) return
    await tx.query(
      `insert into ${s}.travel_flight_seats (offer_id, capacity, taken) values ($1, $2, $3)
       on conflict (offer_id) do update set taken = ${s}.travel_flight_seats.taken + excluded.taken`,
      [data.offerId, offerById(data.offerId)?.seats ?? 0, delta]
    )
  }
})

// -- reading ------------------------------------------------------------------

/** Seats held or sold per offer, for the offers asked about (absent: none). */
export const seatsTaken = async (db: Queryable, s: string, offerIds: ReadonlyArray<string>): Promise<ReadonlyMap<string, number>> => {
  if (offerIds.length === 0) return new Map()
  const rows = await db.query<{ offer_id: string; taken: number }>(
    `select offer_id, taken from ${s}.travel_flight_seats where offer_id in (select jsonb_array_elements_text($1::text::jsonb))`,
    [JSON.stringify(offerIds)]
  )
  return new Map(rows.map((row) => [row.offer_id, Number(row.taken)]))
}

export interface BookingView {
  readonly bookingId: string
  readonly userId: string
  readonly email: string
  readonly offerId: string
  readonly adults: number
  readonly flightNumber: string | null
  readonly from: string | null
  readonly to: string | null
  readonly departure: string | null
  readonly totalPrice: string | null
  readonly currency: string | null
  readonly status: string
  readonly holdExpiresAt: string | null
  readonly chargeId: string | null
  readonly ticketNumber: string | null
  readonly refunded: boolean
  readonly paymentFailures: number
  readonly reason: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

const isoOrNull = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString())

const bookingView = (row: Record<string, any>): BookingView => ({
  bookingId: row.booking_id,
  userId: row.user_id,
  email: row.email,
  offerId: row.offer_id,
  adults: Number(row.adults),
  flightNumber: row.flight_number,
  from: row.origin,
  to: row.destination,
  departure: isoOrNull(row.departure),
  totalPrice: row.total_price,
  currency: row.currency,
  status: row.status,
  holdExpiresAt: isoOrNull(row.hold_expires_at),
  chargeId: row.charge_id,
  ticketNumber: row.ticket_number,
  refunded: row.refunded,
  paymentFailures: Number(row.payment_failures),
  reason: row.reason,
  createdAt: isoOrNull(row.created_at)!,
  updatedAt: isoOrNull(row.updated_at)!
})

const bookingColumns = `booking_id, user_id, email, offer_id, adults, flight_number, origin, destination, departure, total_price::text as total_price,
  currency, status, hold_expires_at, charge_id, ticket_number, refunded, payment_failures, reason, created_at, updated_at`

export const findBooking = async (db: Queryable, s: string, bookingId: string): Promise<BookingView | undefined> => {
  const [row] = await db.query(`select ${bookingColumns} from ${s}.travel_bookings where booking_id = $1`, [bookingId])
  return row === undefined ? undefined : bookingView(row)
}

export const bookingsOf = async (db: Queryable, s: string, userId: string, limit = 100): Promise<ReadonlyArray<BookingView>> => {
  const rows = await db.query(
    `select ${bookingColumns} from ${s}.travel_bookings where user_id = $1 order by created_at desc, booking_id limit $2`,
    [userId, limit]
  )
  return rows.map(bookingView)
}

/**
 * The outside world of a booking: the airline's seat inventory, a payment
 * gateway and a ticketing system. Each is an Effect service whose state is
 * kept in tables of the application's database (`durableServices`, tables
 * made by `travelMigrations`), so that holds, captures and tickets survive a
 * restart. An application swaps one by providing another Layer.
 *
 * Holding seats is where "two bookings for the last seat, exactly one wins" is
 * enforced: a hold locks the offer's row, checks and takes the seats in one
 * transaction, so the seats left never go below zero whatever the read side
 * shows (a check constraint says so too). Every call carries a per-booking
 * idempotency key and answers again what its key already did; a release
 * closes its key, so that a hold still in flight when the booking gave up
 * cannot land afterwards.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import type { Database, Migration, OrrerySchema, Queryable } from "orrery"
import { shortHash } from "../shared/hash.js"
import { answer, lockKeyIn, type Outcome, refuse, settle, store } from "../shared/store.js"
import { makeTestGateway, type Payment, type PaymentDeclined, type PaymentUnavailable, type Refund, testPaymentsMigration } from "../shared/test-payments.js"
import { type FlightOffer, offerById, totalPrice } from "./offers.js"

// -- Seat inventory -----------------------------------------------------------

export class SoldOut extends Schema.TaggedError<SoldOut>()("SoldOut", { offerId: Schema.String, requested: Schema.Number, available: Schema.Number }) {
  override get message() {
    return `${this.offerId}: ${this.requested} seat(s) requested, ${this.available} left`
  }
}
export class UnknownOffer extends Schema.TaggedError<UnknownOffer>()("UnknownOffer", { offerId: Schema.String }) {
  override get message() {
    return `no offer ${this.offerId}`
  }
}
export class FlightDeparted extends Schema.TaggedError<FlightDeparted>()("FlightDeparted", { offerId: Schema.String, departure: Schema.String }) {
  override get message() {
    return `${this.offerId} departed at ${this.departure}`
  }
}
/** The hold under this key was released: it cannot be taken or confirmed any more. */
export class HoldClosed extends Schema.TaggedError<HoldClosed>()("HoldClosed", { key: Schema.String }) {
  override get message() {
    return `hold ${this.key} is closed`
  }
}

export interface Hold {
  readonly holdId: string
  readonly offerId: string
  readonly seats: number
  /** Seats left on the offer right after this hold. */
  readonly seatsLeft: number
  readonly unitPrice: string
  readonly totalPrice: string
  readonly currency: string
  readonly from: string
  readonly to: string
  readonly flightNumber: string
  readonly departure: string
  /** When the inventory took the seats, and until when it keeps them for payment (ISO). */
  readonly heldAt: string
  readonly expiresAt: string
}

export interface SeatInventoryShape {
  /** Takes `seats` seats of the offer for `holdMs` or fails; the same key gives back the same hold. */
  readonly hold: (request: { readonly key: string; readonly offerId: string; readonly seats: number; readonly holdMs: number }) => Effect.Effect<Hold, SoldOut | UnknownOffer | FlightDeparted | HoldClosed>
  /** The held seats become sold (the ticket was issued). */
  readonly confirm: (request: { readonly key: string }) => Effect.Effect<{ readonly seats: number }, HoldClosed>
  /** Gives the seats back (held or sold) and closes the key; how many went back (asked again, the same answer). */
  readonly release: (request: { readonly key: string }) => Effect.Effect<{ readonly seats: number }>
  /** Seats left on an offer, or undefined for an unknown offer. */
  readonly seatsLeft: (offerId: string) => Effect.Effect<number | undefined>
}

export class SeatInventory extends Context.Service<SeatInventory, SeatInventoryShape>()("orrery/travel/SeatInventory") {}

/** The travel tables: seats per offer, holds and tickets by idempotency key. */
export const travelMigration: Migration = {
  component: "travel",
  version: 1,
  name: "travel services: seats, holds, tickets",
  sql: (s) => `
    -- One row per offer, made the first time a booking holds it: held + sold never above its seats.
    create table ${s}.travel_seats (
      offer_id text primary key,
      capacity integer not null check (capacity >= 0),
      held integer not null default 0 check (held >= 0),
      sold integer not null default 0 check (sold >= 0),
      constraint travel_seats_never_oversold check (held + sold <= capacity)
    );
    -- One row per hold key: the hold as answered, its status, and the seats its release gave back.
    create table ${s}.travel_holds (
      key text primary key,
      status text not null check (status in ('held', 'sold', 'released')),
      offer_id text,
      seats integer not null default 0,
      hold jsonb,
      released_seats integer,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create table ${s}.travel_tickets (
      key text primary key,
      ticket_number text not null,
      offer_id text not null,
      passengers integer not null,
      email text not null,
      voided boolean not null default false,
      issued_at timestamptz not null default now()
    );`
}

/**
 * The seat inventory over its tables (see sagas/shared/store.ts for the
 * pattern): a hold locks its key, answers again what the key already did, and
 * otherwise locks the offer's row, checks and takes the seats in the same
 * transaction — two bookings for the last seat: exactly one wins. `offerOf`
 * names the offers (their seats are the starting count).
 */
export const makeSeatInventory = (
  offerOf: (offerId: string) => FlightOffer | undefined = offerById
): Effect.Effect<SeatInventoryShape, never, Database | OrrerySchema> =>
  Effect.gen(function*() {
    const { schema: s, transaction, query } = yield* store
    type HoldRow = { status: "held" | "sold" | "released"; offer_id: string | null; seats: number; hold: Hold | null; released_seats: number | null }
    const holdOf = async (tx: Queryable, key: string) => {
      await lockKeyIn(tx, "travel_holds", key)
      const [row] = await tx.query<HoldRow>(`select status, offer_id, seats, hold, released_seats from ${s}.travel_holds where key = $1`, [key])
      return row
    }
    const moveSeats = (tx: Queryable, offerId: string, held: number, sold: number) =>
      tx.query(`update ${s}.travel_seats set held = held + $2, sold = sold + $3 where offer_id = $1`, [offerId, held, sold])
    return {
      hold: ({ key, offerId, seats, holdMs }) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          settle(transaction(async (tx): Promise<Outcome<Hold, SoldOut | UnknownOffer | FlightDeparted | HoldClosed>> => {
            const existing = await holdOf(tx, key)
            if (existing !== undefined) return existing.status === "released" || existing.hold === null ? refuse(new HoldClosed({ key })) : answer(existing.hold)
            const offer = offerOf(offerId)
            if (offer === undefined) return refuse(new UnknownOffer({ offerId }))
            if (Date.parse(offer.departure) <= now) return refuse(new FlightDeparted({ offerId, departure: offer.departure }))
            await tx.query(`insert into ${s}.travel_seats (offer_id, capacity) values ($1, $2) on conflict (offer_id) do nothing`, [offerId, offer.seats])
            const [row] = await tx.query<{ seats_left: number }>(`select capacity - held - sold as seats_left from ${s}.travel_seats where offer_id = $1 for update`, [offerId])
            const available = row!.seats_left
            if (available < seats) return refuse(new SoldOut({ offerId, requested: seats, available }))
            await moveSeats(tx, offerId, seats, 0)
            const hold: Hold = {
              holdId: `hold_${shortHash(key)}`,
              offerId,
              seats,
              seatsLeft: available - seats,
              unitPrice: offer.price,
              totalPrice: totalPrice(offer, seats),
              currency: offer.currency,
              from: offer.from,
              to: offer.to,
              flightNumber: offer.flightNumber,
              departure: offer.departure,
              heldAt: new Date(now).toISOString(),
              expiresAt: new Date(now + holdMs).toISOString()
            }
            await tx.query(`insert into ${s}.travel_holds (key, status, offer_id, seats, hold) values ($1, 'held', $2, $3, $4::text::jsonb)`, [
              key,
              offerId,
              seats,
              JSON.stringify(hold)
            ])
            return answer(hold)
          }))
        ),
      confirm: ({ key }) =>
        settle(transaction(async (tx): Promise<Outcome<{ seats: number }, HoldClosed>> => {
          const existing = await holdOf(tx, key)
          if (existing === undefined || existing.status === "released" || existing.offer_id === null) return refuse(new HoldClosed({ key }))
          if (existing.status === "held") {
            await moveSeats(tx, existing.offer_id, -existing.seats, existing.seats)
            await tx.query(`update ${s}.travel_holds set status = 'sold', updated_at = now() where key = $1`, [key])
          }
          return answer({ seats: existing.seats })
        })),
      release: ({ key }) =>
        transaction(async (tx) => {
          const existing = await holdOf(tx, key)
          if (existing === undefined) {
            // Never held: close the key, so that a hold still in flight is refused.
            await tx.query(`insert into ${s}.travel_holds (key, status, released_seats) values ($1, 'released', 0)`, [key])
            return { seats: 0 }
          }
          // Released already: the same answer as the first time (a retry after a crash reports the same seats).
          if (existing.status === "released" || existing.offer_id === null) return { seats: existing.released_seats ?? 0 }
          await moveSeats(tx, existing.offer_id, existing.status === "held" ? -existing.seats : 0, existing.status === "sold" ? -existing.seats : 0)
          await tx.query(`update ${s}.travel_holds set status = 'released', released_seats = seats, updated_at = now() where key = $1`, [key])
          return { seats: existing.seats }
        }),
      seatsLeft: (offerId) =>
        Effect.map(query<{ seats_left: number }>(`select capacity - held - sold as seats_left from ${s}.travel_seats where offer_id = $1`, [offerId]), ([row]) => {
          const offer = offerOf(offerId)
          return offer === undefined ? undefined : (row?.seats_left ?? offer.seats)
        })
    }
  })

// -- Payments -----------------------------------------------------------------

export { PaymentDeclined, PaymentUnavailable, type Refund } from "../shared/test-payments.js"

/** What the gateway took under a key. */
export type Capture = Payment

export interface PaymentsShape {
  /** Captures once per key: the same key gives back the same capture. */
  readonly capture: (request: { readonly key: string; readonly amount: string; readonly token: string }) => Effect.Effect<Capture, PaymentDeclined | PaymentUnavailable>
  /** Refunds the capture made under the key, if any, and closes the key so that a late capture is refused. */
  readonly refund: (request: { readonly key: string }) => Effect.Effect<Refund>
}

export class Payments extends Context.Service<Payments, PaymentsShape>()("orrery/travel/Payments") {}

/**
 * The test payment gateway (sagas/shared/test-payments.ts): `tok_declined` is
 * declined, `tok_flaky` fails transiently twice (per key) and then succeeds,
 * `tok_timeout` never answers; anything else is accepted. Its captures and
 * refunds are rows of `test_payments`.
 */
export const makePayments: Effect.Effect<PaymentsShape, never, Database | OrrerySchema> = Effect.map(makeTestGateway, (gateway) => ({
  capture: ({ key, amount, token }) => gateway.pay({ key, amount, card: token }),
  refund: gateway.refund
}))

// -- Ticketing ----------------------------------------------------------------

export interface TicketingShape {
  /** Issues one ticket per key. */
  readonly issue: (request: { readonly key: string; readonly offerId: string; readonly passengers: number; readonly email: string }) => Effect.Effect<{ readonly ticketNumber: string }>
  /** Voids the ticket under the key, if any: whether there is one, void now. */
  readonly void: (request: { readonly key: string }) => Effect.Effect<{ readonly voided: boolean }>
}

export class Ticketing extends Context.Service<Ticketing, TicketingShape>()("orrery/travel/Ticketing") {}

/** 13 digits, like an e-ticket number: a carrier prefix and a serial from the key. */
const ticketNumberOf = (key: string) => `057${String(parseInt(shortHash(key).slice(0, 10), 16)).padStart(10, "0").slice(-10)}`

/** The ticketing system over `travel_tickets`: one ticket per key. */
export const makeTicketing: Effect.Effect<TicketingShape, never, Database | OrrerySchema> = Effect.gen(function*() {
  const { schema: s, transaction } = yield* store
  return {
    issue: ({ key, offerId, passengers, email }) =>
      transaction(async (tx) => {
        // One statement: a second issue under the key waits for the first and finds its row.
        await tx.query(
          `insert into ${s}.travel_tickets (key, ticket_number, offer_id, passengers, email) values ($1, $2, $3, $4, $5) on conflict (key) do nothing`,
          [key, ticketNumberOf(key), offerId, passengers, email]
        )
        const [row] = await tx.query<{ ticket_number: string }>(`select ticket_number from ${s}.travel_tickets where key = $1`, [key])
        return { ticketNumber: row!.ticket_number }
      }),
    void: ({ key }) =>
      transaction(async (tx) => {
        // The same answer every time: is there a ticket under the key, and is it void now.
        const [row] = await tx.query<{ voided: boolean }>(`update ${s}.travel_tickets set voided = true where key = $1 returning voided`, [key])
        return { voided: row?.voided === true }
      })
  }
})

/** The tables these services keep their state in (the domain declares them). */
export const travelMigrations: ReadonlyArray<Migration> = [travelMigration, testPaymentsMigration]

/** The three services over the application's database: what the travel domain runs with. */
export const durableServices: Layer.Layer<SeatInventory | Payments | Ticketing, never, Database | OrrerySchema> = Layer.mergeAll(
  Layer.effect(SeatInventory, makeSeatInventory()),
  Layer.effect(Payments, makePayments),
  Layer.effect(Ticketing, makeTicketing)
)

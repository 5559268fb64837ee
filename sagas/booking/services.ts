/**
 * The outside world of a booking: the airline's seat inventory, a payment
 * gateway and a ticketing system. Each is an Effect service with a
 * deterministic in-process implementation (`inProcessServices`), used by
 * default and in tests; an application swaps one by providing another Layer.
 *
 * Holding seats is where "two bookings for the last seat, exactly one wins" is
 * enforced: a hold checks and takes the seats in one indivisible step, so the
 * seats left never go below zero whatever the read side shows. Every call
 * carries a per-booking idempotency key; a release closes its key, so that a
 * hold still in flight when the booking gave up cannot land afterwards.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { shortHash } from "../shared/hash.js"
import { makeTestGateway, type Payment, type PaymentDeclined, type PaymentUnavailable, type Refund } from "../shared/test-payments.js"
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
  /** Gives the seats back (held or sold) and closes the key; how many went back. */
  readonly release: (request: { readonly key: string }) => Effect.Effect<{ readonly seats: number }>
  /** Seats left on an offer, or undefined for an unknown offer. */
  readonly seatsLeft: (offerId: string) => Effect.Effect<number | undefined>
}

export class SeatInventory extends Context.Service<SeatInventory, SeatInventoryShape>()("orrery/travel/SeatInventory") {}

/** An in-process seat inventory; each offer starts with the seats its generator gives it. */
export const makeSeatInventory = (offerOf: (offerId: string) => FlightOffer | undefined = offerById): SeatInventoryShape => {
  const taken = new Map<string, number>()
  const holds = new Map<string, { status: "held" | "sold" | "released"; hold: Hold | null }>()
  const left = (offer: FlightOffer) => offer.seats - (taken.get(offer.id) ?? 0)
  return {
    hold: ({ key, offerId, seats, holdMs }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<Hold, SoldOut | UnknownOffer | FlightDeparted | HoldClosed> => {
        // One synchronous step from here on: check and take cannot interleave with another hold.
        const existing = holds.get(key)
        if (existing !== undefined) return existing.hold === null || existing.status === "released" ? Effect.fail(new HoldClosed({ key })) : Effect.succeed(existing.hold)
        const offer = offerOf(offerId)
        if (offer === undefined) return Effect.fail(new UnknownOffer({ offerId }))
        if (Date.parse(offer.departure) <= now) return Effect.fail(new FlightDeparted({ offerId, departure: offer.departure }))
        const available = left(offer)
        if (available < seats) return Effect.fail(new SoldOut({ offerId, requested: seats, available }))
        taken.set(offerId, (taken.get(offerId) ?? 0) + seats)
        const hold: Hold = {
          holdId: `hold_${shortHash(key)}`,
          offerId,
          seats,
          seatsLeft: left(offer),
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
        holds.set(key, { status: "held", hold })
        return Effect.succeed(hold)
      }),
    confirm: ({ key }) =>
      Effect.suspend((): Effect.Effect<{ seats: number }, HoldClosed> => {
        const existing = holds.get(key)
        if (existing === undefined || existing.hold === null || existing.status === "released") return Effect.fail(new HoldClosed({ key }))
        existing.status = "sold"
        return Effect.succeed({ seats: existing.hold.seats })
      }),
    release: ({ key }) =>
      Effect.sync(() => {
        const existing = holds.get(key)
        if (existing === undefined) {
          holds.set(key, { status: "released", hold: null })
          return { seats: 0 }
        }
        if (existing.status === "released" || existing.hold === null) return { seats: 0 }
        existing.status = "released"
        taken.set(existing.hold.offerId, (taken.get(existing.hold.offerId) ?? 0) - existing.hold.seats)
        return { seats: existing.hold.seats }
      }),
    seatsLeft: (offerId) =>
      Effect.sync(() => {
        const offer = offerOf(offerId)
        return offer === undefined ? undefined : left(offer)
      })
  }
}

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
 * A gateway with test cards (src/kit/test-payments.ts): `tok_declined` is
 * declined, `tok_flaky` fails transiently twice (per key) and then succeeds,
 * `tok_timeout` never answers; anything else is accepted.
 */
export const makePayments = (): PaymentsShape => {
  const gateway = makeTestGateway()
  return { capture: ({ key, amount, token }) => gateway.pay({ key, amount, card: token }), refund: gateway.refund }
}

// -- Ticketing ----------------------------------------------------------------

export interface TicketingShape {
  /** Issues one ticket per key. */
  readonly issue: (request: { readonly key: string; readonly offerId: string; readonly passengers: number; readonly email: string }) => Effect.Effect<{ readonly ticketNumber: string }>
  /** Voids the ticket under the key, if any. */
  readonly void: (request: { readonly key: string }) => Effect.Effect<{ readonly voided: boolean }>
}

export class Ticketing extends Context.Service<Ticketing, TicketingShape>()("orrery/travel/Ticketing") {}

export const makeTicketing = (): TicketingShape => {
  const tickets = new Map<string, { ticketNumber: string; voided: boolean }>()
  return {
    issue: ({ key }) =>
      Effect.sync(() => {
        let ticket = tickets.get(key)
        if (ticket === undefined) {
          // 13 digits, like an e-ticket number: a carrier prefix and a serial from the key.
          ticket = { ticketNumber: `057${String(parseInt(shortHash(key).slice(0, 10), 16)).padStart(10, "0").slice(-10)}`, voided: false }
          tickets.set(key, ticket)
        }
        return { ticketNumber: ticket.ticketNumber }
      }),
    void: ({ key }) =>
      Effect.sync(() => {
        const ticket = tickets.get(key)
        if (ticket === undefined || ticket.voided) return { voided: false }
        ticket.voided = true
        return { voided: true }
      })
  }
}

/** The three in-process services, fresh state per build. */
export const inProcessServices: Layer.Layer<SeatInventory | Payments | Ticketing> = Layer.mergeAll(
  Layer.sync(SeatInventory, () => makeSeatInventory()),
  Layer.sync(Payments, () => makePayments()),
  Layer.sync(Ticketing, () => makeTicketing())
)

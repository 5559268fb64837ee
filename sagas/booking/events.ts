/** The booking saga's schemas: its input, the events clients send, the domain events it emits. */
import { Schema } from "effect"
import { defineEvent } from "orrery"
import { Money } from "../shared/money.js"
import { offerIdPattern } from "./offers.js"

const NonEmpty = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))
export const OfferId = Schema.String.check(Schema.isPattern(offerIdPattern, { message: "must be an offer id like PAR-LON-20300115-0" }))
export const Adults = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 9 }))
export const Email = Schema.String.check(
  Schema.isMaxLength(254),
  Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: "must be an email address" })
)

export const BookingInput = Schema.Struct({ offerId: OfferId, adults: Adults, userId: NonEmpty, email: Email })
export type BookingInput = typeof BookingInput.Type

export const accepts = {
  /** While awaiting payment: capture the price with this payment token (test cards: tok_declined, tok_flaky, tok_timeout). */
  PAY: Schema.Struct({ paymentToken: NonEmpty }),
  /** While awaiting payment (the seats go back) or confirmed before departure (refunded, the seats go back). */
  CANCEL: Schema.Struct({ reason: NonEmpty })
}

export const RejectReason = Schema.Literals(["sold_out", "unknown_offer", "departed"])
export type RejectReason = typeof RejectReason.Type

export const SeatHeld = defineEvent(
  "booking.seat_held",
  Schema.Struct({ offerId: Schema.String, seats: Schema.Number, holdId: Schema.String, seatsLeft: Schema.Number, expiresAt: Schema.String })
)
export const FlightBooked = defineEvent(
  "flight.booked",
  Schema.Struct({
    offerId: Schema.String,
    userId: Schema.String,
    email: Schema.String,
    adults: Schema.Number,
    from: Schema.String,
    to: Schema.String,
    flightNumber: Schema.String,
    departure: Schema.String,
    totalPrice: Money,
    currency: Schema.String,
    holdExpiresAt: Schema.String
  })
)
export const PaymentFailed = defineEvent("booking.payment_failed", Schema.Struct({ attempt: Schema.Number, reason: Schema.String }))
export const PaymentCaptured = defineEvent(
  "booking.payment_captured",
  Schema.Struct({ chargeId: Schema.String, amount: Money, attempt: Schema.Number })
)
export const TicketIssued = defineEvent("booking.ticket_issued", Schema.Struct({ ticketNumber: Schema.String }))
export const BookingRefunded = defineEvent("booking.refunded", Schema.Struct({ refundId: Schema.String, amount: Money }))
export const BookingCancelled = defineEvent(
  "booking.cancelled",
  Schema.Struct({ offerId: Schema.String, reason: Schema.String, seatsReleased: Schema.Number, refunded: Schema.Boolean })
)
export const BookingExpired = defineEvent("booking.expired", Schema.Struct({ offerId: Schema.String, seatsReleased: Schema.Number }))
export const BookingRejected = defineEvent(
  "booking.rejected",
  Schema.Struct({ offerId: Schema.String, userId: Schema.String, email: Schema.String, adults: Schema.Number, reason: RejectReason, detail: Schema.String })
)

export const bookingEvents = [
  SeatHeld,
  FlightBooked,
  PaymentFailed,
  PaymentCaptured,
  TicketIssued,
  BookingRefunded,
  BookingCancelled,
  BookingExpired,
  BookingRejected
] as const

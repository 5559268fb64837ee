/**
 * The booking saga.
 *
 *   holding ──held──▶ awaiting_payment ──PAY──▶ capturing ──ok──▶ ticketing ──▶ confirmed ──departure──▶ flown
 *      │ sold out          │ ▲ declined ◀─────────┘                               │ CANCEL
 *      ▼                   │ CANCEL / hold expired        CANCEL / hold expired   ▼
 *   rejected               └──────▶ releasing ◀─────────── refunding ◀───────────┘
 *                                      ├──▶ cancelled
 *                                      └──▶ expired
 *
 * The hold timer starts when the seats are held and runs across payment
 * attempts (a declined card does not buy more time); it is cancelled once the
 * payment is captured. Pure: guards, assigns, emits and delays read only the
 * context and the event. Times come from activity outputs: the hold's length
 * is asked of the inventory (from the config of the day) and read back from
 * its answer, so that a booking replays the same after the config changes.
 */
import { assign, cancel, emit, raise, setup } from "xstate"
import { activityLogic, errorMessage, errorTag } from "orrery"
import type { BookingInput, RejectReason } from "./events.js"
import type { Capture, Hold, Refund } from "./services.js"

export interface BookingContext {
  readonly offerId: string
  readonly adults: number
  readonly userId: string
  readonly email: string
  readonly hold: Hold | null
  readonly holdExpiresAt: string | null
  readonly paymentAttempt: number
  readonly paymentToken: string | null
  readonly chargeId: string | null
  readonly ticketNumber: string | null
  readonly msUntilDeparture: number | null
  readonly outcome: "cancelled" | "expired" | null
  readonly reason: string | null
  readonly refunded: boolean
}

export type BookingEvent =
  | { type: "PAY"; paymentToken: string }
  | { type: "CANCEL"; reason: string }
  /** Raised by the hold timer; clients cannot send it. */
  | { type: "HOLD_EXPIRED" }

export interface BookingOutput {
  readonly status: "confirmed" | "flown" | "cancelled" | "expired" | "rejected"
  readonly ticketNumber: string | null
}

const rejectReason = (error: unknown): RejectReason =>
  errorTag(error) === "UnknownOffer" ? "unknown_offer" : errorTag(error) === "FlightDeparted" ? "departed" : "sold_out"

const holdTimer = "seatHold"

export const makeBookingMachine = (config: { readonly seatHoldMs: number }) =>
  setup({
    types: {} as {
      context: BookingContext
      input: BookingInput
      events: BookingEvent
      output: BookingOutput
    },
    actors: {
      holdSeats: activityLogic<{ offerId: string; seats: number; holdMs: number }, Hold>(),
      capturePayment: activityLogic<{ amount: string; token: string; attempt: number }, Capture>(),
      issueTicket: activityLogic<{ offerId: string; passengers: number; email: string; departure: string }, { ticketNumber: string; msUntilDeparture: number }>(),
      refundPayment: activityLogic<{ attempt: number }, Refund>(),
      releaseSeats: activityLogic<{ ticketed: boolean }, { seats: number }>()
    },
    delays: {
      departure: ({ context }: { context: BookingContext }) => context.msUntilDeparture ?? 0
    }
  }).createMachine({
    id: "booking",
    context: ({ input }) => ({
      offerId: input.offerId,
      adults: input.adults,
      userId: input.userId,
      email: input.email,
      hold: null,
      holdExpiresAt: null,
      paymentAttempt: 0,
      paymentToken: null,
      chargeId: null,
      ticketNumber: null,
      msUntilDeparture: null,
      outcome: null,
      reason: null,
      refunded: false
    }),
    initial: "holding",
    states: {
      holding: {
        invoke: {
          id: "holdSeats",
          src: "holdSeats",
          input: ({ context }) => ({ offerId: context.offerId, seats: context.adults, holdMs: config.seatHoldMs }),
          onDone: {
            target: "awaiting_payment",
            actions: [
              assign({ hold: ({ event }) => event.output, holdExpiresAt: ({ event }) => event.output.expiresAt }),
              raise({ type: "HOLD_EXPIRED" }, { id: holdTimer, delay: ({ event }) => Math.max(0, Date.parse(event.output.expiresAt) - Date.parse(event.output.heldAt)) }),
              emit(({ context, event }) => ({
                type: "booking.seat_held",
                offerId: context.offerId,
                seats: event.output.seats,
                holdId: event.output.holdId,
                seatsLeft: event.output.seatsLeft,
                expiresAt: event.output.expiresAt
              })),
              emit(({ context, event }) => ({
                type: "flight.booked",
                offerId: context.offerId,
                userId: context.userId,
                email: context.email,
                adults: context.adults,
                from: event.output.from,
                to: event.output.to,
                flightNumber: event.output.flightNumber,
                departure: event.output.departure,
                totalPrice: event.output.totalPrice,
                currency: event.output.currency,
                holdExpiresAt: event.output.expiresAt
              }))
            ]
          },
          onError: {
            target: "rejected",
            actions: [
              assign({ reason: ({ event }) => errorMessage(event.error) }),
              emit(({ context, event }) => ({
                type: "booking.rejected",
                offerId: context.offerId,
                userId: context.userId,
                email: context.email,
                adults: context.adults,
                reason: rejectReason(event.error),
                detail: errorMessage(event.error)
              }))
            ]
          }
        }
      },
      awaiting_payment: {
        on: {
          PAY: {
            target: "capturing",
            actions: assign({ paymentAttempt: ({ context }) => context.paymentAttempt + 1, paymentToken: ({ event }) => event.paymentToken })
          },
          CANCEL: { target: "releasing", actions: [cancel(holdTimer), assign({ outcome: "cancelled", reason: ({ event }) => event.reason })] },
          HOLD_EXPIRED: { target: "releasing", actions: assign({ outcome: "expired", reason: "the seat hold expired before payment" }) }
        }
      },
      capturing: {
        invoke: {
          id: "capturePayment",
          src: "capturePayment",
          input: ({ context }) => ({ amount: context.hold?.totalPrice ?? "0", token: context.paymentToken ?? "", attempt: context.paymentAttempt }),
          onDone: {
            target: "ticketing",
            actions: [
              cancel(holdTimer),
              assign({ chargeId: ({ event }) => event.output.chargeId }),
              emit(({ context, event }) => ({ type: "booking.payment_captured", chargeId: event.output.chargeId, amount: event.output.amount, attempt: context.paymentAttempt }))
            ]
          },
          // Declined, or failing after its retries: nothing was captured; the hold still runs, pay again.
          onError: {
            target: "awaiting_payment",
            actions: emit(({ context, event }) => ({ type: "booking.payment_failed", attempt: context.paymentAttempt, reason: errorMessage(event.error) }))
          }
        },
        on: {
          // The capture may still land: void it before the seats go back.
          CANCEL: { target: "refunding", actions: [cancel(holdTimer), assign({ outcome: "cancelled", reason: ({ event }) => event.reason })] },
          HOLD_EXPIRED: { target: "refunding", actions: assign({ outcome: "expired", reason: "the seat hold expired before payment" }) }
        }
      },
      ticketing: {
        invoke: {
          id: "issueTicket",
          src: "issueTicket",
          input: ({ context }) => ({ offerId: context.offerId, passengers: context.adults, email: context.email, departure: context.hold?.departure ?? "" }),
          onDone: {
            target: "confirmed",
            actions: [
              assign({ ticketNumber: ({ event }) => event.output.ticketNumber, msUntilDeparture: ({ event }) => event.output.msUntilDeparture }),
              emit(({ event }) => ({ type: "booking.ticket_issued", ticketNumber: event.output.ticketNumber }))
            ]
          },
          onError: { target: "refunding", actions: assign({ outcome: "cancelled", reason: ({ event }) => `ticketing failed: ${errorMessage(event.error)}` }) }
        }
      },
      confirmed: {
        after: { departure: "flown" },
        on: {
          CANCEL: { target: "refunding", actions: assign({ outcome: "cancelled", reason: ({ event }) => event.reason }) }
        }
      },
      refunding: {
        invoke: {
          id: "refundPayment",
          src: "refundPayment",
          input: ({ context }) => ({ attempt: context.paymentAttempt }),
          onDone: [
            {
              guard: ({ event }) => event.output.refunded,
              target: "releasing",
              actions: [
                assign({ refunded: true }),
                emit(({ event }) => ({ type: "booking.refunded", refundId: event.output.refundId ?? "", amount: event.output.amount ?? "0.00" }))
              ]
            },
            { target: "releasing" }
          ]
        }
      },
      releasing: {
        invoke: {
          id: "releaseSeats",
          src: "releaseSeats",
          input: ({ context }) => ({ ticketed: context.ticketNumber !== null }),
          onDone: [
            {
              guard: ({ context }) => context.outcome === "expired",
              target: "expired",
              actions: emit(({ context, event }) => ({ type: "booking.expired", offerId: context.offerId, seatsReleased: event.output.seats }))
            },
            {
              target: "cancelled",
              actions: emit(({ context, event }) => ({
                type: "booking.cancelled",
                offerId: context.offerId,
                reason: context.reason ?? "",
                seatsReleased: event.output.seats,
                refunded: context.refunded
              }))
            }
          ]
        }
      },
      rejected: { type: "final" },
      expired: { type: "final" },
      cancelled: { type: "final" },
      flown: { type: "final" }
    },
    output: ({ context }) => ({
      // Only the final states get here: rejected (nothing held), expired or cancelled (an outcome), or flown.
      status: context.outcome ?? (context.hold === null ? "rejected" : "flown"),
      ticketNumber: context.ticketNumber
    })
  })

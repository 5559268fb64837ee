/** The `booking` workflow: the machine, its schemas and the activities behind its invokes. */
import { Clock, Effect, Schedule } from "effect"
import { type ActivityRun, defineActivity, defineWorkflow } from "orrery"
import type { BookingConfig } from "./config.js"
import { BookingInput, accepts, bookingEvents } from "./events.js"
import { makeBookingMachine } from "./machine.js"
import { Payments, SeatInventory, Ticketing } from "./services.js"

/**
 * Idempotency keys per booking and step, stable across retries, restarts and
 * workers; each payment attempt has its own (a declined card must not make a
 * second card's capture look like a replay of the first).
 */
export const bookingKey = (run: Pick<ActivityRun, "workflowType" | "instanceId">, step: string) => `${run.workflowType}-${run.instanceId}/${step}`

/** Transient gateway errors: 100 ms, 200 ms, 400 ms, 800 ms — five attempts in all. */
const paymentRetry = Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(4)]) as Schedule.Schedule<unknown, unknown>

export const makeBookingWorkflow = (config: BookingConfig) =>
  defineWorkflow({
    type: "booking",
    version: 1,
    kind: "saga",
    machine: makeBookingMachine(config),
    events: { input: BookingInput, accepts, emits: bookingEvents },
    activities: {
      holdSeats: defineActivity({
        run: (input: { offerId: string; seats: number; holdMs: number }, run) =>
          SeatInventory.use((inventory) => inventory.hold({ key: bookingKey(run, "seats"), offerId: input.offerId, seats: input.seats, holdMs: input.holdMs })),
        nonRetryable: ["SoldOut", "UnknownOffer", "FlightDeparted", "HoldClosed"],
        dependency: "seat-inventory"
      }),
      capturePayment: defineActivity({
        run: (input: { amount: string; token: string; attempt: number }, run) =>
          Payments.use((payments) => payments.capture({ key: bookingKey(run, `payment/${input.attempt}`), amount: input.amount, token: input.token })),
        retry: paymentRetry,
        timeout: "10 seconds",
        nonRetryable: ["PaymentDeclined"],
        dependency: "travel-payments"
      }),
      issueTicket: defineActivity({
        run: (input: { offerId: string; passengers: number; email: string; departure: string }, run) =>
          Effect.gen(function*() {
            const ticketing = yield* Ticketing
            const inventory = yield* SeatInventory
            const ticket = yield* ticketing.issue({ key: bookingKey(run, "ticket"), offerId: input.offerId, passengers: input.passengers, email: input.email })
            yield* inventory.confirm({ key: bookingKey(run, "seats") })
            const now = yield* Clock.currentTimeMillis
            // The machine sets its departure timer from this: time enters through activity outputs.
            return { ticketNumber: ticket.ticketNumber, msUntilDeparture: Math.max(0, Date.parse(input.departure) - now) }
          }),
        nonRetryable: ["HoldClosed"],
        dependency: "ticketing"
      }),
      refundPayment: defineActivity({
        run: (input: { attempt: number }, run) => Payments.use((payments) => payments.refund({ key: bookingKey(run, `payment/${input.attempt}`) })),
        retry: paymentRetry,
        timeout: "10 seconds",
        dependency: "travel-payments"
      }),
      releaseSeats: defineActivity({
        run: (input: { ticketed: boolean }, run) =>
          Effect.gen(function*() {
            if (input.ticketed) yield* Ticketing.use((ticketing) => ticketing.void({ key: bookingKey(run, "ticket") }))
            return yield* SeatInventory.use((inventory) => inventory.release({ key: bookingKey(run, "seats") }))
          }),
        dependency: "seat-inventory"
      })
    }
  })

/** The booking saga end to end through the engine, on both drivers: its happy path, every failure path, the race for the last seat. */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { Projections } from "../../../src/projections/projection.js"
import {
  type FlightOffer,
  generateOffers,
  makeBookingMachine,
  makePayments,
  makeSeatInventory,
  makeTicketing,
  offerById,
  Payments,
  SeatInventory,
  Ticketing,
  totalPrice,
  travelDomain
} from "../../../sagas/booking/index.js"
import { drivers } from "../../support/drivers.js"
import { appWith, caughtUp, dataOf, domainTypes, history, inject, reachState, replays, rows, withDomains } from "./support.js"

const date = "2030-01-15"
const offers = generateOffers("PAR", "LON", date)
/** An offer with at least `n` seats. */
const withSeats = (n: number): FlightOffer => offers.find((offer) => offer.seats >= n)!
const traveller = (userId: string) => ({ userId, email: `${userId}@example.com` })
const seatsLeft = (schema: string, offerId: string) =>
  rows(`select capacity - taken as left from ${schema}.travel_flight_seats where offer_id = '${offerId}'`).pipe(Effect.map((r) => (r[0] === undefined ? undefined : Number(r[0].left))))

describe.each(drivers)("booking saga on %s", (driver) => {
  it("holds seats, captures the payment, issues the ticket: confirmed", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = withSeats(2)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 2, ...traveller("alice") }, { id: "b-happy" })
        const held = yield* reachState("booking", "b-happy", "awaiting_payment")
        const context = held.context as { holdExpiresAt: string; hold: { heldAt: string; totalPrice: string } }
        expect(Date.parse(context.holdExpiresAt) - Date.parse(context.hold.heldAt)).toBe(60_000)
        const hold = yield* engine.pending("booking", "b-happy")
        expect(hold.map((t) => [t.kind, t.key])).toEqual([["timer", "seatHold"]])

        yield* engine.send("booking", "b-happy", { type: "PAY", paymentToken: "tok_visa" })
        const confirmed = yield* reachState("booking", "b-happy", "confirmed")
        const total = totalPrice(offer, 2)
        const events = yield* history("booking", "b-happy")
        expect(domainTypes(events)).toEqual(["booking.seat_held", "flight.booked", "booking.payment_captured", "booking.ticket_issued"])
        expect(dataOf(events, "booking.seat_held")).toMatchObject({ offerId: offer.id, seats: 2, seatsLeft: offer.seats - 2, expiresAt: context.holdExpiresAt })
        expect(dataOf(events, "flight.booked")).toEqual({
          offerId: offer.id,
          userId: "alice",
          email: "alice@example.com",
          adults: 2,
          from: "PAR",
          to: "LON",
          flightNumber: offer.flightNumber,
          departure: offer.departure,
          totalPrice: total,
          currency: "EUR",
          holdExpiresAt: context.holdExpiresAt
        })
        expect(dataOf(events, "booking.payment_captured")).toMatchObject({ amount: total, attempt: 1 })
        expect(dataOf(events, "booking.ticket_issued").ticketNumber).toMatch(/^\d{13}$/)
        // The hold timer is gone; the departure timer ends the booking when the flight leaves.
        const pending = yield* engine.pending("booking", "b-happy")
        expect(pending).toHaveLength(1)
        expect(pending[0]!.kind).toBe("timer")
        expect(Math.abs(pending[0]!.dueAt.getTime() - Date.parse(offer.departure))).toBeLessThan(5_000)
        expect(confirmed.context).toMatchObject({ ticketNumber: dataOf(events, "booking.ticket_issued").ticketNumber })
        expect(yield* replays("booking", "b-happy", makeBookingMachine({ seatHoldMs: 60_000 }))).toBe("confirmed")
        // The hold's length is read back from the recorded hold: a later config change does not break replay.
        expect(yield* replays("booking", "b-happy", makeBookingMachine({ seatHoldMs: 5_000 }))).toBe("confirmed")

        yield* caughtUp(schema)
        const app = yield* appWith(travel, schema)
        const booking = yield* inject(app, "/bookings/b-happy")
        expect(booking.body).toMatchObject({
          bookingId: "b-happy",
          userId: "alice",
          offerId: offer.id,
          adults: 2,
          status: "confirmed",
          totalPrice: total,
          ticketNumber: expect.stringMatching(/^\d{13}$/),
          holdExpiresAt: null,
          departure: offer.departure,
          refunded: false
        })
        expect((yield* inject(app, `/flights/offers/${offer.id}`)).body).toMatchObject({ id: offer.id, seats: offer.seats, seatsLeft: offer.seats - 2 })
        expect((yield* inject(app, "/bookings?userId=alice")).body.bookings.map((b: { bookingId: string }) => b.bookingId)).toEqual(["b-happy"])
      })
    )
  })

  it("releases the seats when the hold expires before payment", async () => {
    const travel = travelDomain({ seatHoldMs: 1_000 })
    const offer = withSeats(3)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 3, ...traveller("bob") }, { id: "b-expired" })
        yield* reachState("booking", "b-expired", "awaiting_payment")
        const expired = yield* reachState("booking", "b-expired", "expired")
        expect(expired).toMatchObject({ status: "done", output: { status: "expired", ticketNumber: null } })
        const events = yield* history("booking", "b-expired")
        expect(domainTypes(events)).toEqual(["booking.seat_held", "flight.booked", "booking.expired"])
        expect(dataOf(events, "booking.expired")).toEqual({ offerId: offer.id, seatsReleased: 3 })
        expect(events.filter((e) => e.type === "timer.fired")).toHaveLength(1)
        // Too late to pay.
        expect((yield* engine.send("booking", "b-expired", { type: "PAY", paymentToken: "tok_visa" }).pipe(Effect.flip))._tag).toBe("InstanceFinal")
        expect(yield* replays("booking", "b-expired", makeBookingMachine({ seatHoldMs: 1_000 }))).toBe("expired")
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(offer.seats)
        const app = yield* appWith(travel, schema)
        expect((yield* inject(app, "/bookings/b-expired")).body).toMatchObject({ status: "expired", holdExpiresAt: null })
      })
    )
  })

  it("on CANCEL while awaiting payment: releases the seats, cancelled", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = withSeats(1)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 1, ...traveller("carol") }, { id: "b-cancel" })
        yield* reachState("booking", "b-cancel", "awaiting_payment")
        yield* engine.send("booking", "b-cancel", { type: "CANCEL", reason: "plans changed" })
        const cancelled = yield* reachState("booking", "b-cancel", "cancelled")
        expect(cancelled.output).toEqual({ status: "cancelled", ticketNumber: null })
        const events = yield* history("booking", "b-cancel")
        expect(domainTypes(events)).toEqual(["booking.seat_held", "flight.booked", "booking.cancelled"])
        expect(dataOf(events, "booking.cancelled")).toEqual({ offerId: offer.id, reason: "plans changed", seatsReleased: 1, refunded: false })
        // The hold timer was cancelled with the booking.
        expect(events.filter((e) => e.type === "timer.cancelled").map((e) => (e.data as { timerId: string }).timerId)).toEqual(["seatHold"])
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(offer.seats)
      })
    )
  })

  it("on CANCEL while confirmed: refunds, voids, releases the seats, cancelled", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = withSeats(2)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 2, ...traveller("dave") }, { id: "b-refund" })
        yield* reachState("booking", "b-refund", "awaiting_payment")
        yield* engine.send("booking", "b-refund", { type: "PAY", paymentToken: "tok_visa" })
        yield* reachState("booking", "b-refund", "confirmed")
        yield* engine.send("booking", "b-refund", { type: "CANCEL", reason: "trip cancelled" })
        const cancelled = yield* reachState("booking", "b-refund", "cancelled")
        expect(cancelled.output).toMatchObject({ status: "cancelled", ticketNumber: expect.stringMatching(/^\d{13}$/) })
        const events = yield* history("booking", "b-refund")
        expect(domainTypes(events)).toEqual([
          "booking.seat_held",
          "flight.booked",
          "booking.payment_captured",
          "booking.ticket_issued",
          "booking.refunded",
          "booking.cancelled"
        ])
        expect(dataOf(events, "booking.refunded").amount).toBe(dataOf(events, "booking.payment_captured").amount)
        expect(dataOf(events, "booking.cancelled")).toEqual({ offerId: offer.id, reason: "trip cancelled", seatsReleased: 2, refunded: true })
        expect(yield* engine.pending("booking", "b-refund")).toEqual([])
        expect(yield* replays("booking", "b-refund", makeBookingMachine({ seatHoldMs: 60_000 }))).toBe("cancelled")
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(offer.seats)
        const app = yield* appWith(travel, schema)
        expect((yield* inject(app, "/bookings/b-refund")).body).toMatchObject({ status: "cancelled", refunded: true, reason: "trip cancelled" })
      })
    )
  })

  it("takes a declined card back to awaiting payment without extending the hold, then confirms", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = withSeats(1)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 1, ...traveller("erin") }, { id: "b-retry" })
        yield* reachState("booking", "b-retry", "awaiting_payment")
        const [hold] = yield* engine.pending("booking", "b-retry")
        yield* engine.send("booking", "b-retry", { type: "PAY", paymentToken: "tok_declined" })
        yield* Effect.sleep("50 millis")
        const back = yield* reachState("booking", "b-retry", "awaiting_payment")
        expect(back.context).toMatchObject({ paymentAttempt: 1, chargeId: null })
        const [sameHold] = yield* engine.pending("booking", "b-retry")
        expect(sameHold!.dueAt.getTime()).toBe(hold!.dueAt.getTime())
        yield* engine.send("booking", "b-retry", { type: "PAY", paymentToken: "tok_visa" })
        yield* reachState("booking", "b-retry", "confirmed")
        const events = yield* history("booking", "b-retry")
        expect(domainTypes(events)).toEqual(["booking.seat_held", "flight.booked", "booking.payment_failed", "booking.payment_captured", "booking.ticket_issued"])
        expect(dataOf(events, "booking.payment_failed")).toEqual({ attempt: 1, reason: "payment declined: card declined" })
        expect(dataOf(events, "booking.payment_captured")).toMatchObject({ attempt: 2 })
        yield* caughtUp(schema)
        const app = yield* appWith(travel, schema)
        expect((yield* inject(app, "/bookings/b-retry")).body).toMatchObject({ status: "confirmed", paymentFailures: 1 })
      })
    )
  })

  it("expires a hold whose payment never answers, voiding the payment", async () => {
    const travel = travelDomain({ seatHoldMs: 1_000 })
    const offer = withSeats(1)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 1, ...traveller("frank") }, { id: "b-hang" })
        yield* reachState("booking", "b-hang", "awaiting_payment")
        yield* engine.send("booking", "b-hang", { type: "PAY", paymentToken: "tok_timeout" })
        yield* reachState("booking", "b-hang", "expired")
        const events = yield* history("booking", "b-hang")
        expect(domainTypes(events)).toEqual(["booking.seat_held", "flight.booked", "booking.expired"])
        expect(events.filter((e) => e.type === "activity.scheduled").map((e) => (e.data as { src: string }).src)).toEqual([
          "holdSeats",
          "capturePayment",
          "refundPayment",
          "releaseSeats"
        ])
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(offer.seats)
      })
    )
  })

  it("rejects a booking for more seats than are left, an unknown offer and a departed flight", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const small = offers.find((offer) => offer.seats < 9)!
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: small.id, adults: small.seats + 1, ...traveller("gus") }, { id: "b-full" })
        yield* engine.start("booking", { offerId: "PAR-LON-20300115-42", adults: 1, ...traveller("gus") }, { id: "b-unknown" })
        yield* engine.start("booking", { offerId: "PAR-LON-20200115-0", adults: 1, ...traveller("gus") }, { id: "b-gone" })
        for (const [id, reason] of [["b-full", "sold_out"], ["b-unknown", "unknown_offer"], ["b-gone", "departed"]] as const) {
          const view = yield* reachState("booking", id, "rejected")
          expect(view.output).toEqual({ status: "rejected", ticketNumber: null })
          const events = yield* history("booking", id)
          expect(domainTypes(events)).toEqual(["booking.rejected"])
          expect(dataOf(events, "booking.rejected")).toMatchObject({ reason, userId: "gus" })
        }
        // Malformed input never starts a booking.
        for (const input of [{ offerId: "nope", adults: 1 }, { offerId: small.id, adults: 0 }, { offerId: small.id, adults: 10 }]) {
          expect((yield* engine.start("booking", { ...traveller("gus"), ...input }).pipe(Effect.flip))._tag).toBe("InvalidEvent")
        }
        expect((yield* engine.start("booking", { offerId: small.id, adults: 1, userId: "gus", email: "not-an-email" }).pipe(Effect.flip))._tag).toBe("InvalidEvent")
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, small.id)).toBeUndefined()
        const app = yield* appWith(travel, schema)
        const gus = (yield* inject(app, "/bookings?userId=gus")).body.bookings
        expect(gus.map((b: { status: string }) => b.status)).toEqual(["rejected", "rejected", "rejected"])
      })
    )
  })

  it("ends a confirmed booking at departure; CANCEL is refused after it", async () => {
    // An inventory whose one offer always leaves 4 s from now.
    const soon = offerById(withSeats(1).id)!
    const services = Layer.mergeAll(
      Layer.effect(SeatInventory, makeSeatInventory((id) => (id === soon.id ? { ...soon, departure: new Date(Date.now() + 4_000).toISOString() } : undefined))),
      Layer.effect(Payments, makePayments),
      Layer.effect(Ticketing, makeTicketing)
    )
    const travel = travelDomain({ seatHoldMs: 60_000 })
    await withDomains(driver, [travel], () =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: soon.id, adults: 1, ...traveller("hana") }, { id: "b-flown" })
        yield* reachState("booking", "b-flown", "awaiting_payment")
        yield* engine.send("booking", "b-flown", { type: "PAY", paymentToken: "tok_visa" })
        yield* reachState("booking", "b-flown", "confirmed")
        const flown = yield* reachState("booking", "b-flown", "flown")
        expect(flown.output).toMatchObject({ status: "flown", ticketNumber: expect.stringMatching(/^\d{13}$/) })
        expect((yield* engine.send("booking", "b-flown", { type: "CANCEL", reason: "too late" }).pipe(Effect.flip))._tag).toBe("InstanceFinal")
      }),
      { services }
    )
  })

  it("lets exactly one of two bookings racing for the last seat hold it; seats never go negative", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = withSeats(2)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        // Everything but one seat goes to a first booking.
        yield* engine.start("booking", { offerId: offer.id, adults: offer.seats - 1, ...traveller("ines") }, { id: "b-first" })
        yield* reachState("booking", "b-first", "awaiting_payment")
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(1)

        const racers = ["b-race-1", "b-race-2"]
        yield* Effect.all(racers.map((id) => engine.start("booking", { offerId: offer.id, adults: 1, ...traveller(id) }, { id })), { concurrency: "unbounded" })
        const outcomes = yield* Effect.all(
          racers.map((id) =>
            Effect.gen(function*() {
              const view = yield* Effect.orDie(
                Effect.gen(function*() {
                  while (true) {
                    const v = yield* engine.get("booking", id)
                    if (v.state !== "holding") return v
                    yield* Effect.sleep("10 millis")
                  }
                })
              )
              return String(view.state)
            })
          )
        )
        expect([...outcomes].sort()).toEqual(["awaiting_payment", "rejected"])
        const loser = racers[outcomes.indexOf("rejected")]!
        expect(dataOf(yield* history("booking", loser), "booking.rejected")).toMatchObject({ reason: "sold_out", detail: `${offer.id}: 1 seat(s) requested, 0 left` })

        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(0)
        const app = yield* appWith(travel, schema)
        expect((yield* inject(app, `/flights/offers/${offer.id}`)).body.seatsLeft).toBe(0)
        const search = yield* inject(app, `/flights/search?from=PAR&to=LON&date=${date}`)
        expect(search.body.offers.map((o: { id: string }) => o.id)).not.toContain(offer.id)
      })
    )
  })

  it("never oversells under a burst of concurrent bookings", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = withSeats(3)
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        const ids = Array.from({ length: offer.seats + 4 }, (_, i) => `b-burst-${i}`)
        yield* Effect.all(ids.map((id) => engine.start("booking", { offerId: offer.id, adults: 1, ...traveller(id) }, { id })), { concurrency: "unbounded" })
        const states = yield* Effect.all(
          ids.map((id) =>
            Effect.orDie(
              Effect.gen(function*() {
                while (true) {
                  const v = yield* engine.get("booking", id)
                  if (v.state !== "holding") return String(v.state)
                  yield* Effect.sleep("20 millis")
                }
              })
            )
          ),
          { concurrency: 4 }
        )
        expect(states.filter((s) => s === "awaiting_payment")).toHaveLength(offer.seats)
        expect(states.filter((s) => s === "rejected")).toHaveLength(4)
        yield* caughtUp(schema)
        expect(yield* seatsLeft(schema, offer.id)).toBe(0)
        const [row] = yield* rows(`select capacity, taken from ${schema}.travel_flight_seats where offer_id = '${offer.id}'`)
        expect(row).toEqual({ capacity: offer.seats, taken: offer.seats })
      })
    )
  })

  it("gives the same rows after rebuilding the bookings and flight-seats read models", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        const projections = yield* Projections
        const [a, b] = [withSeats(2), offers.find((offer) => offer.seats < 9)!]
        yield* engine.start("booking", { offerId: a.id, adults: 2, ...traveller("jo") }, { id: "r1" })
        yield* engine.start("booking", { offerId: b.id, adults: 1, ...traveller("jo") }, { id: "r2" })
        yield* engine.start("booking", { offerId: b.id, adults: 9, ...traveller("kim") }, { id: "r3" })
        yield* reachState("booking", "r1", "awaiting_payment")
        yield* engine.send("booking", "r1", { type: "PAY", paymentToken: "tok_visa" })
        yield* reachState("booking", "r2", "awaiting_payment")
        yield* engine.send("booking", "r2", { type: "CANCEL", reason: "no" })
        yield* reachState("booking", "r1", "confirmed")
        yield* reachState("booking", "r2", "cancelled")
        yield* reachState("booking", "r3", "rejected")
        yield* caughtUp(schema)
        const bookingsSql = `select booking_id, user_id, email, offer_id, adults, flight_number, origin, destination, departure, total_price::text, currency,
          status, hold_expires_at, charge_id, ticket_number, refunded, payment_failures, reason, created_at, updated_at
          from ${schema}.travel_bookings order by booking_id`
        const seatsSql = `select * from ${schema}.travel_flight_seats order by offer_id`
        const bookings = yield* rows(bookingsSql)
        const seats = yield* rows(seatsSql)
        expect(bookings.map((r) => [r.booking_id, r.status])).toEqual([["r1", "confirmed"], ["r2", "cancelled"], ["r3", "rejected"]])
        expect(seats).toEqual([{ offer_id: a.id, capacity: a.seats, taken: 2 }, ...(a.id === b.id ? [] : [{ offer_id: b.id, capacity: b.seats, taken: 0 }])].sort((x, y) => x.offer_id.localeCompare(y.offer_id)))
        yield* projections.rebuild("bookings")
        yield* projections.rebuild("flight-seats")
        expect(yield* rows(bookingsSql)).toEqual(bookings)
        expect(yield* rows(seatsSql)).toEqual(seats)
      })
    )
  })
})

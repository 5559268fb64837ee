/** The offer generator, money and settings, and the travel services over their tables on both drivers. */
import { parseDuration, readSettings } from "orrery"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import {
  bookingSettings,
  generateOffers,
  offerById,
  Payments,
  SeatInventory,
  Ticketing,
  totalPrice,
  travelDomain
} from "../../../sagas/booking/index.js"
import { drivers } from "../../support/drivers.js"
import { rows, withServices } from "./support.js"

describe("offer generator", () => {
  it("is deterministic, and an offer id names its offer", () => {
    const offers = generateOffers("PAR", "LON", "2030-01-15")
    expect(generateOffers("PAR", "LON", "2030-01-15")).toEqual(offers)
    expect(offers.length).toBeGreaterThanOrEqual(5)
    expect(generateOffers("PAR", "LON", "2030-01-16")).not.toEqual(offers)
    offers.forEach((offer, index) => {
      expect(offer.id).toBe(`PAR-LON-20300115-${index}`)
      expect(offerById(offer.id)).toEqual(offer)
      expect(offer.price).toMatch(/^[1-9]\d*\.\d\d$/)
      expect(offer.seats).toBeGreaterThanOrEqual(1)
      expect(offer.seats).toBeLessThanOrEqual(9)
      expect(offer.departure.slice(0, 10)).toBe("2030-01-15")
      expect(Date.parse(offer.arrival) - Date.parse(offer.departure)).toBe(offer.durationMinutes * 60_000)
    })
  })

  it("has no offers for an invalid route or day, nor ids beyond them", () => {
    expect(generateOffers("PAR", "PAR", "2030-01-15")).toEqual([])
    expect(generateOffers("PAR", "LON", "2030-02-30")).toEqual([])
    expect(generateOffers("par", "LON", "2030-01-15")).toEqual([])
    expect(offerById("PAR-LON-20300115-99")).toBeUndefined()
    expect(offerById("PAR-LON-2030-01-15-0")).toBeUndefined()
  })

  it("prices parties exactly", () => {
    expect(totalPrice({ price: "19.99" }, 3)).toBe("59.97")
    expect(totalPrice({ price: "0.10" }, 9)).toBe("0.90")
    expect(totalPrice({ price: "100" }, 2)).toBe("200.00")
  })
})

describe("settings", () => {
  it("parse durations and name the variable when they do not", () => {
    expect([parseDuration("500ms"), parseDuration("30s"), parseDuration("15m"), parseDuration("24h"), parseDuration("2d"), parseDuration("1.5 hours")]).toEqual([
      500, 30_000, 900_000, 86_400_000, 172_800_000, 5_400_000
    ])
    for (const bad of ["", "15", "abc", "0s", "-1m", "3 weeks"]) expect(parseDuration(bad)).toBeUndefined()
    expect(readSettings(bookingSettings, { env: {} })).toEqual({ seatHoldMs: 15 * 60_000 })
    expect(readSettings(bookingSettings, { env: { ORRERY_SEAT_HOLD: "30s" } })).toEqual({ seatHoldMs: 30_000 })
    expect(readSettings(bookingSettings, { given: { seatHoldMs: 5 }, env: { ORRERY_SEAT_HOLD: "nonsense" } })).toEqual({ seatHoldMs: 5 })
    expect(() => readSettings(bookingSettings, { env: { ORRERY_SEAT_HOLD: "soon" } })).toThrow(/^ORRERY_SEAT_HOLD must be a duration like 30s, 15m or 24h, got "soon"$/)
  })
})

describe.each(drivers)("durable services on %s", (driver) => {
  const travel = travelDomain()
  const exit = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.exit(effect)

  it("the seat inventory never sells a seat twice, however many holds race", () =>
    withServices(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const inventory = yield* SeatInventory
        const offer = generateOffers("PAR", "LON", "2030-01-15").find((o) => o.seats >= 3)!
        const holds = yield* Effect.all(
          Array.from({ length: 20 }, (_, i) => exit(inventory.hold({ key: `k${i}`, offerId: offer.id, seats: 1, holdMs: 60_000 }))),
          { concurrency: "unbounded" }
        )
        expect(holds.filter(Exit.isSuccess)).toHaveLength(offer.seats)
        expect(holds.filter(Exit.isFailure).every((e) => JSON.stringify(e).includes("SoldOut"))).toBe(true)
        expect(yield* inventory.seatsLeft(offer.id)).toBe(0)
        // The same key gives back the same hold, even sold out.
        const winner = holds.findIndex(Exit.isSuccess)
        expect(yield* exit(inventory.hold({ key: `k${winner}`, offerId: offer.id, seats: 1, holdMs: 60_000 }))).toEqual(holds[winner])
        yield* inventory.confirm({ key: `k${winner}` })
        yield* inventory.confirm({ key: `k${winner}` })
        // Released once: asked again (a retry after a crash), the same answer and no second movement.
        yield* Effect.all(Array.from({ length: 4 }, () => inventory.release({ key: `k${winner}` })), { concurrency: "unbounded" })
        expect(yield* inventory.release({ key: `k${winner}` })).toEqual({ seats: 1 })
        expect(yield* inventory.seatsLeft(offer.id)).toBe(1)
        expect(JSON.stringify(yield* exit(inventory.hold({ key: `k${winner}`, offerId: offer.id, seats: 1, holdMs: 60_000 })))).toContain("HoldClosed")
        expect(JSON.stringify(yield* exit(inventory.confirm({ key: `k${winner}` })))).toContain("HoldClosed")
        expect(yield* rows(`select capacity, held, sold from ${schema}.travel_seats where offer_id = $1`, [offer.id])).toEqual([
          { capacity: offer.seats, held: offer.seats - 1, sold: 0 }
        ])
        expect(JSON.stringify(yield* exit(inventory.hold({ key: "u", offerId: "PAR-LON-20300115-99", seats: 1, holdMs: 1 })))).toContain("UnknownOffer")
        expect(yield* inventory.seatsLeft("PAR-LON-20300115-99")).toBeUndefined()
      })
    ))

  it("payments follow the test cards and are idempotent by key; tickets are issued once", () =>
    withServices(driver, [travel], () =>
      Effect.gen(function*() {
        const payments = yield* Payments
        const first = yield* exit(payments.capture({ key: "a", amount: "10.5", token: "tok_visa" }))
        expect(first).toEqual(Exit.succeed({ chargeId: expect.stringMatching(/^ch_/), amount: "10.50" }))
        expect(yield* exit(payments.capture({ key: "a", amount: "10.5", token: "tok_visa" }))).toEqual(first)
        expect(JSON.stringify(yield* exit(payments.capture({ key: "b", amount: "1", token: "tok_declined" })))).toContain("PaymentDeclined")
        const timeout = yield* exit(payments.capture({ key: "d", amount: "1", token: "tok_timeout" }).pipe(Effect.timeout("50 millis")))
        expect(JSON.stringify(timeout)).toContain("TimeoutError")
        // A refund closes the key: a capture still in flight cannot land afterwards.
        expect(yield* payments.refund({ key: "d" })).toEqual({ refunded: false, refundId: null, amount: null })
        expect(JSON.stringify(yield* exit(payments.capture({ key: "d", amount: "1", token: "tok_visa" })))).toContain("voided")
        const refund = { refunded: true, refundId: expect.stringMatching(/^re_/), amount: "10.50" }
        expect(yield* payments.refund({ key: "a" })).toEqual(refund)
        expect(yield* payments.refund({ key: "a" })).toEqual(refund)
        const ticketing = yield* Ticketing
        const tickets = yield* Effect.all(Array.from({ length: 4 }, () => ticketing.issue({ key: "t", offerId: "x", passengers: 1, email: "a@b.c" })), { concurrency: "unbounded" })
        expect(new Set(tickets.map((t) => t.ticketNumber)).size).toBe(1)
        expect(tickets[0]!.ticketNumber).toMatch(/^\d{13}$/)
        expect(yield* ticketing.void({ key: "t" })).toEqual({ voided: true })
        expect(yield* ticketing.void({ key: "t" })).toEqual({ voided: true })
        expect(yield* ticketing.void({ key: "none" })).toEqual({ voided: false })
      })
    ))
})

/** The travel read side over HTTP (fastify.inject on a bare app), on both drivers: search, offers, bookings; queries never write. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { generateOffers, totalPrice, travelDomain } from "../../../sagas/booking/index.js"
import { drivers } from "../../support/drivers.js"
import { appWith, caughtUp, inject, reachState, rows, withDomains } from "./support.js"

const date = "2030-03-02"
const offers = generateOffers("CDG", "FCO", date)

describe.each(drivers)("travel routes on %s", (driver) => {
  it("searches offers cheapest first, for the party and within budget", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const app = yield* appWith(travel, schema)
        const all = yield* inject(app, `/flights/search?from=cdg&to=FCO&date=${date}`)
        expect(all.status).toBe(200)
        expect(all.body).toMatchObject({ from: "CDG", to: "FCO", date, adults: 1, budget: null, count: offers.length })
        const totals = all.body.offers.map((o: { totalPrice: string }) => Number(o.totalPrice))
        expect(totals).toEqual([...totals].sort((a, b) => a - b))
        expect(all.body.offers.map((o: { id: string }) => o.id).sort()).toEqual(offers.map((o) => o.id).sort())
        for (const offer of all.body.offers) expect(offer.seatsLeft).toBe(offer.seats)

        const party = yield* inject(app, `/flights/search?from=CDG&to=FCO&date=${date}&adults=3`)
        const roomy = offers.filter((o) => o.seats >= 3)
        expect(party.body.offers.map((o: { id: string }) => o.id).sort()).toEqual(roomy.map((o) => o.id).sort())
        for (const offer of party.body.offers) expect(offer.totalPrice).toBe(totalPrice(offer, 3))

        const budget = all.body.offers[Math.floor(offers.length / 2)].totalPrice as string
        const cheap = yield* inject(app, `/flights/search?from=CDG&to=FCO&date=${date}&budget=${budget}`)
        expect(cheap.body.offers.length).toBe(totals.filter((t: number) => t <= Number(budget)).length)
        expect(cheap.body.offers.length).toBeLessThan(offers.length)
        for (const offer of cheap.body.offers) expect(Number(offer.totalPrice)).toBeLessThanOrEqual(Number(budget))
        expect((yield* inject(app, `/flights/search?from=CDG&to=FCO&date=${date}&budget=1`)).body).toMatchObject({ count: 0, offers: [] })
      })
    )
  })

  it("refuses bad input with 400 and unknown offers or bookings with 404", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const app = yield* appWith(travel, schema)
        const bad = [
          ["/flights/search?from=CDG&date=2030-03-02", "to"],
          ["/flights/search?from=CDG&to=FCO", "date"],
          ["/flights/search?from=CDGX&to=FCO&date=2030-03-02", "from"],
          ["/flights/search?from=CDG&to=FCO&date=2030-02-30", "date"],
          ["/flights/search?from=CDG&to=FCO&date=02/03/2030", "date"],
          ["/flights/search?from=CDG&to=cdg&date=2030-03-02", "to"],
          ["/flights/search?from=CDG&to=FCO&date=2030-03-02&adults=0", "adults"],
          ["/flights/search?from=CDG&to=FCO&date=2030-03-02&adults=10", "adults"],
          ["/flights/search?from=CDG&to=FCO&date=2030-03-02&budget=abc", "budget"],
          ["/flights/search?from=CDG&to=FCO&date=2030-03-02&budget=-5", "budget"],
          ["/flights/offers/nope", "offerId"],
          ["/bookings", "userId"]
        ] as const
        for (const [url, field] of bad) {
          const response = yield* inject(app, url)
          expect({ url, status: response.status }).toEqual({ url, status: 400 })
          expect(response.body).toMatchObject({ error: "ValidationError", message: expect.stringContaining(field), details: { field } })
        }
        expect(yield* inject(app, "/flights/offers/CDG-FCO-20300302-42")).toEqual({ status: 404, body: { error: "NotFound", message: "no offer CDG-FCO-20300302-42" } })
        expect((yield* inject(app, "/flights/offers/CDG-FCO-20300230-0")).status).toBe(404)
        expect((yield* inject(app, "/bookings/nobody")).status).toBe(404)
        expect(yield* inject(app, "/bookings?userId=nobody")).toEqual({ status: 200, body: { userId: "nobody", bookings: [] } })
        const offer = yield* inject(app, `/flights/offers/${offers[0]!.id}?adults=2`)
        expect(offer).toEqual({ status: 200, body: { ...offers[0]!, seatsLeft: offers[0]!.seats, adults: 2, totalPrice: totalPrice(offers[0]!, 2) } })
      })
    )
  })

  it("shows seats left from the bookings, and never writes", async () => {
    const travel = travelDomain({ seatHoldMs: 60_000 })
    const offer = offers.find((o) => o.seats >= 2)!
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("booking", { offerId: offer.id, adults: 2, userId: "lou", email: "lou@example.com" }, { id: "b-seats" })
        yield* reachState("booking", "b-seats", "awaiting_payment")
        yield* caughtUp(schema)
        const app = yield* appWith(travel, schema)
        const count = rows(`select (select count(*) from ${schema}.events) as events, (select count(*) from ${schema}.travel_flight_seats) as seats,
          (select count(*) from ${schema}.travel_bookings) as bookings`)
        const before = yield* count
        const found = yield* inject(app, `/flights/search?from=CDG&to=FCO&date=${date}`)
        expect(found.body.offers.find((o: { id: string }) => o.id === offer.id).seatsLeft).toBe(offer.seats - 2)
        expect((yield* inject(app, `/flights/offers/${offer.id}`)).body.seatsLeft).toBe(offer.seats - 2)
        expect((yield* inject(app, "/bookings?userId=lou")).body.bookings).toMatchObject([{ bookingId: "b-seats", status: "awaiting_payment", adults: 2 }])
        yield* inject(app, "/flights/search?from=LHR&to=JFK&date=2031-12-31&adults=9")
        yield* inject(app, "/flights/offers/LHR-JFK-20311231-0")
        expect(yield* count).toEqual(before)
      })
    )
  })
})

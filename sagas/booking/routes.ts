/**
 * The travel read side over HTTP: flight search and offers (the generator
 * merged with the seats read model) and bookings per user. Queries never
 * write. Refusals are thrown and answered by Orrery like its own,
 * `{ error, message, details? }`: 400 ValidationError for bad input (the
 * schemas' and the rules they cannot say), 404 NotFound for an unknown offer or
 * booking.
 */
import type { FastifyInstance } from "fastify"
import { type DomainRoutesContext, httpError, invalidField, type Queryable } from "orrery"
import { type FlightOffer, compareMoney, generateOffers, isValidDate, offerById, totalPrice } from "./offers.js"
import { bookingsOf, findBooking, seatsTaken } from "./projections.js"

export interface OfferView extends FlightOffer {
  readonly seatsLeft: number
  readonly adults: number
  readonly totalPrice: string
}

const withSeats = (offer: FlightOffer, taken: ReadonlyMap<string, number>, adults: number): OfferView => ({
  ...offer,
  seatsLeft: Math.max(0, offer.seats - (taken.get(offer.id) ?? 0)),
  adults,
  totalPrice: totalPrice(offer, adults)
})

export interface SearchQuery {
  readonly from: string
  readonly to: string
  readonly date: string
  readonly adults: number
  readonly budget?: string | undefined
}

/** Bookable offers for the party, cheapest first (then earliest, then by id); within budget when one is given. */
export const searchFlights = async (db: Queryable, schema: string, query: SearchQuery): Promise<ReadonlyArray<OfferView>> => {
  const offers = generateOffers(query.from, query.to, query.date)
  const taken = await seatsTaken(db, schema, offers.map((offer) => offer.id))
  return offers
    .map((offer) => withSeats(offer, taken, query.adults))
    .filter((offer) => offer.seatsLeft >= query.adults && (query.budget === undefined || compareMoney(offer.totalPrice, query.budget) <= 0))
    .sort((a, b) => compareMoney(a.totalPrice, b.totalPrice) || a.departure.localeCompare(b.departure) || a.id.localeCompare(b.id))
}

export const findOffer = async (db: Queryable, schema: string, offerId: string, adults = 1): Promise<OfferView | undefined> => {
  const offer = offerById(offerId)
  if (offer === undefined) return undefined
  return withSeats(offer, await seatsTaken(db, schema, [offer.id]), adults)
}

const airport = { type: "string", pattern: "^[A-Za-z]{3}$", description: "IATA code, e.g. PAR" } as const
const money = { type: "string", pattern: "^(0|[1-9][0-9]{0,11})([.][0-9]{1,2})?$", description: 'an amount like "500" or "499.99"' } as const
const adults = { type: "integer", minimum: 1, maximum: 9, default: 1 } as const

export const travelRoutes = async (app: FastifyInstance, { db, schema }: DomainRoutesContext): Promise<void> => {
  app.get(
    "/flights/search",
    {
      schema: {
        tags: ["travel"],
        summary: "Flight offers for a route and day, cheapest first, with the seats left",
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["from", "to", "date"],
          properties: {
            from: airport,
            to: airport,
            date: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "departure day, YYYY-MM-DD" },
            budget: { ...money, description: "highest total price for the party" },
            adults
          }
        }
      }
    },
    async (request) => {
      const q = request.query as { from: string; to: string; date: string; budget?: string; adults: number }
      const from = q.from.toUpperCase()
      const to = q.to.toUpperCase()
      if (!isValidDate(q.date)) throw invalidField("querystring", "date", "must be a real day between 2000-01-01 and 2100-12-31")
      if (from === to) throw invalidField("querystring", "to", "must differ from from")
      const offers = await searchFlights(db, schema, { from, to, date: q.date, adults: q.adults, budget: q.budget })
      return { from, to, date: q.date, adults: q.adults, budget: q.budget ?? null, count: offers.length, offers }
    }
  )

  app.get(
    "/flights/offers/:offerId",
    {
      schema: {
        tags: ["travel"],
        summary: "One offer with the seats left",
        params: { type: "object", required: ["offerId"], properties: { offerId: { type: "string", pattern: "^[A-Z]{3}-[A-Z]{3}-[0-9]{8}-[0-9]{1,2}$" } } },
        querystring: { type: "object", additionalProperties: false, properties: { adults } }
      }
    },
    async (request) => {
      const { offerId } = request.params as { offerId: string }
      const offer = await findOffer(db, schema, offerId, (request.query as { adults: number }).adults)
      if (offer === undefined) throw httpError(404, "NotFound", `no offer ${offerId}`)
      return offer
    }
  )

  app.get(
    "/bookings",
    {
      schema: {
        tags: ["travel"],
        summary: "A user's bookings, newest first",
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["userId"],
          properties: { userId: { type: "string", minLength: 1, maxLength: 200 }, limit: { type: "integer", minimum: 1, maximum: 500, default: 100 } }
        }
      }
    },
    async (request) => {
      const q = request.query as { userId: string; limit: number }
      return { userId: q.userId, bookings: await bookingsOf(db, schema, q.userId, q.limit) }
    }
  )

  app.get(
    "/bookings/:bookingId",
    {
      schema: {
        tags: ["travel"],
        summary: "One booking from the bookings read model",
        params: { type: "object", required: ["bookingId"], properties: { bookingId: { type: "string", minLength: 1, maxLength: 128 } } }
      }
    },
    async (request) => {
      const { bookingId } = request.params as { bookingId: string }
      const booking = await findBooking(db, schema, bookingId)
      if (booking === undefined) throw httpError(404, "NotFound", `no booking ${bookingId}`)
      return booking
    }
  )
}

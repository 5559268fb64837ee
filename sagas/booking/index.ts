/**
 * Travel as a Domain: the `booking` saga, the `bookings` and `flight-seats`
 * read models, the SeatInventory / Payments / Ticketing (their state in tables
 * of the same database), the read routes (GET /flights/search,
 * /flights/offers/:offerId, /bookings?userId=, /bookings/:bookingId) over the
 * deterministic offer generator, and a demo.
 *
 * Settings (environment): ORRERY_SEAT_HOLD (default 15m).
 */
import { type Domain, readSettings } from "orrery"
import { type BookingConfig, bookingSettings } from "./config.js"
import { makeBookingDemo } from "./demo.js"
import { bookingsProjection, flightSeatsProjection } from "./projections.js"
import { travelRoutes } from "./routes.js"
import { durableServices, travelMigrations } from "./services.js"
import { makeBookingWorkflow } from "./workflow.js"

export * from "./config.js"
export * from "./events.js"
export { makeBookingMachine, type BookingContext, type BookingOutput } from "./machine.js"
export { type FlightOffer, generateOffers, offerById, totalPrice } from "./offers.js"
export { bookingsOf, bookingsProjection, findBooking, flightSeatsProjection, seatsTaken, type BookingView } from "./projections.js"
export { findOffer, searchFlights, travelRoutes, type OfferView, type SearchQuery } from "./routes.js"
export {
  FlightDeparted,
  HoldClosed,
  durableServices,
  makePayments,
  makeSeatInventory,
  makeTicketing,
  PaymentDeclined,
  Payments,
  PaymentUnavailable,
  SeatInventory,
  SoldOut,
  Ticketing,
  travelMigration,
  travelMigrations,
  UnknownOffer
} from "./services.js"
export { bookingKey, makeBookingWorkflow } from "./workflow.js"

/** The travel domain; settings not given are read from the environment (see config.ts). */
export const travelDomain = (overrides: Partial<BookingConfig> = {}): Domain => {
  const config = readSettings(bookingSettings, { given: overrides })
  return {
    name: "travel",
    workflows: [makeBookingWorkflow(config)],
    projections: [bookingsProjection, flightSeatsProjection],
    services: durableServices,
    migrations: travelMigrations,
    routes: travelRoutes,
    demo: makeBookingDemo(config)
  }
}

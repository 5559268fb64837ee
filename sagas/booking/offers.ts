/**
 * The flight offers: a deterministic generator, the seed of the search read
 * side. The same route and date always give the same offers (ids, times,
 * prices, seats), so an offer id alone names an offer: `PAR-LON-20300115-0`
 * is offer 0 from PAR to LON on 2030-01-15. No storage, no clock, no I/O.
 */
import { BigDecimal } from "effect"
import { formatMoney, toDecimal } from "../shared/money.js"
import { mulberry32 } from "../shared/random.js"

export interface FlightOffer {
  readonly id: string
  readonly from: string
  readonly to: string
  /** YYYY-MM-DD, the departure day (UTC). */
  readonly date: string
  readonly airline: string
  readonly airlineName: string
  readonly flightNumber: string
  /** ISO instants, UTC. */
  readonly departure: string
  readonly arrival: string
  readonly durationMinutes: number
  readonly stops: number
  readonly cabin: "economy"
  /** Per adult, exact decimal. */
  readonly price: string
  readonly currency: "EUR"
  /** Seats offered at this price (the inventory's starting count). */
  readonly seats: number
}

const airlines: ReadonlyArray<readonly [string, string]> = [
  ["AF", "Air France"],
  ["BA", "British Airways"],
  ["LH", "Lufthansa"],
  ["KL", "KLM"],
  ["IB", "Iberia"],
  ["AZ", "ITA Airways"],
  ["U2", "easyJet"],
  ["VY", "Vueling"]
]

export const airportPattern = /^[A-Z]{3}$/
export const offerIdPattern = /^([A-Z]{3})-([A-Z]{3})-(\d{4})(\d{2})(\d{2})-(\d{1,2})$/

/** FNV-1a, 32 bits. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** A real calendar day between 2000 and 2100 written YYYY-MM-DD. */
export const isValidDate = (date: string): boolean => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (match === null) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (year < 2000 || year > 2100) return false
  const d = new Date(Date.UTC(year, month - 1, day))
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day
}

/** Every offer from `from` to `to` on `date` (codes upper case, date YYYY-MM-DD); none for an invalid route or day. */
export const generateOffers = (from: string, to: string, date: string): ReadonlyArray<FlightOffer> => {
  if (!airportPattern.test(from) || !airportPattern.test(to) || from === to || !isValidDate(date)) return []
  // The route sets distance-like traits (same both ways); the day shuffles the rest.
  const route = hash([from, to].sort().join("-"))
  const next = mulberry32(hash(`${from}-${to}-${date}`))
  const baseMinutes = 55 + (route % 600)
  const baseEuros = 39 + (route % 420)
  const count = 5 + Math.floor(next() * 4)
  const day = Date.parse(`${date}T00:00:00Z`)
  const offers: Array<FlightOffer> = []
  for (let index = 0; index < count; index++) {
    const [airline, airlineName] = airlines[Math.floor(next() * airlines.length)]!
    const stops = next() < 0.25 ? 1 : 0
    const departureMinutes = (6 + Math.floor(next() * 16)) * 60 + 5 * Math.floor(next() * 12)
    const durationMinutes = baseMinutes + Math.floor(next() * 40) + stops * (70 + Math.floor(next() * 90))
    const euros = Math.round(baseEuros * (0.75 + next() * 1.1) * (stops === 1 ? 0.85 : 1))
    const cents = ["00", "49", "99"][Math.floor(next() * 3)]!
    const seats = 1 + Math.floor(next() * 9)
    const departure = day + departureMinutes * 60_000
    offers.push({
      id: `${from}-${to}-${date.replaceAll("-", "")}-${index}`,
      from,
      to,
      date,
      airline,
      airlineName,
      flightNumber: `${airline}${100 + Math.floor(next() * 8900)}`,
      departure: new Date(departure).toISOString(),
      arrival: new Date(departure + durationMinutes * 60_000).toISOString(),
      durationMinutes,
      stops,
      cabin: "economy",
      price: `${euros}.${cents}`,
      currency: "EUR",
      seats
    })
  }
  return offers
}

/** The offer an id names, or undefined (malformed, no such route, day or index). */
export const offerById = (offerId: string): FlightOffer | undefined => {
  const match = offerIdPattern.exec(offerId)
  if (match === null) return undefined
  const [, from, to, year, month, day, index] = match
  return generateOffers(from!, to!, `${year}-${month}-${day}`)[Number(index)]
}

/** Price for `adults` passengers, exact. */
export const totalPrice = (offer: Pick<FlightOffer, "price">, adults: number): string =>
  formatMoney(BigDecimal.multiply(toDecimal(offer.price), BigDecimal.fromBigInt(BigInt(adults))))

/** Orders money strings exactly. */
export const compareMoney = (a: string, b: string): number => BigDecimal.Order(toDecimal(a), toDecimal(b))


/**
 * Money as exact decimals written as strings ("19.99"); arithmetic in
 * BigDecimal, never floats. Shared by the shop and travel domains (cart,
 * order, booking) so that prices are checked, added and formatted alike.
 */
import { BigDecimal, Schema } from "effect"

/** A non-negative amount with at most two decimals, as a string: "19.99", "20", "0.5". */
export const Money = Schema.String.check(
  Schema.isPattern(/^(0|[1-9]\d{0,11})(\.\d{1,2})?$/, { message: 'must be an amount like "19.99": digits with at most 2 decimals' })
)

export const toDecimal = (amount: string): BigDecimal.BigDecimal => BigDecimal.fromStringUnsafe(amount)

/** Two decimals, always: 59.7 → "59.70". */
export const formatMoney = (amount: BigDecimal.BigDecimal): string => {
  const scaled = BigDecimal.scale(BigDecimal.round(amount, { scale: 2, mode: "half-even" }), 2)
  const negative = scaled.value < 0n
  const digits = (negative ? -scaled.value : scaled.value).toString().padStart(3, "0")
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`
}

export interface PricedLine {
  readonly quantity: number
  readonly unitPrice: string
}

export const lineTotal = (line: PricedLine): BigDecimal.BigDecimal =>
  BigDecimal.multiply(toDecimal(line.unitPrice), BigDecimal.fromBigInt(BigInt(line.quantity)))

/** The exact total of some lines, formatted. */
export const totalOf = (lines: ReadonlyArray<PricedLine>): string =>
  formatMoney(BigDecimal.sumAll(lines.map(lineTotal)))

/**
 * Money and prices. Money is an exact decimal (effect's BigDecimal) in memory
 * and a string with six decimals in JSON (`"0.123000"`): no float ever touches
 * it, so 1,000 calls of $0.000123 total exactly $0.123000. Amounts are summed
 * exactly and rounded once, half away from zero, when shown.
 *
 * The price table (USD per million prompt tokens, per million completion
 * tokens, per image; by model) comes from the JSON file at ORRERY_PRICING_FILE,
 * else the built-in table below. A model the table does not name is priced by
 * its `default` entry (zero unless set) and reported as unpriced.
 */
import { BigDecimal, Context, Effect, Layer, Option, Result, Schema } from "effect"
import { readFileSync } from "node:fs"
import { SettingError } from "orrery"

/** Dollars in JSON: an exact decimal with six places. */
export const Usd = Schema.String.check(Schema.isPattern(/^-?\d+\.\d{6}$/, { message: "must be a decimal amount with six places, such as 0.123000" })).pipe(Schema.brand("Usd"))
export type Usd = typeof Usd.Type

export const zero = BigDecimal.fromBigInt(0n)

/** A decimal string (or a JSON number, read through its shortest decimal form) into an exact decimal. */
export const decimal = (value: string | number): BigDecimal.BigDecimal => {
  const text = typeof value === "number" ? String(value) : value.trim()
  const parsed = /^-?\d+(\.\d+)?$/.test(text) ? BigDecimal.fromString(text) : Option.none()
  if (Option.isNone(parsed)) throw new Error(`not a decimal amount: ${JSON.stringify(value)}`)
  return parsed.value
}

/** Rounds to six places (half away from zero) and writes all six: `"0.123000"`. */
export const formatUsd = (amount: BigDecimal.BigDecimal): Usd => {
  const rounded = BigDecimal.scale(BigDecimal.round(amount, { scale: 6, mode: "half-from-zero" }), 6)
  const negative = rounded.value < 0n
  const digits = (negative ? -rounded.value : rounded.value).toString().padStart(7, "0")
  return `${negative ? "-" : ""}${digits.slice(0, -6)}.${digits.slice(-6)}` as Usd
}

export const sumUsd = (amounts: Iterable<BigDecimal.BigDecimal>): BigDecimal.BigDecimal => BigDecimal.sumAll(amounts)

/** `amount / 1,000,000`, exactly (a shift of the scale). */
const perMillion = (amount: BigDecimal.BigDecimal) => BigDecimal.make(amount.value, amount.scale + 6)

// -- the table ------------------------------------------------------------------------

const Amount = Schema.Union([
  Schema.String.check(Schema.isPattern(/^\d+(\.\d+)?$/, { message: "must be a non-negative decimal such as \"0.15\"" })),
  Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
])

export const ModelPrice = Schema.Struct({
  promptPerMillion: Schema.optionalKey(Amount),
  completionPerMillion: Schema.optionalKey(Amount),
  perImage: Schema.optionalKey(Amount)
})

export const PriceTableFile = Schema.Struct({
  currency: Schema.optionalKey(Schema.Literal("USD")),
  models: Schema.Record(Schema.String, ModelPrice),
  default: Schema.optionalKey(ModelPrice)
})
export type PriceTableFile = typeof PriceTableFile.Type

export interface Price {
  readonly promptPerMillion: BigDecimal.BigDecimal
  readonly completionPerMillion: BigDecimal.BigDecimal
  readonly perImage: BigDecimal.BigDecimal
}

export interface PriceTable {
  readonly models: ReadonlyMap<string, Price>
  readonly fallback: Price
}

/** Illustrative list prices in USD (override them with ORRERY_PRICING_FILE); the deterministic models cost something so that the demo shows money. */
export const builtInPrices: PriceTableFile = {
  currency: "USD",
  models: {
    "deterministic-writer": { promptPerMillion: "0.50", completionPerMillion: "1.50" },
    "deterministic-illustrator": { perImage: "0.020" },
    "gpt-4o-mini": { promptPerMillion: "0.15", completionPerMillion: "0.60" },
    "gpt-4o": { promptPerMillion: "2.50", completionPerMillion: "10.00" },
    "dall-e-3": { perImage: "0.040" }
  },
  default: { promptPerMillion: "0", completionPerMillion: "0", perImage: "0" }
}

const priceOf = (entry: typeof ModelPrice.Type | undefined): Price => ({
  promptPerMillion: decimal(entry?.promptPerMillion ?? "0"),
  completionPerMillion: decimal(entry?.completionPerMillion ?? "0"),
  perImage: decimal(entry?.perImage ?? "0")
})

export const makePriceTable = (file: PriceTableFile): PriceTable => ({
  models: new Map(Object.entries(file.models).map(([model, entry]) => [model, priceOf(entry)])),
  fallback: priceOf(file.default)
})

/** Reads and checks a price table file; throws SettingError naming ORRERY_PRICING_FILE. */
export const loadPriceTable = (path: string | undefined): PriceTable => {
  if (path === undefined) return makePriceTable(builtInPrices)
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, "utf8"))
  } catch (error) {
    throw new SettingError({ variable: "ORRERY_PRICING_FILE", message: `ORRERY_PRICING_FILE ${JSON.stringify(path)} cannot be read as JSON: ${error instanceof Error ? error.message : String(error)}` })
  }
  const decoded = Schema.decodeUnknownResult(PriceTableFile)(json)
  if (Result.isFailure(decoded)) {
    throw new SettingError({ variable: "ORRERY_PRICING_FILE", message: `ORRERY_PRICING_FILE ${JSON.stringify(path)} is not a price table: ${decoded.failure.message.split("\n").join(" ")}` })
  }
  return makePriceTable(decoded.success)
}

// -- costs --------------------------------------------------------------------------------

export const isPriced = (table: PriceTable, model: string) => table.models.has(model)

export const priceFor = (table: PriceTable, model: string): Price => table.models.get(model) ?? table.fallback

export const tokenCost = (table: PriceTable, model: string, promptTokens: number, completionTokens: number): BigDecimal.BigDecimal => {
  const price = priceFor(table, model)
  return perMillion(
    BigDecimal.sum(
      BigDecimal.multiply(BigDecimal.fromBigInt(BigInt(promptTokens)), price.promptPerMillion),
      BigDecimal.multiply(BigDecimal.fromBigInt(BigInt(completionTokens)), price.completionPerMillion)
    )
  )
}

export const imageCost = (table: PriceTable, model: string, images = 1): BigDecimal.BigDecimal =>
  BigDecimal.multiply(BigDecimal.fromBigInt(BigInt(images)), priceFor(table, model).perImage)

/** An amount as the plain decimal SQL `numeric` takes, unrounded. */
export const toSqlNumeric = (amount: BigDecimal.BigDecimal): string => {
  const normalized = BigDecimal.normalize(amount)
  if (normalized.scale <= 0) return (normalized.value * 10n ** BigInt(-normalized.scale)).toString()
  const negative = normalized.value < 0n
  const digits = (negative ? -normalized.value : normalized.value).toString().padStart(normalized.scale + 1, "0")
  return `${negative ? "-" : ""}${digits.slice(0, -normalized.scale)}.${digits.slice(-normalized.scale)}`
}

export interface UsageByModel {
  readonly calls: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly images: number
}

export interface CostLine extends UsageByModel {
  readonly model: string
  readonly costUsd: Usd
  readonly priced: boolean
}

/** The cost of everything an ebook used, per model and in total (rounded once, at the end). */
export const costOf = (table: PriceTable, usage: Readonly<Record<string, UsageByModel>>): { readonly totalCostUsd: Usd; readonly lines: ReadonlyArray<CostLine> } => {
  const amounts: Array<BigDecimal.BigDecimal> = []
  const lines = Object.entries(usage)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, used]) => {
      const amount = BigDecimal.sum(tokenCost(table, model, used.promptTokens, used.completionTokens), imageCost(table, model, used.images))
      amounts.push(amount)
      return { model, ...used, costUsd: formatUsd(amount), priced: isPriced(table, model) }
    })
  return { totalCostUsd: formatUsd(sumUsd(amounts)), lines }
}

/** The price table the back office uses. */
export class Pricing extends Context.Service<Pricing, { readonly table: PriceTable }>()("orrery/sagas/ebook-generation/Pricing") {
  static readonly layer = (table: PriceTable) => Layer.succeed(Pricing, { table })
}

export const calculateCost = Effect.fn("calculateCost")(function*(input: { readonly usage: Readonly<Record<string, UsageByModel>> }) {
  const pricing = yield* Pricing
  return costOf(pricing.table, input.usage)
})

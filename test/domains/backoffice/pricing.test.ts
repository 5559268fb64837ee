/** Money and prices: exact decimals, the price table and its file. */
import { BigDecimal } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  builtInPrices,
  configFromEnv,
  costOf,
  decimal,
  formatUsd,
  imageCost,
  loadPriceTable,
  makePriceTable,
  sumUsd,
  tokenCost,
  toSqlNumeric
} from "../../../sagas/ebook-generation/index.js"
import { SettingError } from "orrery"

describe("money", () => {
  it("1,000 calls of $0.000123 total exactly $0.123000 (where floats drift)", () => {
    const perCall = decimal("0.000123")
    expect(formatUsd(sumUsd(Array.from({ length: 1000 }, () => perCall)))).toBe("0.123000")
    let float = 0
    for (let i = 0; i < 1000; i++) float += 0.000123
    expect(float).not.toBe(0.123)

    // The same, priced from tokens: 1,000 prompt tokens at $0.123 per million.
    const table = makePriceTable({ models: { m: { promptPerMillion: "0.123" } } })
    const call = tokenCost(table, "m", 1000, 0)
    expect(formatUsd(call)).toBe("0.000123")
    expect(formatUsd(sumUsd(Array.from({ length: 1000 }, () => call)))).toBe("0.123000")
    expect(costOf(table, { m: { calls: 1000, promptTokens: 1_000_000, completionTokens: 0, images: 0 } }).totalCostUsd).toBe("0.123000")
  })

  it("is written with six places, rounded once, half away from zero", () => {
    expect(formatUsd(decimal("0"))).toBe("0.000000")
    expect(formatUsd(decimal("12"))).toBe("12.000000")
    expect(formatUsd(decimal("0.0000005"))).toBe("0.000001")
    expect(formatUsd(decimal("0.0000004999"))).toBe("0.000000")
    expect(formatUsd(decimal("-1.5"))).toBe("-1.500000")
    expect(formatUsd(decimal(0.1))).toBe("0.100000")
    expect(toSqlNumeric(decimal("0.000000123"))).toBe("0.000000123")
    expect(toSqlNumeric(BigDecimal.fromBigInt(1500n))).toBe("1500")
    expect(() => decimal("1e-3")).toThrow()
  })

  it("prices tokens per million and images per image, unknown models by the default entry", () => {
    const table = makePriceTable(builtInPrices)
    expect(formatUsd(tokenCost(table, "gpt-4o-mini", 1_000_000, 1_000_000))).toBe("0.750000")
    expect(formatUsd(tokenCost(table, "gpt-4o-mini", 1234, 567))).toBe("0.000525")
    expect(toSqlNumeric(tokenCost(table, "gpt-4o-mini", 1234, 567))).toBe("0.0005253")
    expect(formatUsd(imageCost(table, "dall-e-3", 3))).toBe("0.120000")
    expect(formatUsd(tokenCost(table, "mystery-model", 10_000, 10_000))).toBe("0.000000")
    const cost = costOf(table, {
      "gpt-4o-mini": { calls: 2, promptTokens: 1234, completionTokens: 567, images: 0 },
      "dall-e-3": { calls: 0, promptTokens: 0, completionTokens: 0, images: 2 },
      "mystery-model": { calls: 1, promptTokens: 5, completionTokens: 5, images: 0 }
    })
    expect(cost).toEqual({
      totalCostUsd: "0.080525",
      lines: [
        { model: "dall-e-3", calls: 0, promptTokens: 0, completionTokens: 0, images: 2, costUsd: "0.080000", priced: true },
        { model: "gpt-4o-mini", calls: 2, promptTokens: 1234, completionTokens: 567, images: 0, costUsd: "0.000525", priced: true },
        { model: "mystery-model", calls: 1, promptTokens: 5, completionTokens: 5, images: 0, costUsd: "0.000000", priced: false }
      ]
    })
  })
})

describe("the price table", () => {
  const folder = mkdtempSync(join(tmpdir(), "orrery-prices-"))

  it("is loaded from ORRERY_PRICING_FILE, strings or numbers", () => {
    const file = join(folder, "prices.json")
    writeFileSync(file, JSON.stringify({ models: { "my-model": { promptPerMillion: "1.25", completionPerMillion: 5, perImage: "0.01" } }, default: { promptPerMillion: "0.1" } }))
    const config = configFromEnv({ ORRERY_PRICING_FILE: file })
    expect(config.pricingFile).toBe(file)
    expect(formatUsd(tokenCost(config.prices, "my-model", 1_000_000, 200_000))).toBe("2.250000")
    expect(formatUsd(imageCost(config.prices, "my-model", 1))).toBe("0.010000")
    expect(formatUsd(tokenCost(config.prices, "other", 1_000_000, 0))).toBe("0.100000")
  })

  it("defaults to the built-in table", () => {
    expect(configFromEnv({}).prices.models.has("deterministic-writer")).toBe(true)
    expect(configFromEnv({}).pricingFile).toBeUndefined()
  })

  it("refuses a missing or malformed file, naming the variable", () => {
    expect(() => loadPriceTable(join(folder, "missing.json"))).toThrow(SettingError)
    const bad = join(folder, "bad.json")
    writeFileSync(bad, JSON.stringify({ models: { m: { promptPerMillion: "-1" } } }))
    expect(() => loadPriceTable(bad)).toThrow(/ORRERY_PRICING_FILE/)
    writeFileSync(bad, "{ not json")
    expect(() => loadPriceTable(bad)).toThrow(/cannot be read as JSON/)
  })
})

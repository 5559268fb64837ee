/**
 * The growth benchmark at tiny sizes on Postgres: the seed of real sagas, a fill
 * to exactly 30,000 events whose copies read back whole (doctor verifies every
 * instance's hash chain), and every figure present at both sizes.
 */
import { describe, expect, it } from "vitest"
import { run } from "../../bench/growth.js"

describe("growth benchmark", () => {
  it("fills Postgres to the sizes asked and measures every figure at each", async () => {
    const lines: Array<string> = []
    const output = await run({
      args: ["--sizes", "0,30000", "--sagas", "100", "--samples", "20"],
      signal: new AbortController().signal,
      progress: (line) => lines.push(line)
    })
    const results = output.results as any
    expect(results.seed.events).toBeGreaterThan(100)
    expect(results.seed.instances).toBeGreaterThan(10)
    const [empty, grown] = results.sizes
    expect(empty.size).toBe(0)
    expect(empty.fill).toBeNull()
    expect(grown.size).toBe(30_000)
    // Read back from the database after the fill: exactly the events asked for.
    expect(grown.contents.events).toBe(30_000)
    expect(grown.eventsBefore + grown.fill.events).toBe(30_000)
    expect(grown.contents.finished / grown.contents.instances).toBeGreaterThan(0.85)
    expect(grown.contents.finished / grown.contents.instances).toBeLessThan(0.95)
    expect(grown.contents.timersPending).toBeGreaterThan(empty.contents.timersPending)
    for (const { figures } of results.sizes) {
      expect(figures.appendsPerSecond).toBeGreaterThan(0)
      expect(figures.sagasPerSecond).toBeGreaterThan(0)
      for (const latency of [figures.getMs, figures.historyMs, figures.listMs]) {
        expect(latency.calls).toBeGreaterThan(0)
        expect(latency.p99).toBeGreaterThanOrEqual(latency.p50)
      }
      expect(figures.listMs.found).toBeGreaterThan(0)
      expect(Object.keys(figures.censusMs).sort()).toEqual(["booking", "cart", "chapter", "chapter-generation", "ebook-generation", "order", "three-step"])
      // Every copy's history reads back along its hash chain.
      expect(figures.doctor.problems).toBe(0)
      if (figures.readAll !== null) expect(figures.readAll.events).toBeGreaterThan(0)
    }
    expect(results.ratios).toHaveLength(2)
    expect(results.ratios[1]["sagas/s"]).toBeGreaterThan(0)
    expect(output.table).toContain("30,000 events")
  }, 600_000)
})

/**
 * The growth benchmark at tiny sizes on Postgres: the seed of real sagas, a fill
 * to exactly 40,000 events whose copies read back whole (doctor verifies every
 * instance's hash chain), every figure present at both sizes with the read
 * models running, and their plot.
 */
import { describe, expect, it } from "vitest"
import { run } from "../../bench/growth.js"

describe("growth benchmark", () => {
  it("fills Postgres to the sizes asked and measures every figure at each", async () => {
    const lines: Array<string> = []
    const output = await run({
      args: ["--sizes", "0,40000", "--sagas", "100", "--samples", "20", "--timers", "300"],
      signal: new AbortController().signal,
      progress: (line) => lines.push(line)
    })
    const results = output.results as any
    expect(results.seed.events).toBeGreaterThan(100)
    expect(results.seed.instances).toBeGreaterThan(10)
    const [empty, grown] = results.sizes
    expect(empty.size).toBe(0)
    expect(empty.fill).toBeNull()
    expect(grown.size).toBe(40_000)
    // Read back from the database after the fill: exactly the events asked for.
    expect(grown.contents.events).toBe(40_000)
    expect(grown.eventsBefore + grown.fill.events).toBe(40_000)
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
      expect(Object.keys(figures.censusMs).sort()).toEqual(["booking", "cart", "chapter", "chapter-generation", "ebook-generation", "nap", "order", "three-step"])
      // 100 naps made due fired, then the other 200 at once, each after its due time.
      expect(figures.timers.pending).toBe(300)
      expect(figures.timers.few.timers).toBe(100)
      expect(figures.timers.backlog.timers).toBe(200)
      expect(figures.timers.few.p50).toBeGreaterThanOrEqual(0)
      expect(figures.timers.backlog.p99).toBeGreaterThanOrEqual(figures.timers.backlog.p50)
      expect(figures.timers.backlog.firedPerSecond).toBeGreaterThan(0)
      // Every copy's history reads back along its hash chain.
      expect(figures.doctor.problems).toBe(0)
      if (figures.readAll !== null) {
        expect(figures.readAll.events).toBeGreaterThan(0)
        // A new subscription delivered the same stretch of the log, each event once.
        expect(figures.subscription.events).toBe(figures.readAll.events)
        expect(figures.subscription.eventsPerSecond).toBeGreaterThan(0)
      }
    }
    // The application's read models ran during each size's figures and applied what those figures appended and stepped.
    for (const { readModels } of results.sizes) {
      expect(readModels.running).toBe(8)
      expect(readModels.applied).toBeGreaterThan(0)
    }
    expect(output.table).toContain("read models: 8 ran during the figures")
    expect(results.ratios).toHaveLength(2)
    // The seed has one open cart: a page of 1 is not compared with a page of 50.
    expect(empty.figures.listMs.found).toBe(1)
    expect(results.ratios[0]["list cart/running/open p99 ms"]).toBeNull()
    expect(output.table).toContain("1 found at 0")
    expect(results.ratios[1]["sagas/s"]).toBeGreaterThan(0)
    expect(output.table).toContain("40,000 events")
    // The curve as a PNG (vega-lite's chart rasterised by resvg): a picture of both panels, not an empty file.
    const png = Buffer.from(output.png!)
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    expect(png.readUInt32BE(16)).toBeGreaterThan(1_000) // the IHDR's width in pixels
    expect(png.length).toBeGreaterThan(20_000)
  }, 600_000)
})

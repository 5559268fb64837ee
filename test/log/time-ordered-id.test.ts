/** The ids new events and instances get: UUIDv7, unique, and in the order they were made. */
import { describe, expect, it } from "vitest"
import { timeOrderedId } from "../../src/log/index.js"

describe("timeOrderedId", () => {
  it("makes UUIDv7s that sort in the order they were made, within a millisecond too, and never twice", () => {
    const before = Date.now()
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId())
    const after = Date.now()
    for (const id of [ids[0]!, ids[9_999]!, ids[19_999]!]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ids.every((id, i) => i === 0 || ids[i - 1]! < id)).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    // 20,000 ids take a few milliseconds: most share their millisecond with others.
    const millis = (id: string) => parseInt(id.replaceAll("-", "").slice(0, 12), 16)
    expect(new Set(ids.map(millis)).size).toBeLessThan(ids.length)
    expect(millis(ids[0]!)).toBeGreaterThanOrEqual(before)
    expect(millis(ids[19_999]!)).toBeLessThanOrEqual(after + 1)
  })
})

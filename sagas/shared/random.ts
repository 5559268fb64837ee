/**
 * A small seeded random generator for domains that make up deterministic
 * demo data (flight offers, the deterministic writer): the same seed always
 * gives the same sequence, on every machine, with no dependency.
 */

/** mulberry32: a generator of numbers in [0, 1) from a 32-bit seed. */
export const mulberry32 = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A tiny seeded PRNG (mulberry32) for the random walks: the same seed gives the
 * same walk, so a failing seed printed by the test reproduces it exactly.
 */
export interface Rng {
  readonly seed: number
  /** In [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  pick<A>(items: ReadonlyArray<A>): A
  chance(p: number): boolean
}

export const rng = (seed: number): Rng => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  return {
    seed: seed >>> 0,
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error("pick from an empty list")
      return items[int(items.length)]!
    },
    chance: (p) => next() < p
  }
}

/** FNV-1a over a string: stable seeds from names. */
export const hashSeed = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

export const hex = (seed: number) => `0x${(seed >>> 0).toString(16).padStart(8, "0")}`

/**
 * Durations as people write them in settings and calls: `500ms`, `30s`, `15m`,
 * `24h`, `2d` (or `30 seconds`, `1.5 hours`).
 */

const units: Record<string, number> = {
  ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1,
  s: 1_000, sec: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000
}

/**
 * `30s` → 30000 (also `500ms`, `15m`, `24h`, `2d`, `1.5 hours`); undefined when it is not a positive duration.
 *
 * @example
 * ```ts
 * import { parseDuration } from "orrery"
 *
 * parseDuration("15m") // 900000
 * parseDuration("soon") // undefined
 * ```
 */
export const parseDuration = (raw: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(raw)
  if (match === null) return undefined
  const unit = units[match[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const ms = Math.round(Number(match[1]) * unit)
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined
}

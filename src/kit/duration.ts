/**
 * Duration settings for domains (timers such as a cart's inactivity or a seat
 * hold), shared so that every domain reads `30s`, `15m`, `24h` alike and
 * reports a bad value the same way. Part of the kit domains may use beside the
 * engine API; domain folders never import each other.
 */

/** A setting that does not parse; the message (one line) names the variable. */
export class SettingError extends Error {
  readonly _tag: string = "SettingError"
  constructor(readonly variable: string, message: string) {
    super(message)
  }
}

/** A `SettingError` class a domain throws under its own name. */
export type SettingErrorClass = new (variable: string, message: string) => SettingError

const units: Record<string, number> = {
  ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1,
  s: 1_000, sec: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000
}

/** `30s` → 30000 (also `500ms`, `15m`, `24h`, `2d`, `1.5 hours`); undefined when it is not a positive duration. */
export const parseDuration = (raw: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(raw)
  if (match === null) return undefined
  const unit = units[match[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const ms = Math.round(Number(match[1]) * unit)
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined
}

/**
 * One duration setting in milliseconds: `given` (an override) wins and `env` is
 * then not read; an unset or blank `env[variable]` gives `fallback`; a value
 * that does not parse throws `error` (default `SettingError`) naming the variable.
 */
export const durationSetting = (
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  fallback: number,
  given?: number,
  error: SettingErrorClass = SettingError
): number => {
  if (given !== undefined) return given
  const raw = env[variable]
  if (raw === undefined || raw.trim() === "") return fallback
  const ms = parseDuration(raw)
  if (ms === undefined) throw new error(variable, `${variable} must be a duration like 30s, 15m or 24h, got ${JSON.stringify(raw)}`)
  return ms
}

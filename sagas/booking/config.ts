/**
 * The booking saga's settings, read from the environment. Durations accept `500ms`,
 * `30s`, `15m`, `24h`, `2d` (or `30 seconds`, `15 minutes`, …).
 */

/** The booking saga's timers, in milliseconds. */
export interface BookingConfig {
  /** How long held seats wait for payment before they are released (`ORRERY_SEAT_HOLD`, default 15m). */
  readonly seatHoldMs: number
}

export const bookingEnv = { seatHoldMs: "ORRERY_SEAT_HOLD" } as const

export const bookingDefaults: BookingConfig = { seatHoldMs: 15 * 60_000 }

/** A setting that does not parse; the message names the variable. */
export class BookingConfigError extends Error {
  readonly _tag = "BookingConfigError"
  constructor(readonly variable: string, message: string) {
    super(message)
  }
}

const units: Record<string, number> = {
  ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1,
  s: 1_000, sec: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000
}

/** `30s` → 30000; undefined when it is not a positive duration. */
export const parseDuration = (raw: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(raw)
  if (match === null) return undefined
  const unit = units[match[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const ms = Math.round(Number(match[1]) * unit)
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined
}

/** The settings from `env`; `overrides` win and are not read from it. Throws `BookingConfigError`. */
export const bookingConfig = (
  overrides: Partial<BookingConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env
): BookingConfig => {
  const read = (key: keyof BookingConfig): number => {
    const given = overrides[key]
    if (given !== undefined) return given
    const variable = bookingEnv[key]
    const raw = env[variable]
    if (raw === undefined || raw.trim() === "") return bookingDefaults[key]
    const ms = parseDuration(raw)
    if (ms === undefined) throw new BookingConfigError(variable, `${variable} must be a duration like 30s, 15m or 24h, got ${JSON.stringify(raw)}`)
    return ms
  }
  return { seatHoldMs: read("seatHoldMs") }
}

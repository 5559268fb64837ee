/**
 * The booking saga's settings, read from the environment. Durations accept
 * `500ms`, `30s`, `15m`, `24h`, `2d` (or `30 seconds`, `15 minutes`, …); the
 * parsing lives in src/kit/duration.ts.
 */
import { durationSetting, SettingError } from "../../src/kit/duration.js"

export { parseDuration } from "../../src/kit/duration.js"

/** The booking saga's timers, in milliseconds. */
export interface BookingConfig {
  /** How long held seats wait for payment before they are released (`ORRERY_SEAT_HOLD`, default 15m). */
  readonly seatHoldMs: number
}

export const bookingEnv = { seatHoldMs: "ORRERY_SEAT_HOLD" } as const

export const bookingDefaults: BookingConfig = { seatHoldMs: 15 * 60_000 }

/** A setting that does not parse; the message names the variable. */
export class BookingConfigError extends SettingError {
  override readonly _tag = "BookingConfigError"
}

/** The settings from `env`; `overrides` win and are not read from it. Throws `BookingConfigError`. */
export const bookingConfig = (
  overrides: Partial<BookingConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env
): BookingConfig => ({
  seatHoldMs: durationSetting(env, bookingEnv.seatHoldMs, bookingDefaults.seatHoldMs, overrides.seatHoldMs, BookingConfigError)
})

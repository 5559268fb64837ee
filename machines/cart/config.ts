/**
 * The cart's settings, read from the environment. Durations accept `500ms`,
 * `30s`, `15m`, `24h`, `2d` (or `30 seconds`, `15 minutes`, …); the parsing
 * lives in src/kit/duration.ts.
 */
import { durationSetting, SettingError } from "../../src/kit/duration.js"

export { parseDuration } from "../../src/kit/duration.js"

/** The cart's timers, in milliseconds. */
export interface CartConfig {
  /** A cart nobody touches for this long is abandoned (`ORRERY_CART_INACTIVITY`, default 24h). */
  readonly inactivityMs: number
}

export const cartEnv = { inactivityMs: "ORRERY_CART_INACTIVITY" } as const

export const cartDefaults: CartConfig = { inactivityMs: 24 * 3_600_000 }

/** A setting that does not parse; the message names the variable. */
export class CartConfigError extends SettingError {
  override readonly _tag = "CartConfigError"
}

/** The settings from `env`; `overrides` win and are not read from it. Throws `CartConfigError`. */
export const cartConfig = (
  overrides: Partial<CartConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env
): CartConfig => ({
  inactivityMs: durationSetting(env, cartEnv.inactivityMs, cartDefaults.inactivityMs, overrides.inactivityMs, CartConfigError)
})

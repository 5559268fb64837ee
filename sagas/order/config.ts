/**
 * The order saga's settings, read from the environment. Durations accept
 * `500ms`, `30s`, `15m`, `24h`, `2d` (or `30 seconds`, `15 minutes`, …); the
 * parsing lives in src/kit/duration.ts.
 */
import { durationSetting, SettingError } from "../../src/kit/duration.js"

export { parseDuration } from "../../src/kit/duration.js"

/** The order saga's timers, in milliseconds. */
export interface OrderConfig {
  /** How long a payment may take before it is treated as failed (`ORRERY_PAYMENT_WINDOW`, default 15m). */
  readonly paymentWindowMs: number
}

export const orderEnv = { paymentWindowMs: "ORRERY_PAYMENT_WINDOW" } as const

export const orderDefaults: OrderConfig = { paymentWindowMs: 15 * 60_000 }

/** A setting that does not parse; the message names the variable. */
export class OrderConfigError extends SettingError {
  override readonly _tag = "OrderConfigError"
}

/** The settings from `env`; `overrides` win and are not read from it. Throws `OrderConfigError`. */
export const orderConfig = (
  overrides: Partial<OrderConfig> = {},
  env: Readonly<Record<string, string | undefined>> = process.env
): OrderConfig => ({
  paymentWindowMs: durationSetting(env, orderEnv.paymentWindowMs, orderDefaults.paymentWindowMs, overrides.paymentWindowMs, OrderConfigError)
})

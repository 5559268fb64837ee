/**
 * The order's settings, read from the environment through Effect `Config`
 * (durations like `500ms`, `30s`, `15m`, `24h`): `readSettings(orderSettings)`.
 */
import { durationSetting, type Settings } from "orrery"

export const orderSettings = {
  /** How long a payment may take before it is treated as failed (`ORRERY_PAYMENT_WINDOW`, default 15m). */
  paymentWindowMs: durationSetting("ORRERY_PAYMENT_WINDOW", "15m")
}

export type OrderConfig = Settings<typeof orderSettings>

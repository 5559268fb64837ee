/**
 * The cart's settings, read from the environment through Effect `Config`
 * (durations like `500ms`, `30s`, `15m`, `24h`): `readSettings(cartSettings)`.
 */
import { durationSetting, type Settings } from "orrery"

export const cartSettings = {
  /** A cart nobody touches for this long is abandoned (`ORRERY_CART_INACTIVITY`, default 24h). */
  inactivityMs: durationSetting("ORRERY_CART_INACTIVITY", "24h")
}

export type CartConfig = Settings<typeof cartSettings>

/**
 * The booking's settings, read from the environment through Effect `Config`
 * (durations like `500ms`, `30s`, `15m`, `24h`): `readSettings(bookingSettings)`.
 */
import { durationSetting, type Settings } from "orrery"

export const bookingSettings = {
  /** How long held seats wait for payment before they are released (`ORRERY_SEAT_HOLD`, default 15m). */
  seatHoldMs: durationSetting("ORRERY_SEAT_HOLD", "15m")
}

export type BookingConfig = Settings<typeof bookingSettings>

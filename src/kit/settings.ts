/**
 * A workflow's own settings (a timer's length, an endpoint, a limit) as Effect
 * `Config`s read from the environment, so that every project reads `30s`,
 * `15m`, `24h` alike and refuses a bad value the same way: one line that names
 * the variable. An empty value counts as unset, as Orrery's own settings do.
 */
import { Config, ConfigProvider, Effect, Exit, Option, Schema } from "effect"
import { parseDuration } from "./duration.js"

/** A setting that cannot be used; `message` is one line naming the variable (never echoing a secret). */
export class SettingError extends Schema.TaggedError<SettingError>()("SettingError", {
  variable: Schema.String,
  message: Schema.String
}) {}

/** The variable's text, or undefined when it is unset or blank. */
const rawSetting = (variable: string) =>
  Config.String(variable).pipe(
    Config.option,
    Config.map((value) => Option.getOrUndefined(value)?.trim() || undefined)
  )

/**
 * Refuses a setting's value from inside a `Config` of your own (in
 * `Config.mapEffect`): `readSettings` then throws a `SettingError` with this
 * one-line message.
 *
 * @example
 * ```ts
 * import { Config, Effect } from "effect"
 * import { refuseSetting, textSetting } from "orrery"
 *
 * const region = textSetting("MY_REGION", "eu").pipe(
 *   Config.mapEffect((value) => (["eu", "us"].includes(value) ? Effect.succeed(value) : refuseSetting("MY_REGION", `MY_REGION must be eu or us, got ${JSON.stringify(value)}`)))
 * )
 * ```
 */
export const refuseSetting = (variable: string, message: string): Effect.Effect<never, Config.ConfigError> =>
  Effect.fail(new Config.ConfigError(new ConfigProvider.SourceError({ message, cause: new SettingError({ variable, message }) })))

/**
 * A duration in milliseconds: `500ms`, `30s`, `15m`, `24h`, `2d` (or `30 seconds`, `1.5 hours`).
 *
 * @example
 * ```ts
 * import { durationSetting, readSettings } from "orrery"
 *
 * const { holdMs } = readSettings({ holdMs: durationSetting("MY_SEAT_HOLD", "15m") })
 * ```
 */
export const durationSetting = (variable: string, fallback: string | number): Config.Config<number> => {
  const fallbackMs = typeof fallback === "number" ? fallback : parseDuration(fallback)
  if (fallbackMs === undefined) throw new SettingError({ variable, message: `the default of ${variable} is not a duration: ${JSON.stringify(fallback)}` })
  return rawSetting(variable).pipe(
    Config.mapEffect((raw) => {
      if (raw === undefined) return Effect.succeed(fallbackMs)
      const ms = parseDuration(raw)
      return ms === undefined ? refuseSetting(variable, `${variable} must be a duration like 30s, 15m or 24h, got ${JSON.stringify(raw)}`) : Effect.succeed(ms)
    })
  )
}

/**
 * A whole number from `min` to `max`.
 *
 * @example
 * ```ts
 * import { integerSetting, readSettings } from "orrery"
 *
 * const { attempts } = readSettings({ attempts: integerSetting("MY_ATTEMPTS", 4, { min: 1, max: 100 }) })
 * ```
 */
export const integerSetting = (variable: string, fallback: number, range: { readonly min?: number; readonly max?: number } = {}): Config.Config<number> => {
  const min = range.min ?? 1
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  return rawSetting(variable).pipe(
    Config.mapEffect((raw) => {
      if (raw === undefined) return Effect.succeed(fallback)
      const value = /^-?\d{1,15}$/.test(raw) ? Number(raw) : NaN
      return value >= min && value <= max ? Effect.succeed(value) : refuseSetting(variable, `${variable} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
    })
  )
}

/**
 * Text, trimmed; `fallback` when unset or blank.
 *
 * @example
 * ```ts
 * import { readSettings, textSetting } from "orrery"
 *
 * const { model } = readSettings({ model: textSetting("MY_MODEL", "gpt-4o-mini") })
 * ```
 */
export function textSetting(variable: string, fallback: string): Config.Config<string>
export function textSetting(variable: string): Config.Config<string | undefined>
export function textSetting(variable: string, fallback?: string): Config.Config<string | undefined> {
  return rawSetting(variable).pipe(Config.map((raw) => raw ?? fallback))
}

export type Settings<S extends Readonly<Record<string, Config.Config<unknown>>>> = {
  readonly [K in keyof S]: S[K] extends Config.Config<infer A> ? A : never
}

/**
 * Reads a group of settings now. Values in `given` win and their variables
 * are not read at all (a test or a caller that knows better); the rest come
 * from `env` (default `process.env`). A bad value throws a `SettingError`
 * whose message names its variable — `orrery start` prints it and exits 2.
 *
 * @example
 * ```ts
 * import { durationSetting, readSettings } from "orrery"
 *
 * const settings = { inactivityMs: durationSetting("ORRERY_CART_INACTIVITY", "24h") }
 * const { inactivityMs } = readSettings(settings)
 * const short = readSettings(settings, { given: { inactivityMs: 1_000 } })
 * ```
 */
export const readSettings = <S extends Readonly<Record<string, Config.Config<unknown>>>>(
  settings: S,
  options: { readonly given?: Partial<Settings<S>>; readonly env?: Readonly<Record<string, string | undefined>> } = {}
): Settings<S> => {
  const provider = ConfigProvider.fromEnvRecord({ ...(options.env ?? process.env) })
  const read: Record<string, unknown> = {}
  for (const [key, config] of Object.entries(settings)) {
    const given = (options.given as Record<string, unknown> | undefined)?.[key]
    if (given !== undefined) {
      read[key] = given
      continue
    }
    const exit = Effect.runSyncExit(config.parse(provider))
    if (Exit.isSuccess(exit)) {
      read[key] = exit.value
      continue
    }
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
    const cause = error instanceof Config.ConfigError ? error.cause : undefined
    if (cause instanceof ConfigProvider.SourceError && cause.cause instanceof SettingError) throw cause.cause
    throw new SettingError({ variable: key, message: `setting ${key} cannot be read: ${cause?.message ?? String(error)}` })
  }
  return read as Settings<S>
}

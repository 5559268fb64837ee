/** Reading the domains' settings from the environment: an empty value counts as unset; a bad one names its variable. */
import { Schema } from "effect"

/** A setting that cannot be used; `message` names the variable and never echoes a secret. */
export class DomainConfigError extends Schema.TaggedError<DomainConfigError>()("DomainConfigError", {
  variable: Schema.String,
  message: Schema.String
}) {}

export const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === "" ? undefined : value.trim())

/** A positive integer setting, or its default. */
export const positiveIntegerSetting = (env: Readonly<Record<string, string | undefined>>, variable: string, fallback: number, max = 86_400_000): number => {
  const raw = nonEmpty(env[variable])
  if (raw === undefined) return fallback
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN
  if (!(value >= 1 && value <= max)) {
    throw new DomainConfigError({ variable, message: `${variable} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}` })
  }
  return value
}


/**
 * Orrery's settings: a public contract. Every setting is an environment
 * variable and a flag of the same meaning; a flag overrides its variable, and an
 * empty value counts as unset (so `DATABASE_URL=` in a compose file, or
 * `--database-url ""`, means the embedded PGlite).
 *
 * An invalid value is refused with one line naming the variable. Values that may
 * be secret are never echoed: DATABASE_URL only with its password masked,
 * ORRERY_TOKENS not at all.
 */
// Subpath imports, not "effect": this module is read for every `orrery --help`,
// and the whole of Effect takes longer to load than Node takes to start.
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { isIP } from "node:net"

/**
 * `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything
 * unparsable is hidden whole. (The log's `maskUrl` does the same, but loading
 * the log here would load all of Effect for `--help`.)
 */
const maskUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "<unparsable DATABASE_URL>"
  }
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal"
export const logLevels: ReadonlyArray<LogLevel> = ["trace", "debug", "info", "warn", "error", "fatal"]

export type Role = "read" | "operate"

/** A bearer token for the HTTP API; `token` is redacted so that logging a config never leaks it. */
export interface ApiToken {
  readonly name: string
  readonly role: Role
  readonly token: Redacted.Redacted<string>
}

export interface Config {
  /** The project's config file (`orrery.config.ts`); undefined: looked for in the working directory. */
  readonly configFile: string | undefined
  /** A running Orrery's HTTP API for the CLI to go through, instead of opening the database. */
  readonly url: string | undefined
  /** A postgres:// URL, or undefined for the embedded PGlite. */
  readonly databaseUrl: string | undefined
  /** What stands between Orrery and that Postgres: nothing, or a pooler in transaction mode (see DatabasePooler). */
  readonly databasePooler: DatabasePooler
  readonly dataDir: string
  readonly host: string
  readonly port: number
  readonly tokens: ReadonlyArray<ApiToken>
  readonly logLevel: LogLevel
}

export type SettingKey = keyof Config

/**
 * `transaction`: DATABASE_URL leads to a connection pooler in transaction mode (PgBouncer
 * before 1.21 or without `max_prepared_statements`, and most managed poolers), where each
 * transaction may run on another server connection. Orrery then prepares no statements
 * (a statement prepared on one connection is unknown on the next) and does not LISTEN (a
 * LISTEN lasts only as long as its transaction's connection): other processes' appends and
 * tasks are seen by polling, within a second. Transaction-scoped advisory locks are all
 * Orrery takes, and they hold through such a pooler.
 */
export type DatabasePooler = "none" | "transaction"
export const databasePoolers: ReadonlyArray<DatabasePooler> = ["none", "transaction"]

export const defaults = {
  dataDir: "./.orrery/data",
  databasePooler: "none",
  host: "127.0.0.1",
  port: 7311,
  logLevel: "info"
} as const

interface Setting<A> {
  readonly env: string
  readonly flag: string
  readonly placeholder: string
  readonly help: string
  /** The value, or why it is refused (a phrase that follows the variable's name). */
  readonly parse: (raw: string | undefined) => Result.Result<A, string>
}

const shown = (value: string) => JSON.stringify(value)

/**
 * An optional URL with one of `protocols`; `shownAs` says how a refused value
 * may be echoed, and `unparsable` replaces the echo where even that is unsafe.
 */
const parseUrl = (
  raw: string | undefined,
  protocols: ReadonlyArray<string>,
  options: { readonly example: string; readonly shownAs: (raw: string) => string; readonly unparsable?: string }
): Result.Result<string | undefined, string> => {
  if (raw === undefined) return Result.succeed(undefined)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Result.fail(`must be a URL like ${options.example}${options.unparsable === undefined ? `, got ${options.shownAs(raw)}` : `; ${options.unparsable}`}`)
  }
  return protocols.includes(url.protocol)
    ? Result.succeed(raw)
    : Result.fail(`must start with ${protocols.map((p) => `${p}//`).join(" or ")}, got ${options.shownAs(raw)}`)
}

/** Settings in the order help lists them. */
export const settings: { readonly [K in SettingKey]: Setting<Config[K]> } = {
  configFile: {
    env: "ORRERY_CONFIG",
    flag: "--config",
    placeholder: "<file>",
    help: "the project's config (default: orrery.config.ts, .mts, .mjs or .js in the working directory)",
    parse: (raw) => Result.succeed(raw)
  },
  url: {
    env: "ORRERY_URL",
    flag: "--url",
    placeholder: "<url>",
    help: "a running Orrery's HTTP API to go through (token from ORRERY_TOKEN); unset: the server holding the data folder, else the database",
    parse: (raw) =>
      parseUrl(raw, ["http:", "https:"], {
        example: "http://127.0.0.1:7311",
        shownAs: shown
      }).pipe(Result.map((url) => url?.replace(/\/+$/, "")))
  },
  databaseUrl: {
    env: "DATABASE_URL",
    flag: "--database-url",
    placeholder: "<url>",
    help: "a Postgres server, postgres://user:password@host:5432/db (unset: embedded PGlite)",
    // Never echoed as given: a URL may hold a password.
    parse: (raw) =>
      parseUrl(raw, ["postgres:", "postgresql:"], {
        example: "postgres://user:password@host:5432/db",
        shownAs: (value) => shown(maskUrl(value)),
        unparsable: "the value given is not a URL"
      })
  },
  databasePooler: {
    env: "ORRERY_DATABASE_POOLER",
    flag: "--database-pooler",
    placeholder: "<mode>",
    help: `${databasePoolers.join("|")}: transaction when DATABASE_URL leads to a pooler in transaction mode, e.g. PgBouncer (default ${defaults.databasePooler})`,
    parse: (raw) => {
      const mode = (raw ?? defaults.databasePooler).toLowerCase()
      return (databasePoolers as ReadonlyArray<string>).includes(mode)
        ? Result.succeed(mode as DatabasePooler)
        : Result.fail(`must be one of ${databasePoolers.join(", ")}, got ${shown(raw ?? "")}`)
    }
  },
  dataDir: {
    env: "ORRERY_DATA_DIR",
    flag: "--data-dir",
    placeholder: "<path>",
    help: `folder of the embedded PGlite database (default ${defaults.dataDir})`,
    parse: (raw) => Result.succeed(raw ?? defaults.dataDir)
  },
  host: {
    env: "ORRERY_HOST",
    flag: "--host",
    placeholder: "<host>",
    help: `address the HTTP server listens on (default ${defaults.host})`,
    parse: (raw) =>
      raw === undefined
        ? Result.succeed(defaults.host)
        : isIP(raw) !== 0 || isHostName(raw)
          ? Result.succeed(raw)
          : Result.fail(`must be a host name or an IP address, got ${shown(raw)}`)
  },
  port: {
    env: "ORRERY_PORT",
    flag: "--port",
    placeholder: "<port>",
    help: `port the HTTP server listens on, 1-65535 (default ${defaults.port})`,
    parse: (raw) => {
      if (raw === undefined) return Result.succeed(defaults.port)
      const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN
      return port >= 1 && port <= 65535 ? Result.succeed(port) : Result.fail(`must be a port number (1-65535), got ${shown(raw)}`)
    }
  },
  tokens: {
    env: "ORRERY_TOKENS",
    flag: "--tokens",
    placeholder: "<list>",
    help: "HTTP API tokens, name:role:token,... with role read or operate and a token of 16+ characters (default none)",
    parse: (raw) => parseTokens(raw ?? "")
  },
  logLevel: {
    env: "LOG_LEVEL",
    flag: "--log-level",
    placeholder: "<level>",
    help: `${logLevels.join("|")} (default ${defaults.logLevel})`,
    parse: (raw) => {
      const level = (raw ?? defaults.logLevel).toLowerCase()
      return (logLevels as ReadonlyArray<string>).includes(level)
        ? Result.succeed(level as LogLevel)
        : Result.fail(`must be one of ${logLevels.join(", ")}, got ${shown(raw ?? "")}`)
    }
  }
}

export const settingKeys = Object.keys(settings) as ReadonlyArray<SettingKey>

const isHostName = (value: string) =>
  value.length <= 253 && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(value)

const tokenNamePattern = /^[A-Za-z0-9_.-]{1,64}$/
// Printable ASCII without spaces or commas: safe in a header and in this list.
const tokenPattern = /^[\x21-\x2b\x2d-\x7e]{16,}$/

/**
 * `name:role:token,...`; empty entries are ignored. Messages name an entry by its
 * position only: a malformed entry may have its parts in the wrong order, and
 * then any part could be the secret.
 */
export const parseTokens = (raw: string): Result.Result<ReadonlyArray<ApiToken>, string> => {
  const tokens: Array<ApiToken> = []
  const entries = raw.split(",").map((entry) => entry.trim())
  for (const [index, entry] of entries.entries()) {
    if (entry === "") continue
    const which = `entry ${index + 1}`
    const [name, role, ...rest] = entry.split(":")
    const token = rest.join(":")
    if (name === undefined || role === undefined || rest.length === 0) return Result.fail(`${which} must be name:role:token`)
    if (!tokenNamePattern.test(name)) return Result.fail(`${which} must have a name of letters, digits, _ . - (at most 64)`)
    if (role !== "read" && role !== "operate") return Result.fail(`${which} must have the role read or operate`)
    if (!tokenPattern.test(token)) {
      return Result.fail(`${which} must have a token of at least 16 printable characters without spaces or commas`)
    }
    const earlier = tokens.findIndex((other) => other.name === name || Redacted.value(other.token) === token)
    if (earlier !== -1) return Result.fail(`${which} repeats the name or the token of an earlier entry`)
    tokens.push({ name, role, token: Redacted.make(token) })
  }
  return Result.succeed(tokens)
}

/** Invalid configuration; `message` is one line that names the variable. (A plain class: Schema is heavy to load.) */
export class ConfigError extends Error {
  readonly _tag = "ConfigError"
  readonly variable: string
  constructor(fields: { readonly variable: string; readonly message: string }) {
    super(fields.message)
    this.variable = fields.variable
  }
}

/** The command line does not parse (unknown flag, missing value, stray argument). */
export class UsageError extends Error {
  readonly _tag = "UsageError"
  constructor(fields: { readonly message: string }) {
    super(fields.message)
  }
}

export type Flags = { readonly [K in SettingKey]?: string }

/**
 * Reads `keys` from flags, falling back to `env`. A command asks only for the
 * settings it uses, so that (say) a bad ORRERY_PORT does not block `migrate`.
 */
export const loadConfig = <K extends SettingKey = SettingKey>(
  env: Readonly<Record<string, string | undefined>>,
  flags: Flags = {},
  keys: ReadonlyArray<K> = settingKeys as ReadonlyArray<K>
): Result.Result<Pick<Config, K>, ConfigError> => {
  const config: Partial<Record<SettingKey, unknown>> = {}
  for (const key of keys) {
    const setting: Setting<unknown> = settings[key]
    const fromFlag = flags[key] !== undefined
    const raw = fromFlag ? flags[key] : env[setting.env]
    const parsed = setting.parse(raw === "" ? undefined : raw)
    if (Result.isFailure(parsed)) {
      const name = fromFlag ? `${setting.flag} (${setting.env})` : setting.env
      return Result.fail(new ConfigError({ variable: setting.env, message: `${name} ${parsed.failure}` }))
    }
    config[key] = parsed.success
  }
  return Result.succeed(config as Pick<Config, K>)
}

export interface ParsedArgs {
  readonly flags: Flags
  readonly help: boolean
  /** The command's own options by name: a value, or `true` for a switch. */
  readonly options: Readonly<Record<string, string | true>>
  readonly positionals: ReadonlyArray<string>
}

/** A command's own flag (not a setting): `--reason <text>`, or a switch like `--json`. */
export interface CommandOption {
  readonly flag: `--${string}`
  /** A short form accepted beside it, e.g. `-o` for `--out`. */
  readonly alias?: `-${string}`
  /** Shown in the help after the flag; none makes it a switch. */
  readonly placeholder?: string
  readonly help: string
}

export interface CommandShape {
  readonly options?: Readonly<Record<string, CommandOption>>
  /** Names of the arguments it takes, in order; the last may be left out when it ends in `?`. */
  readonly positionals?: ReadonlyArray<string>
  /** A rule the arguments must keep together, beyond each on its own: the refusal, or undefined. */
  readonly check?: (args: Pick<ParsedArgs, "positionals" | "options">) => string | undefined
}

/**
 * `--flag value` or `--flag=value` for the settings in `keys` and the command's
 * own options, `-h`/`--help`, and the command's arguments; the last of a
 * repeated flag wins.
 */
export const parseArgs = (
  argv: ReadonlyArray<string>,
  keys: ReadonlyArray<SettingKey> = settingKeys,
  shape: CommandShape = {}
): Result.Result<ParsedArgs, UsageError> => {
  const flags: { [K in SettingKey]?: string } = {}
  const options: Record<string, string | true> = {}
  const positionals: Array<string> = []
  const allowed = shape.positionals ?? []
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "-h" || arg === "--help") {
      help = true
      continue
    }
    const equals = arg.indexOf("=")
    const flag = equals === -1 ? arg : arg.slice(0, equals)
    const key = keys.find((k) => settings[k].flag === flag)
    const option = Object.entries(shape.options ?? {}).find(([, spec]) => spec.flag === flag || spec.alias === flag)
    if (key === undefined && option === undefined) {
      if (!arg.startsWith("-") && positionals.length < allowed.length) {
        positionals.push(arg)
        continue
      }
      const what = arg.startsWith("-") ? `unknown flag ${flag}` : `unexpected argument ${shown(arg)}`
      return Result.fail(new UsageError({ message: what }))
    }
    if (option !== undefined && option[1].placeholder === undefined) {
      if (equals !== -1) return Result.fail(new UsageError({ message: `${flag} takes no value` }))
      options[option[0]] = true
      continue
    }
    let value: string
    if (equals !== -1) {
      value = arg.slice(equals + 1)
    } else if (i + 1 < argv.length) {
      value = argv[++i]!
    } else {
      return Result.fail(new UsageError({ message: `${flag} needs a value` }))
    }
    if (key !== undefined) flags[key] = value
    else options[option![0]] = value
  }
  const required = allowed.filter((name) => !name.endsWith("?"))
  if (!help && positionals.length < required.length) {
    return Result.fail(new UsageError({ message: `missing ${required.slice(positionals.length).map((name) => `<${name}>`).join(" ")}` }))
  }
  return Result.succeed({ flags, help, options, positionals })
}

/** The flags-and-variables table of a command's help. */
export const settingsHelp = (keys: ReadonlyArray<SettingKey> = settingKeys): string => {
  const rows: Array<readonly [string, string, string]> = keys.map((key) => {
    const s: Setting<unknown> = settings[key]
    return [`${s.flag} ${s.placeholder}`, s.env, s.help] as const
  })
  rows.push(["-h, --help", "", "show this help"])
  const width = (column: 0 | 1) => Math.max(...rows.map((row) => row[column].length))
  return rows.map(([flag, env, help]) => `  ${flag.padEnd(width(0))}  ${env.padEnd(width(1))}  ${help}`.trimEnd()).join("\n")
}

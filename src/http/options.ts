/**
 * Settings, in two layers: what the API serves (`ApiOptions`, the options of
 * `orreryPlugin` bar the application) and the server `orrery start` listens
 * with (`HttpOptions`: the API's settings plus address, log and today's
 * defaults). Each is normalised once, here; invalid values are refused with
 * `InvalidOrreryOptions` naming the option, never echoing a token.
 */
import { Redacted, Schema } from "effect"
import type { ApiToken, LogLevel, Role } from "../config.js"
import type { Domain } from "../domain.js"

/** A token as a host app writes it: the plain string is wrapped in Redacted at once, so that logging the options never leaks it. */
export interface PlainApiToken {
  readonly name: string
  readonly role: Role
  readonly token: string
}

export interface RateLimitOptions {
  /** Requests per token (per address without tokens) per window. */
  readonly max: number
  readonly windowMs: number
}

export interface StreamOptions {
  /** How often an open stream looks for new history (default 200 ms). */
  readonly pollMs?: number
  /** Streams open at once; more are refused with 503 (default 256). */
  readonly maxOpen?: number
  /** A stream is closed after this long; clients reconnect with Last-Event-ID (default 30 min). */
  readonly maxMs?: number
  /** Comment lines that keep proxies from closing an idle stream (default 15 s). */
  readonly heartbeatMs?: number
}

/** How the API behaves, wherever it is mounted. */
export interface ApiOptions {
  /** Serve the inspector at `<prefix>/inspect` (default true). */
  readonly inspector?: boolean
  /** Serve the OpenAPI document and its UI at `<prefix>/docs` (default true). */
  readonly docs?: boolean
  /**
   * Bearer tokens with a role: `read` may call GET routes, `operate` every route.
   * None (the default): every caller the host lets through may operate.
   */
  readonly tokens?: ReadonlyArray<ApiToken | PlainApiToken>
  /** Requests per token per window; false or left out: no limit (a host app usually has its own). */
  readonly rateLimit?: RateLimitOptions | false
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number
  readonly streams?: StreamOptions
  /** Longest `?wait=settled&timeout=` honoured (default 30 s). */
  readonly maxSettleMs?: number
  /** Domains whose `routes` are served beside the API, under the same prefix. */
  readonly domains?: ReadonlyArray<Domain>
}

export interface ResolvedApiOptions {
  readonly inspector: boolean
  readonly docs: boolean
  readonly tokens: ReadonlyArray<ApiToken>
  readonly rateLimit: RateLimitOptions | false
  readonly bodyLimit: number
  readonly streams: Required<StreamOptions>
  readonly maxSettleMs: number
  readonly domains: ReadonlyArray<Domain>
}

/** The server `orrery start` runs: the API at the root, listening on an address. */
export interface HttpOptions extends Omit<ApiOptions, "tokens" | "rateLimit"> {
  readonly host: string
  /** 0 picks a free port (tests). */
  readonly port: number
  /** No tokens: every caller may operate, and the server listens on loopback only. */
  readonly tokens: ReadonlyArray<ApiToken>
  /** Requests per token (per address without tokens) per window; false turns the limit off (default 1000 per 10 s). */
  readonly rateLimit?: RateLimitOptions | false
  readonly logLevel: LogLevel
  /** Where JSON log lines go (default stdout); tests capture them. */
  readonly logStream?: { write(line: string): void }
}

/** An option of `orreryPlugin` (or of the server) that cannot be used; `message` names it. */
export class InvalidOrreryOptions extends Schema.TaggedError<InvalidOrreryOptions>()("InvalidOrreryOptions", {
  option: Schema.String,
  message: Schema.String
}) {}

const refuse = (option: string, why: string): never => {
  throw new InvalidOrreryOptions({ option, message: `orrery: option ${option} ${why}` })
}

/** `value` when it is a positive whole number, `fallback` when it is left out and may be. */
const positiveInteger = (option: string, value: number | undefined, fallback?: number): number => {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) return refuse(option, "must be a positive whole number")
  return value
}

// The same rules as ORRERY_TOKENS (config.ts): a name safe in logs, a token long enough and sendable in a header.
const tokenName = /^[A-Za-z0-9_.-]{1,64}$/
const tokenText = /^[\x21-\x7e]{16,}$/

/** Plain tokens become Redacted; messages name a token by its position or name, never by its secret. */
const resolveTokens = (tokens: ReadonlyArray<ApiToken | PlainApiToken>): ReadonlyArray<ApiToken> => {
  const resolved: Array<ApiToken> = []
  for (const [index, given] of tokens.entries()) {
    const which = `tokens[${index}]`
    if (typeof given?.name !== "string" || !tokenName.test(given.name)) refuse(which, "must have a name of letters, digits, _ . - (at most 64)")
    if (given.role !== "read" && given.role !== "operate") refuse(which, `(${given.name}) must have the role read or operate`)
    const secret = Redacted.isRedacted(given.token) ? Redacted.value(given.token as Redacted.Redacted<string>) : given.token
    if (typeof secret !== "string" || !tokenText.test(secret)) refuse(which, `(${given.name}) must have a token of at least 16 printable characters without spaces`)
    if (resolved.some((other) => other.name === given.name || Redacted.value(other.token) === secret)) {
      refuse(which, `(${given.name}) repeats the name or the token of an earlier token`)
    }
    resolved.push({ name: given.name, role: given.role, token: Redacted.isRedacted(given.token) ? (given.token as Redacted.Redacted<string>) : Redacted.make(secret) })
  }
  return resolved
}

const resolveRateLimit = (rateLimit: RateLimitOptions | false | undefined): RateLimitOptions | false =>
  rateLimit === undefined || rateLimit === false
    ? false
    : { max: positiveInteger("rateLimit.max", rateLimit.max), windowMs: positiveInteger("rateLimit.windowMs", rateLimit.windowMs) }

export const resolveApiOptions = (options: ApiOptions): ResolvedApiOptions => {
  const streams = options.streams ?? {}
  return {
    inspector: options.inspector ?? true,
    docs: options.docs ?? true,
    tokens: resolveTokens(options.tokens ?? []),
    rateLimit: resolveRateLimit(options.rateLimit),
    bodyLimit: positiveInteger("bodyLimit", options.bodyLimit, 1024 * 1024),
    streams: {
      pollMs: positiveInteger("streams.pollMs", streams.pollMs, 200),
      maxOpen: positiveInteger("streams.maxOpen", streams.maxOpen, 256),
      maxMs: positiveInteger("streams.maxMs", streams.maxMs, 30 * 60_000),
      heartbeatMs: positiveInteger("streams.heartbeatMs", streams.heartbeatMs, 15_000)
    },
    maxSettleMs: positiveInteger("maxSettleMs", options.maxSettleMs, 30_000),
    domains: options.domains ?? []
  }
}

/** `orrery start` keeps a rate limit on unless told otherwise: it is the whole server, with nobody in front. */
export const serverRateLimit = (options: HttpOptions): RateLimitOptions | false => options.rateLimit ?? { max: 1000, windowMs: 10_000 }

/** Loopback: the only place a server without tokens may listen. */
export const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)

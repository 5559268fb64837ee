/** The HTTP server's settings: what `orrery start` passes, and the defaults for the rest. */
import type { ApiToken, LogLevel } from "../config.js"
import type { Domain } from "../domain.js"

export interface HttpOptions {
  readonly host: string
  /** 0 picks a free port (tests). */
  readonly port: number
  /** No tokens: every caller may operate, and the server listens on loopback only. */
  readonly tokens: ReadonlyArray<ApiToken>
  readonly logLevel: LogLevel
  /** Domains whose `routes` are registered on the same server. */
  readonly domains?: ReadonlyArray<Domain>
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number
  /** Requests per token (per address without tokens) per window; false turns the limit off. */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number } | false
  readonly streams?: {
    /** How often an open stream looks for new history (default 200 ms). */
    readonly pollMs?: number
    /** Streams open at once; more are refused with 503 (default 256). */
    readonly maxOpen?: number
    /** A stream is closed after this long; clients reconnect with Last-Event-ID (default 30 min). */
    readonly maxMs?: number
    /** Comment lines that keep proxies from closing an idle stream (default 15 s). */
    readonly heartbeatMs?: number
  }
  /** Longest `?wait=settled&timeout=` honoured (default 30 s). */
  readonly maxSettleMs?: number
  /** Where JSON log lines go (default stdout); tests capture them. */
  readonly logStream?: { write(line: string): void }
}

export type ResolvedOptions = Required<Omit<HttpOptions, "logStream" | "streams" | "rateLimit">> & {
  readonly logStream: HttpOptions["logStream"]
  readonly rateLimit: HttpOptions["rateLimit"] & {}
  readonly streams: Required<NonNullable<HttpOptions["streams"]>>
}

export const resolveOptions = (options: HttpOptions): ResolvedOptions => ({
  host: options.host,
  port: options.port,
  tokens: options.tokens,
  logLevel: options.logLevel,
  domains: options.domains ?? [],
  bodyLimit: options.bodyLimit ?? 1024 * 1024,
  rateLimit: options.rateLimit ?? { max: 1000, windowMs: 10_000 },
  streams: { pollMs: 200, maxOpen: 256, maxMs: 30 * 60_000, heartbeatMs: 15_000, ...options.streams },
  maxSettleMs: options.maxSettleMs ?? 30_000,
  logStream: options.logStream
})

/** Loopback: the only place a server without tokens may listen. */
export const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)

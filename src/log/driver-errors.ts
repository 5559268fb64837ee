/**
 * How a driver's failure becomes a value: a lost or refused connection is the
 * typed, retryable `StoreUnavailable`; anything else (bad SQL, a broken
 * invariant) is a bug and dies. Its own module so that every reader of the
 * database — the log, its subscriptions, the engine, projections — shares one
 * mapping without importing the log service itself.
 */
import { Effect } from "effect"
import { type DatabaseShape, StoreUnavailable } from "./database.js"

/** SQLSTATE of a driver error, when it has one. */
export const sqlState = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300" // too_many_connections
])

/** True when an error means "the database is not there right now" rather than "this SQL is wrong". */
export const isConnectionError = (error: unknown): boolean => {
  const code = sqlState(error)
  return code !== undefined && (connectionCodes.has(code) || code.startsWith("08"))
}

/**
 * Runs one driver call; a lost connection fails with `StoreUnavailable`, any other error dies.
 *
 * @example
 * const rows = yield* fromDriver(db, () => db.query("select 1 as one"))
 */
export const fromDriver = <A>(db: Pick<DatabaseShape, "location">, run: () => Promise<A>): Effect.Effect<A, StoreUnavailable> =>
  Effect.tryPromise({ try: run, catch: (error) => error }).pipe(
    Effect.catch((error) =>
      isConnectionError(error)
        ? Effect.fail(
            new StoreUnavailable({
              location: db.location,
              message: `lost the database at ${db.location}: ${error instanceof Error ? error.message : String(error)}`
            })
          )
        : Effect.die(error)
    )
  )

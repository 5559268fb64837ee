/**
 * The one seam between Orrery and a Postgres: a connection (or pool) that runs
 * parameterised SQL, transactions and LISTEN. Two drivers implement it —
 * postgres.js for a real server, PGlite for the embedded default — and every
 * other module speaks only this interface, so there is one set of SQL.
 */
import { Context, Schema } from "effect"

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  /** One statement with `$1…` parameters; rows come back with int8 as numbers and json parsed. */
  query<Row = Record<string, unknown>>(text: string, params?: ReadonlyArray<unknown>): Promise<Array<Row>>
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>
}

export interface DatabaseShape extends Queryable {
  readonly driver: "postgres" | "pglite"
  /** Where the data lives, safe to print: a URL with its password masked, or a folder. */
  readonly location: string
  transaction<A>(work: (tx: Queryable) => Promise<A>): Promise<A>
  /**
   * Calls `onNotify` for every NOTIFY on `channel`; resolves to a function that stops listening.
   * Rejects where notifications cannot reach this process (behind a transaction pooler): callers then poll.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>
}

export class Database extends Context.Service<Database, DatabaseShape>()("orrery/log/Database") {}

/** The database cannot be reached or dropped the connection; the call may be retried later. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  location: Schema.String,
  message: Schema.String
}) {}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything unparsable is hidden whole. */
export const maskUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "<unparsable DATABASE_URL>"
  }
}

/** Schema names are interpolated into SQL, so only plain identifiers are allowed. */
export const isValidSchemaName = (name: string): boolean => /^[a-z_][a-z0-9_]{0,62}$/.test(name)

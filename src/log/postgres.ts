/**
 * The postgres.js driver: a pool of connections to a real Postgres server.
 */
import { Effect, Layer } from "effect"
import postgres from "postgres"
import { Database, type DatabaseShape, type Queryable, StoreUnavailable, maskUrl } from "./database.js"

export interface PostgresOptions {
  readonly url: string
  /** Pool size; a worker and the HTTP server share it. */
  readonly max?: number
  /**
   * The URL leads to a connection pooler in transaction mode (PgBouncer and the like): no
   * prepared statements, which would be unknown on the next transaction's server
   * connection, and no LISTEN, which would last only one transaction (callers poll).
   */
  readonly transactionPooler?: boolean
}

type Sql = postgres.Sql<Record<string, postgres.PostgresType>>

const asQueryable = (sql: Sql | postgres.TransactionSql, prepare: boolean): Queryable => ({
  // postgres.js queries are lazy (sent when awaited); `execute()` sends at once, so that
  // statements issued together inside a transaction run in the order they were issued.
  query: (text, params = []) =>
    sql.unsafe(text, params as Array<postgres.ParameterOrJSON<never>>, { prepare }).execute() as unknown as Promise<Array<never>>,
  exec: async (text) => {
    await sql.unsafe(text)
  }
})

const open = (options: PostgresOptions): { readonly db: DatabaseShape; readonly end: () => Promise<void> } => {
  const sql = postgres(options.url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // int8 (positions) as numbers: 2^53 events is beyond any log we will hold.
    types: {
      int8: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) }
    },
    connection: { application_name: "orrery" },
    ...(options.transactionPooler === true ? { prepare: false } : {})
  }) as unknown as Sql
  const prepare = options.transactionPooler !== true
  const location = maskUrl(options.url)
  const db: DatabaseShape = {
    driver: "postgres",
    location,
    ...asQueryable(sql, prepare),
    transaction: <A>(work: (tx: Queryable) => Promise<A>) => sql.begin((tx) => work(asQueryable(tx, prepare))) as Promise<A>,
    listen: async (channel, onNotify) => {
      // Behind a transaction pooler a LISTEN would end with its transaction: refuse, and the caller polls.
      if (!prepare) throw new Error("no LISTEN through a connection pooler in transaction mode")
      const listening = await sql.listen(channel, onNotify)
      return () => listening.unlisten()
    }
  }
  return { db, end: () => sql.end({ timeout: 5 }) }
}

/** A pool to `url`, checked with one round trip so that an unreachable server fails the layer, not a later call. */
export const layerPostgres = (options: PostgresOptions) =>
  Layer.effect(
    Database,
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const pool = open(options)
          try {
            await pool.db.query("select 1")
            return pool
          } catch (error) {
            await pool.end().catch(() => {})
            throw error
          }
        },
        catch: (error) =>
          new StoreUnavailable({
            location: maskUrl(options.url),
            message: `cannot reach Postgres at ${maskUrl(options.url)}: ${describeError(error)}`
          })
      }),
      (pool) => Effect.promise(() => pool.end().catch(() => {}))
    ).pipe(Effect.map((pool) => pool.db))
  )

export const describeError = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const message = error.message.split("\n")[0] ?? ""
    return typeof code === "string" && !message.includes(code) ? `${code} ${message}`.trim() : message
  }
  return String(error)
}

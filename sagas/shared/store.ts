/**
 * What the shipped domains' durable services share: their state lives in
 * tables of Orrery's own database (beside the log, in its schema, created by
 * the domain's `migrations`), and every operation follows one pattern —
 *
 *   1. one transaction per operation;
 *   2. first take an advisory lock on the operation's idempotency key, so that
 *      two calls with the same key (a retry racing a slow first attempt, a
 *      second worker) run one after the other, never side by side;
 *   3. read what is recorded under the key: if the operation already happened,
 *      answer what it answered then, and change nothing;
 *   4. otherwise lock the rows it changes (`select … for update`, always in the
 *      same order so that two operations cannot deadlock), check, write, and
 *      record the answer under the key — all in the same transaction, so a
 *      crash at any moment leaves either all of it or none of it.
 *
 * An activity may run more than once (its result is recorded only after it
 * returns, so a crash in between runs it again): written this way, running it
 * again is harmless.
 */
import { Effect } from "effect"
import { Database, OrrerySchema, type Queryable } from "orrery"

export interface Store {
  /** The schema the tables live in (Orrery's). */
  readonly schema: string
  /**
   * Runs `work` in one transaction. A database error (the connection dropped)
   * is a defect: the activity runner retries it, and the transaction left
   * nothing behind.
   */
  readonly transaction: <A>(work: (tx: Queryable) => Promise<A>) => Effect.Effect<A>
  /** One statement outside a transaction (reads). */
  readonly query: <Row = Record<string, unknown>>(text: string, params?: ReadonlyArray<unknown>) => Effect.Effect<Array<Row>>
}

/** The store of the application's database, for a service's Layer (`Layer.effect(Service, makeX)`). */
export const store: Effect.Effect<Store, never, Database | OrrerySchema> = Effect.gen(function*() {
  const db = yield* Database
  const { name: schema } = yield* OrrerySchema
  return {
    schema,
    transaction: (work) => Effect.promise(() => db.transaction(work)),
    query: (text, params) => Effect.promise(() => db.query(text, params))
  }
})

/** The name an operation's key is locked under: the table it guards and the key. */
export const lockKey = (table: string, key: string): string => `${table}/${key}`

/**
 * Takes a transaction-scoped advisory lock on `key` of `table`: held until the
 * transaction ends, so every operation on that key runs alone from here on.
 */
export const lockKeyIn = async (tx: Queryable, table: string, key: string): Promise<void> => {
  await tx.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey(table, key)])
}

/** What an operation decided: an answer, or a refusal (a typed error) — the transaction commits either way. */
export type Outcome<A, E> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: E }

export const answer = <A>(value: A): Outcome<A, never> => ({ ok: true, value })
export const refuse = <E>(error: E): Outcome<never, E> => ({ ok: false, error })

/** An outcome as an Effect: the answer, or the refusal as its typed failure. */
export const settle = <A, E>(outcome: Effect.Effect<Outcome<A, E>>): Effect.Effect<A, E> =>
  Effect.flatMap(outcome, (decided) => (decided.ok ? Effect.succeed(decided.value) : Effect.fail(decided.error)))

/** Units of the lines, added up (the invariant checks count units per SKU or offer). */
export const units = (lines: ReadonlyArray<{ readonly quantity: number }>): number => lines.reduce((sum, line) => sum + line.quantity, 0)

/**
 * One circuit breaker per outside dependency, shared by every worker on the
 * database: its state is a row of the engine's `circuits` table. After
 * `failureThreshold` consecutive failures the circuit opens: calls are refused
 * for `cooldown`; then exactly one trial call is let through (half open), on a
 * lease, whichever worker asks first; its success closes the circuit, its
 * failure opens it again. Every change is one SQL statement, so four workers
 * count one set of failures and send one trial. A success writes only when it
 * has failures to clear. A circuit read closed with no failures is trusted for
 * up to a second without reading it again: every recorded failure is announced
 * on a NOTIFY channel, and each breaker forgets what it trusted on hearing it
 * (without LISTEN, behind a transaction pooler, every call reads the table).
 * On a healthy dependency most calls then cost no round trip at all.
 *
 * A refused call is not a failed attempt: the activity runner puts its task
 * back, due when the circuit lets a trial through (see run-activity.ts and the
 * worker). When the circuit closes, or opens again sooner than a waiting task
 * is due, the tasks waiting on it are made due at once or at the new time.
 *
 * Times are the engine's (Effect `Clock`), like the tasks' due times, so a
 * test clock that jumps moves circuits and tasks together.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Layer, Schema } from "effect"
import { Database, fromDriver, type StoreUnavailable } from "../log/index.js"
import { OrrerySchema } from "../engine/tables.js"

export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  dependency: Schema.String,
  retryAfterMs: Schema.Number
}) {
  override get message() {
    return `the circuit for ${this.dependency} is open; retry in ${this.retryAfterMs} ms`
  }
}

export type CircuitState = "closed" | "open" | "half_open"

/** A circuit as the table has it now. */
export interface CircuitView {
  readonly dependency: string
  readonly state: CircuitState
  /** Consecutive failures (reset by a success). */
  readonly failures: number
  /** Open until then; null when closed. */
  readonly openUntil: Date | null
  /** The trial call in flight holds its lease until then; null when none does. */
  readonly trialUntil: Date | null
  /** How often it moved to each state: `{ open, half_open, closed }`. */
  readonly transitions: Readonly<Partial<Record<CircuitState, number>>>
}

/** What the breaker answers a caller who wants to make a call. */
export type Admission =
  | {
      readonly _tag: "Admitted"
      readonly dependency: string
      readonly trial: Date | null
      /** Consecutive failures counted when the call was admitted: a success clears those (none to clear: no write). */
      readonly failures: number
    }
  | { readonly _tag: "Refused"; readonly dependency: string; readonly until: Date }

/** How a call that was admitted ended, for the circuit. */
export type CallOutcome = "success" | "failure" | "interrupted"

export interface CircuitBreakerShape {
  /**
   * Asks to call `dependency`: admitted when its circuit is closed, or as the one trial of a half-open
   * circuit (leased for `trialLeaseMs`, default the breaker's `trialLease`); refused with the time when
   * a trial may go through otherwise.
   */
  readonly admit: (dependency: string, trialLeaseMs?: number) => Effect.Effect<Admission, StoreUnavailable>
  /**
   * What became of an admitted call: a success closes the circuit, a failure counts (and opens it at the
   * threshold, or again after a failed trial), an interruption says nothing about the dependency (a trial's lease is let go).
   */
  readonly settle: (admission: Extract<Admission, { _tag: "Admitted" }>, outcome: CallOutcome) => Effect.Effect<void, StoreUnavailable>
  /**
   * Runs `effect` unless the circuit refuses, then fails with `CircuitOpen`. `isOutage` tells a failure of
   * the dependency (counted) from a business answer such as a declined card, which proves the
   * dependency is up (default: every failure counts).
   */
  readonly protect: <A, E, R>(
    dependency: string,
    effect: Effect.Effect<A, E, R>,
    isOutage?: (error: E) => boolean
  ) => Effect.Effect<A, E | CircuitOpen | StoreUnavailable, R>
  readonly state: (dependency: string) => Effect.Effect<CircuitView, StoreUnavailable>
  /** Every circuit this database knows of (metrics). */
  readonly states: Effect.Effect<ReadonlyArray<CircuitView>, StoreUnavailable>
}

export class CircuitBreaker extends Context.Service<CircuitBreaker, CircuitBreakerShape>()("orrery/activities/CircuitBreaker") {}

export interface CircuitBreakerOptions {
  readonly failureThreshold?: number
  readonly cooldown?: Duration.Input
  /** How long a trial call holds the half-open circuit before another may try (default 30 seconds). */
  readonly trialLease?: Duration.Input
}

interface CircuitRow {
  readonly dependency: string
  readonly failures: number
  readonly open_until: Date | null
  readonly trial_until: Date | null
  readonly transitions: Record<string, number>
}

/** `transitions` with one more move to `state`. */
const counted = (column: string, state: CircuitState) =>
  `jsonb_set(${column}, '{${state}}', to_jsonb(coalesce((${column}->>'${state}')::int, 0) + 1))`

/**
 * How long a circuit read closed with no failures is taken as closed without reading it again, should an
 * announced failure not arrive (a lost connection): the bound on how stale a breaker's view may be.
 */
const trustHealthyMs = 1_000

/** The channel failures are announced on, one per schema. */
export const circuitChannel = (schema: string) => `orrery_circuits_${schema}`

/** Tasks waiting on circuit $1, not held by a worker: what a change of the circuit may make due sooner. */
const waiting = "t.waiting_on = $1 and (t.locked_until is null or t.locked_until < now())"

/**
 * The breaker's SQL. `$2` is always the engine's now (ISO), so that circuits and task due times share one clock.
 */
export const circuitStatements = (s: string) => ({
  /**
   * An open or half-open circuit as it stands, and the trial lease when this caller got it: a half-open
   * circuit (open until a time now past) with no live trial lease takes this one ($3 ms). The row is
   * locked first (`for update` waits for a concurrent caller and then reads what it wrote), so that of
   * concurrent callers on any number of workers exactly one is granted the trial. Always one row: a closed
   * circuit answers null times, with the failures counted so far (a closed circuit is read, not locked).
   */
  admit: `
    with circuit as (
      select dependency, open_until, trial_until from ${s}.circuits where dependency = $1 and open_until is not null for update
    ),
    trial as (
      update ${s}.circuits c set trial_until = $2::timestamptz + $3 * interval '1 millisecond', updated_at = now(),
        transitions = ${counted("c.transitions", "half_open")}
      from circuit
      where c.dependency = circuit.dependency and circuit.open_until <= $2::timestamptz
        and (circuit.trial_until is null or circuit.trial_until <= $2::timestamptz)
      returning c.trial_until
    )
    select (select open_until from circuit) as open_until, (select trial_until from circuit) as trial_until,
      (select trial_until from trial) as granted,
      coalesce((select failures from ${s}.circuits where dependency = $1), 0) as failures`,

  /**
   * A failed call ($4: it was the trial): one more failure, counted in SQL. At the threshold ($3) a closed
   * circuit opens for $5 ms; a failed trial opens it again. Tasks waiting past the new opening end are due then.
   * The failure is announced on channel $6 in the same statement, so at the same commit: every breaker that
   * trusted the circuit healthy hears of it whenever it is counted.
   */
  failure: (() => {
    const opens = `($4 or (c.open_until is null and c.failures + 1 >= $3))`
    return `
    with recorded as (
      insert into ${s}.circuits as c (dependency, failures, open_until, transitions)
      values ($1, 1, case when 1 >= $3 then $2::timestamptz + $5 * interval '1 millisecond' end,
        case when 1 >= $3 then '{"open": 1}'::jsonb else '{}'::jsonb end)
      on conflict (dependency) do update set
        failures = c.failures + 1,
        open_until = case when ${opens} then $2::timestamptz + $5 * interval '1 millisecond' else c.open_until end,
        trial_until = case when $4 then null else c.trial_until end,
        transitions = case when ${opens} then ${counted("c.transitions", "open")} else c.transitions end,
        updated_at = now()
      returning c.failures, c.open_until
    ),
    moved as (
      update ${s}.tasks t set due_at = (select open_until from recorded)
      where ${waiting} and t.due_at > (select open_until from recorded)
    )
    select failures, open_until, pg_notify($6::text, $1::text) from recorded`
  })(),

  /** A call that worked: the circuit closes (if it was not already), and the tasks waiting on it are due now. */
  success: `
    with closed as (
      update ${s}.circuits c set failures = 0, open_until = null, trial_until = null, updated_at = now(),
        transitions = case when c.open_until is not null then ${counted("c.transitions", "closed")} else c.transitions end
      where dependency = $1 and (c.failures > 0 or c.open_until is not null or c.trial_until is not null)
      returning c.dependency
    ),
    woken as (
      update ${s}.tasks t set due_at = $2::timestamptz
      where ${waiting} and t.due_at > $2::timestamptz and exists (select 1 from closed)
    )
    select count(*)::int as closed from closed`,

  /** A trial that was interrupted says nothing of the dependency: its lease ($3) goes, and the waiting tasks may try now. */
  release: `
    with released as (
      update ${s}.circuits set trial_until = null, updated_at = now() where dependency = $1 and trial_until = $3::timestamptz
      returning dependency
    ),
    woken as (
      update ${s}.tasks t set due_at = $2::timestamptz
      where ${waiting} and t.due_at > $2::timestamptz and exists (select 1 from released)
    )
    select count(*)::int as released from released`,

  /** A dependency called for the first time (by this process): its circuit is listed, closed, from now on. */
  known: `insert into ${s}.circuits (dependency) values ($1) on conflict (dependency) do nothing`,

  one: `select * from ${s}.circuits where dependency = $1`,

  all: `select * from ${s}.circuits order by dependency`
})

const viewOf = (row: CircuitRow | undefined, dependency: string, now: number): CircuitView =>
  row === undefined
    ? { dependency, state: "closed", failures: 0, openUntil: null, trialUntil: null, transitions: {} }
    : {
        dependency: row.dependency,
        state: row.open_until === null ? "closed" : row.open_until.getTime() > now ? "open" : "half_open",
        failures: row.failures,
        openUntil: row.open_until,
        trialUntil: row.trial_until !== null && row.trial_until.getTime() > now ? row.trial_until : null,
        transitions: row.transitions ?? {}
      }

const millisOf = (input: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(input))

/**
 * A breaker over the `circuits` table of the schema (made by the engine's migrations).
 * Any number of them, in any number of processes, share the circuits of one database.
 *
 * @example
 * const breaker = yield* makeCircuitBreaker({ failureThreshold: 5, cooldown: "30 seconds" })
 * const charged = yield* breaker.protect("payments", charge)
 */
export const makeCircuitBreaker = Effect.fnUntraced(function*(options: CircuitBreakerOptions = {}) {
  const db = yield* Database
  const { name: schema } = yield* OrrerySchema
  const sql = circuitStatements(schema)
  const threshold = Math.max(1, options.failureThreshold ?? 5)
  const cooldownMs = millisOf(options.cooldown ?? "30 seconds")
  const trialLeaseMs = Math.max(1, millisOf(options.trialLease ?? "30 seconds"))
  const now = Clock.currentTimeMillis
  const iso = (ms: number) => new Date(ms).toISOString()

  /** Dependencies whose circuit row this process knows exists. */
  const known = new Set<string>()
  /** Dependencies read closed with no failures, and until when that is trusted (engine time). */
  const healthy = new Map<string, number>()
  /**
   * Failures heard so far: a read that a failure overtook (announced while the read was on its way) must
   * not be trusted, or the breaker would trust a circuit the announcement had just told it to read again.
   */
  let failuresHeard = 0
  const forget = (dependency: string) => {
    failuresHeard++
    healthy.delete(dependency)
  }
  const channel = circuitChannel(schema)
  // Behind a transaction pooler there is no LISTEN: nothing is trusted, every call reads its circuit.
  const unlisten = yield* Effect.promise(() => db.listen(channel, forget).catch(() => undefined))
  if (unlisten !== undefined) yield* Effect.addFinalizer(() => Effect.promise(() => unlisten().catch(() => {})))

  const admit: CircuitBreakerShape["admit"] = (dependency, leaseMs = trialLeaseMs) =>
    Effect.gen(function*() {
      const at = yield* now
      if ((healthy.get(dependency) ?? 0) > at) return { _tag: "Admitted", dependency, trial: null, failures: 0 } as const
      const heardBefore = failuresHeard
      if (!known.has(dependency)) {
        yield* fromDriver(db, () => db.query(sql.known, [dependency]))
        known.add(dependency)
      }
      const [row] = yield* fromDriver(db, () =>
        db.query<{ open_until: Date | null; trial_until: Date | null; granted: Date | null; failures: number }>(sql.admit, [
          dependency,
          iso(at),
          Math.max(1, Math.round(leaseMs))
        ])
      )
      const failures = row?.failures ?? 0
      if (row === undefined || row.open_until === null) {
        if (failures === 0 && unlisten !== undefined && failuresHeard === heardBefore) healthy.set(dependency, at + trustHealthyMs)
        return { _tag: "Admitted", dependency, trial: null, failures } as const
      }
      if (row.granted !== null) return { _tag: "Admitted", dependency, trial: row.granted, failures } as const
      // Open: a trial may go when the cool-down ends. Half open with a trial in flight: when the trial settles (that makes
      // the waiting tasks due), when its lease ends at the latest — and no later than a cool-down from now, should the
      // trial settle before this caller's task is back in the table, where the settling would not find it.
      const until = row.open_until.getTime() > at ? row.open_until.getTime() : Math.min((row.trial_until ?? row.open_until).getTime(), at + cooldownMs)
      return { _tag: "Refused", dependency, until: new Date(Math.max(until, at + 50)) } as const
    })

  const settle: CircuitBreakerShape["settle"] = (admission, outcome) =>
    Effect.gen(function*() {
      const at = iso(yield* now)
      const { dependency, trial } = admission
      switch (outcome) {
        case "success":
          // Admitted into a closed circuit with no failures counted: nothing to clear, nothing to write. (Failures
          // other workers count while this call runs are theirs to clear: this call began before them.)
          if (trial === null && admission.failures === 0) return
          return yield* fromDriver(db, () => db.query(sql.success, [dependency, at]))
        case "failure":
          forget(dependency)
          // The statement also announces the failure: every breaker that trusted this circuit reads it again.
          return yield* fromDriver(db, () => db.query(sql.failure, [dependency, at, threshold, trial !== null, cooldownMs, channel]))
        case "interrupted":
          if (trial !== null) yield* fromDriver(db, () => db.query(sql.release, [dependency, at, trial.toISOString()]))
          return
      }
    }).pipe(Effect.asVoid)

  const protect: CircuitBreakerShape["protect"] = <A, E, R>(dependency: string, effect: Effect.Effect<A, E, R>, isOutage: (error: E) => boolean = () => true) =>
    Effect.gen(function*() {
      const admission = yield* admit(dependency)
      if (admission._tag === "Refused") {
        return yield* new CircuitOpen({ dependency, retryAfterMs: Math.max(0, admission.until.getTime() - (yield* now)) })
      }
      // The circuit hears how the call ended even when it was interrupted (a trial lets go of its lease).
      return yield* Effect.uninterruptibleMask((restore) =>
        Effect.exit(restore(effect)).pipe(Effect.tap((exit) => settle(admission, outcomeOf(exit, isOutage))), Effect.flatten)
      )
    })

  const state: CircuitBreakerShape["state"] = (dependency) =>
    Effect.gen(function*() {
      const [row] = yield* fromDriver(db, () => db.query<CircuitRow>(sql.one, [dependency]))
      return viewOf(row, dependency, yield* now)
    })

  const states: CircuitBreakerShape["states"] = Effect.gen(function*() {
    const rows = yield* fromDriver(db, () => db.query<CircuitRow>(sql.all))
    const at = yield* now
    return rows.map((row) => viewOf(row, row.dependency, at))
  })

  return { admit, settle, protect, state, states } satisfies CircuitBreakerShape
})

/**
 * What an admitted call's end tells the circuit: interrupted (a shutdown) tells nothing; a failure
 * `isOutage` calls a business answer (a declined card) shows the dependency up, like a success.
 */
export const outcomeOf = <A, E>(exit: Exit.Exit<A, E>, isOutage: (error: E) => boolean = () => true): CallOutcome => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  return failure?._tag === "Fail" && !isOutage(failure.error as E) ? "success" : "failure"
}

/** The breaker over the application's database (its `Database` and `OrrerySchema`). */
export const circuitBreakerLayer = (options: CircuitBreakerOptions = {}) => Layer.effect(CircuitBreaker, makeCircuitBreaker(options))

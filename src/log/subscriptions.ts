/**
 * Durable subscriptions: a named reader of the global log with a checkpoint in
 * the database. It catches up from its checkpoint, then waits for appends
 * (woken at once, polling as a fallback). Delivery is at-least-once: the
 * checkpoint moves after a batch is handled. A handler that fails is retried
 * with exponential backoff; after the last attempt its event is parked and the
 * subscription moves on. A handler may also take a whole page of events at
 * once (a read model applying them in one transaction, one commit for the
 * page); a page that fails is handed over again event by event, with the
 * retries and the parking. Each subscription is its own fiber, so one's failures
 * never hold up another.
 */
import { Cause, Clock, Duration, Effect, Schedule, type Scope } from "effect"
import type { DatabaseShape } from "./database.js"
import { fromDriver } from "./driver-errors.js"
import type { EventCatalog } from "./event-type.js"
import { type BrokenEvent, type EventRow, LogCursor, type RecordedEvent, toRecordedEvent } from "./recorded-event.js"
import type { StoreUnavailable } from "./database.js"
import type { Statements } from "./statements.js"
import type { Wakeups } from "./wakeups.js"

/** How long at most an idle subscription's cursor, moved past other types' events, goes unsaved. */
const idleSaveMillis = 60_000

/**
 * Handles one event; or, as `{ page, event }`, a page of events at once (`page`, tried once per page of
 * two or more) and one at a time when the page fails (`event`, retried and parked as a plain handler is).
 * A page handler must leave nothing behind when it fails: a transaction around the page does that.
 */
export type SubscriptionHandler<R = never> =
  | ((event: RecordedEvent) => Effect.Effect<unknown, unknown, R>)
  | {
    readonly page: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<unknown, unknown, R>
    readonly event: (event: RecordedEvent) => Effect.Effect<unknown, unknown, R>
  }

export interface SubscribeOptions {
  /** Only these event types are delivered. */
  readonly types?: ReadonlyArray<string>
  /** Where a subscription without a checkpoint starts (default: the start of the log). */
  readonly from?: "start" | "end" | LogCursor
  readonly batchSize?: number
  /** Attempts per event before it is parked (default 5). */
  readonly maxAttempts?: number
  /** The first retry delay; doubled for each further attempt (default 100 ms). */
  readonly retryDelay?: Duration.Input
  /** How often to look for new events when no wake-up arrives (default 1 s). */
  readonly pollInterval?: Duration.Input
  /**
   * Woken within this time of its last read, it waits out the rest before reading, so that under a
   * steady stream of appends a read takes a page of events rather than one (default 50 ms). An idle
   * subscription reads as soon as it is woken.
   */
  readonly coalesce?: Duration.Input
}

export interface Subscription {
  readonly name: string
  /** The cursor after the last handled (or parked) event, or after other types' events read past since. */
  readonly position: Effect.Effect<LogCursor>
}

export interface ParkedEvent {
  readonly id: number
  readonly subscription: string
  readonly position: number
  readonly eventId: string
  readonly attempts: number
  readonly error: string
  readonly parkedAt: Date
  readonly redriveRequested: boolean
}

export interface SubscriptionContext {
  readonly db: DatabaseShape
  readonly sql: Statements
  readonly catalog: EventCatalog
  readonly wakeups: Wakeups
  readonly headCursor: Effect.Effect<LogCursor, StoreUnavailable>
  readonly readAll: (options: {
    readonly after: LogCursor
    readonly limit: number
    readonly types?: ReadonlyArray<string>
  }) => Effect.Effect<{ readonly events: ReadonlyArray<RecordedEvent>; readonly broken: ReadonlyArray<BrokenEvent>; readonly next: LogCursor; readonly heldBack: boolean }, StoreUnavailable>
}

const describe = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const message = (error as { message?: unknown }).message
    return typeof message === "string" && message !== "" ? `${String(error._tag)}: ${message}` : String(error._tag)
  }
  if (error instanceof Error) return error.message
  return String(error)
}

export const runSubscription = <R>(
  ctx: SubscriptionContext,
  name: string,
  handler: SubscriptionHandler<R>,
  options: SubscribeOptions
): Effect.Effect<Subscription, StoreUnavailable, R | Scope.Scope> =>
  Effect.gen(function*() {
    const { db, sql } = ctx
    const batchSize = options.batchSize ?? 500
    const maxAttempts = Math.max(1, options.maxAttempts ?? 5)
    const pollInterval = options.pollInterval ?? "1 second"
    const coalesceMillis = Duration.toMillis(Duration.fromInputUnsafe(options.coalesce ?? "50 millis"))
    const retries = Schedule.max([Schedule.exponential(options.retryDelay ?? "100 millis"), Schedule.recurs(maxAttempts - 1)])

    const [saved] = yield* fromDriver(db, () => db.query<{ transaction_id: string; position: number }>(sql.loadCheckpoint, [name]))
    let cursor: LogCursor =
      saved !== undefined
        ? { transactionId: saved.transaction_id, position: saved.position }
        : options.from === "end"
        ? yield* ctx.headCursor
        : options.from === undefined || options.from === "start"
        ? LogCursor.start
        : options.from

    const one = typeof handler === "function" ? handler : handler.event
    const page = typeof handler === "function" ? undefined : handler.page

    /** Runs the handler with its retries; answers the last error when every attempt failed. */
    const deliver = (event: RecordedEvent) =>
      Effect.suspend(() => one(event)).pipe(
        Effect.catchDefect((defect) => Effect.fail(defect)),
        Effect.retry(retries),
        Effect.as(undefined as string | undefined),
        Effect.catch((error) => Effect.succeed(describe(error)))
      )

    /** Hands the page over at once; answers whether it was handled (if not, it is delivered event by event). */
    const deliverPage = (pageHandler: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<unknown, unknown, R>, events: ReadonlyArray<RecordedEvent>) =>
      Effect.suspend(() => pageHandler(events)).pipe(
        Effect.catchDefect((defect) => Effect.fail(defect)),
        Effect.as(true),
        Effect.catch(() => Effect.succeed(false))
      )

    const park = (event: Pick<RecordedEvent, "position" | "eventId" | "type">, error: string, attempts: number) =>
      fromDriver(db, () => db.query(sql.park, [name, event.position, event.eventId, attempts, error])).pipe(
        Effect.tap(() => Effect.logWarning(`subscription ${name} parked event ${event.eventId} (${event.type}): ${error}`))
      )

    const redrive = Effect.gen(function*() {
      const rows = yield* fromDriver(db, () => db.query<EventRow & { parked_id: number }>(sql.redriveDue, [name]))
      for (const row of rows) {
        const event = toRecordedEvent(row, ctx.catalog)
        const error = event._tag === "Success" ? yield* deliver(event.success) : describe(event.failure)
        if (error === undefined) yield* fromDriver(db, () => db.query(sql.unpark, [row.parked_id]))
        else yield* park({ position: row.position, eventId: row.event_id, type: row.type }, error, event._tag === "Success" ? maxAttempts : 0)
      }
    })

    let savedAt = yield* Clock.currentTimeMillis
    let unsaved = false
    /** What to do after a read: read on at once, read again shortly (events held back), or wait for an append. */
    const catchUp = Effect.gen(function*() {
      const batch = yield* ctx.readAll({ after: cursor, limit: batchSize, ...(options.types ? { types: options.types } : {}) })
      // Broken rows (changed behind the log's back, or no longer decoding) are parked unread, so the rest of the log flows.
      for (const row of batch.broken) yield* park(row, describe(row.error), 0)
      const whole = page !== undefined && batch.events.length > 1 && (yield* deliverPage(page, batch.events))
      if (!whole) {
        for (const event of batch.events) {
          const error = yield* deliver(event)
          if (error !== undefined) yield* park(event, error, maxAttempts)
        }
      }
      const read = batch.events.length + batch.broken.length
      const moved = batch.next.transactionId !== cursor.transactionId || batch.next.position !== cursor.position
      cursor = batch.next
      unsaved ||= moved
      // Past other types' events only, the cursor is saved now and then rather than at every read: lost, it costs
      // one walk over those events again, not an event.
      const now = yield* Clock.currentTimeMillis
      if (unsaved && (read > 0 || now - savedAt >= idleSaveMillis)) {
        yield* fromDriver(db, () => db.query(sql.saveCheckpoint, [name, cursor.transactionId, cursor.position]))
        savedAt = now
        unsaved = false
      }
      return read === batchSize ? "again" as const : batch.heldBack ? "shortly" as const : "wait" as const
    })

    const latch = yield* ctx.wakeups.register(options.types)
    let failures = 0
    /** Reads again so far while events of its types wait behind the horizon. */
    let heldBack = 0
    const loop = Effect.gen(function*() {
      while (true) {
        yield* latch.close
        const next = yield* Effect.andThen(redrive, catchUp).pipe(
          Effect.tap(() => Effect.sync(() => (failures = 0))),
          Effect.catchCause((cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
            failures++
            const delay = Duration.millis(Math.min(30_000, 100 * 2 ** Math.min(failures, 9)))
            return Effect.logError(`subscription ${name} cannot read the log: ${describe(Cause.squash(cause))}`).pipe(
              Effect.andThen(Effect.sleep(delay)),
              Effect.as("again" as const)
            )
          })
        )
        if (next === "again") continue
        // Events of its types are committed behind a transaction begun before them and still open somewhere on
        // the server (gap-safe reads stop before it). No wake-up will say when it ends, so read again shortly,
        // backing off up to the poll interval, for as long as the read says so.
        if (next === "shortly") {
          heldBack++
          yield* Effect.sleep(Duration.min(Duration.fromInputUnsafe(pollInterval), Duration.millis(25 * 2 ** Math.min(heldBack, 10))))
          continue
        }
        heldBack = 0
        const readAt = yield* Clock.currentTimeMillis
        yield* latch.await.pipe(Effect.timeoutOption(pollInterval))
        const since = (yield* Clock.currentTimeMillis) - readAt
        if (since < coalesceMillis) yield* Effect.sleep(Duration.millis(coalesceMillis - since))
      }
    })
    yield* Effect.forkScoped(loop)
    return { name, position: Effect.sync(() => cursor) }
  })

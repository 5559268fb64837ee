/**
 * Durable subscriptions: a named reader of the global log with a checkpoint in
 * the database. It catches up from its checkpoint, then waits for appends
 * (woken at once, polling as a fallback). Delivery is at-least-once: the
 * checkpoint moves after a batch is handled. A handler that fails is retried
 * with exponential backoff; after the last attempt its event is parked and the
 * subscription moves on. Each subscription is its own fiber, so one's failures
 * never hold up another.
 */
import { Cause, Duration, Effect, Option, Schedule, type Scope } from "effect"
import type { DatabaseShape } from "./database.js"
import { fromDriver } from "./driver-errors.js"
import type { EventCatalog } from "./event-type.js"
import { type BrokenEvent, type EventRow, LogCursor, type RecordedEvent, toRecordedEvent } from "./recorded-event.js"
import type { StoreUnavailable } from "./database.js"
import type { Statements } from "./statements.js"
import type { Wakeups } from "./wakeups.js"

/** How many times a subscription reads again, backing off from 50 ms, after a wake-up that found nothing to read. */
const heldBackRetries = 8

export type SubscriptionHandler<R = never> = (event: RecordedEvent) => Effect.Effect<unknown, unknown, R>

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
}

export interface Subscription {
  readonly name: string
  /** The cursor after the last handled (or parked) event. */
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
  }) => Effect.Effect<{ readonly events: ReadonlyArray<RecordedEvent>; readonly broken: ReadonlyArray<BrokenEvent>; readonly next: LogCursor }, StoreUnavailable>
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

    /** Runs the handler with its retries; answers the last error when every attempt failed. */
    const deliver = (event: RecordedEvent) =>
      Effect.suspend(() => handler(event)).pipe(
        Effect.catchDefect((defect) => Effect.fail(defect)),
        Effect.retry(retries),
        Effect.as(undefined as string | undefined),
        Effect.catch((error) => Effect.succeed(describe(error)))
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

    const catchUp = Effect.gen(function*() {
      const batch = yield* ctx.readAll({ after: cursor, limit: batchSize, ...(options.types ? { types: options.types } : {}) })
      // Broken rows (changed behind the log's back, or no longer decoding) are parked unread, so the rest of the log flows.
      for (const row of batch.broken) yield* park(row, describe(row.error), 0)
      for (const event of batch.events) {
        const error = yield* deliver(event)
        if (error !== undefined) yield* park(event, error, maxAttempts)
      }
      const read = batch.events.length + batch.broken.length
      lastRead = read
      if (read > 0) {
        yield* fromDriver(db, () => db.query(sql.saveCheckpoint, [name, batch.next.transactionId, batch.next.position]))
        cursor = batch.next
      }
      return read === batchSize
    })

    const latch = yield* ctx.wakeups.register
    let failures = 0
    /** Events the last read took, and whether the wait before it was ended by a wake-up (not the poll interval). */
    let lastRead = 0
    let woken = false
    /** Reads again after a wake-up that found nothing, so far. */
    let heldBack = 0
    const loop = Effect.gen(function*() {
      while (true) {
        yield* latch.close
        const more = yield* Effect.andThen(redrive, catchUp).pipe(
          Effect.tap(() => Effect.sync(() => (failures = 0))),
          Effect.catchCause((cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
            failures++
            const delay = Duration.millis(Math.min(30_000, 100 * 2 ** Math.min(failures, 9)))
            return Effect.logError(`subscription ${name} cannot read the log: ${describe(Cause.squash(cause))}`).pipe(
              Effect.andThen(Effect.sleep(delay)),
              Effect.as(true)
            )
          })
        )
        if (more) continue
        // Woken for an append it could not read yet: a transaction begun before that append is still open
        // somewhere on the server, and gap-safe reads stop before it. Another wake-up may never come (that was
        // the last append), so read again shortly, backing off, rather than wait out the poll interval.
        if (woken && lastRead === 0 && heldBack < heldBackRetries) {
          heldBack++
          yield* Effect.sleep(Duration.min(Duration.fromInputUnsafe(pollInterval), Duration.millis(25 * 2 ** heldBack)))
          continue
        }
        heldBack = 0
        woken = Option.isSome(yield* latch.await.pipe(Effect.timeoutOption(pollInterval)))
      }
    })
    yield* Effect.forkScoped(loop)
    return { name, position: Effect.sync(() => cursor) }
  })

/**
 * The event log: an Effect service over one Postgres table of events, with
 * streams, a commit-safe global order, typed payloads, a hash chain per stream,
 * durable subscriptions and snapshots. Both drivers run this same code.
 */
import { Context, Effect, Layer, Option, Result, type Scope } from "effect"
import { type AppendResult, appendBatch, encodeBatch } from "./append.js"
import { Database, type StoreUnavailable } from "./database.js"
import { fromDriver, sqlState } from "./driver-errors.js"
import { type AppendError, EventIdInUse, type ExpectedVersion, InvalidEvent, type ReadError, VersionConflict } from "./errors.js"
import { type EventCatalog, type EventMetadata, type NewEvent, emptyCatalog } from "./event-type.js"
import { type BrokenEvent, brokenRows, type CheckedRow, type EventRow, LogCursor, partitionRows, type RecordedEvent, toRecordedEvents } from "./recorded-event.js"
import { migrate } from "./migrations.js"
import { type Statements, statements } from "./statements.js"
import { type ParkedEvent, type SubscribeOptions, type Subscription, type SubscriptionHandler, runSubscription } from "./subscriptions.js"
import { Wakeups } from "./wakeups.js"

export interface Snapshot {
  readonly streamId: string
  readonly streamVersion: number
  readonly machineVersion: number
  readonly state: unknown
  readonly recordedAt: Date
}

export interface ReadAllResult {
  readonly events: ReadonlyArray<RecordedEvent>
  /** Rows of this page that fail their hash check or no longer decode: named here, and `next` is past them. */
  readonly broken: ReadonlyArray<BrokenEvent>
  /**
   * Where the next read continues: after the page's last event, or, when the page was shorter than its
   * limit (it reached the horizon), after the last event before the horizon of any type. Unchanged when
   * nothing was appended since.
   */
  readonly next: LogCursor
  /**
   * Whether an event of the types asked is committed but behind the horizon: appended after a transaction
   * that was still open when this page was read began. Read again shortly; it comes once that transaction
   * ends. Always false for a full page, which is read on at once.
   */
  readonly heldBack: boolean
}

/** Where a walk of the streams stands: the last row it checked (stream, then version). */
interface StreamPlace {
  readonly streamId: string
  readonly streamVersion: number
}

/** The whole log checked: how many rows in how many streams, and the rows that fail. */
export interface StreamCheck {
  readonly events: number
  readonly streams: number
  /** The rows that fail their hash check (changed, or a row before them gone) or no longer decode, in stream order. */
  readonly broken: ReadonlyArray<BrokenEvent>
}

export type { AppendResult } from "./append.js"
export type { AppendError, ReadError } from "./errors.js"

export interface EventLogShape {
  readonly append: (
    stream: string,
    expected: ExpectedVersion,
    events: ReadonlyArray<NewEvent>,
    options?: { readonly metadata?: EventMetadata }
  ) => Effect.Effect<AppendResult, AppendError>
  readonly readStream: (
    stream: string,
    options?: { readonly from?: number; readonly to?: number }
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, ReadError>
  readonly readAll: (options?: {
    readonly after?: LogCursor
    readonly limit?: number
    readonly types?: ReadonlyArray<string>
  }) => Effect.Effect<ReadAllResult, StoreUnavailable>
  /**
   * Every stream's rows, each checked against its hash chain and decoded: the whole log verified in
   * pages of `limit` rows (default 5,000) read in stream order, rather than one read per stream
   * (`orrery doctor`). Unlike `readStream`, it goes on past what it finds and names every broken row.
   */
  readonly checkStreams: (options?: { readonly limit?: number }) => Effect.Effect<StreamCheck, StoreUnavailable>
  readonly streamVersion: (stream: string) => Effect.Effect<number, StoreUnavailable>
  readonly headCursor: Effect.Effect<LogCursor, StoreUnavailable>
  /**
   * Wakes the subscribers of these event types in this process, for events written by another path
   * than `append` (the engine's step writes its events and the instance in one statement of its own).
   * Without it they see those events at their next poll, as other processes' subscribers do: a NOTIFY
   * per step would be a commit of its own.
   */
  readonly announce: (types: ReadonlyArray<string>) => Effect.Effect<void>
  readonly subscribe: <R>(
    name: string,
    handler: SubscriptionHandler<R>,
    options?: SubscribeOptions
  ) => Effect.Effect<Subscription, StoreUnavailable, R | Scope.Scope>
  readonly listParked: (subscription?: string) => Effect.Effect<ReadonlyArray<ParkedEvent>, StoreUnavailable>
  /** Every subscription's checkpoint position and how far the log's head is past it (metrics). */
  readonly subscriptionLag: Effect.Effect<ReadonlyArray<{ readonly name: string; readonly position: number; readonly behind: number }>, StoreUnavailable>
  /** Asks the parked event's subscription to deliver it again; false when no such parked event. */
  readonly redrive: (parkedId: number) => Effect.Effect<boolean, StoreUnavailable>
  readonly saveSnapshot: (
    stream: string,
    streamVersion: number,
    machineVersion: number,
    state: unknown
  ) => Effect.Effect<void, StoreUnavailable>
  readonly loadLatestSnapshot: (stream: string) => Effect.Effect<Option.Option<Snapshot>, StoreUnavailable>
}

export class EventLog extends Context.Service<EventLog, EventLogShape>()("orrery/log/EventLog") {}

export interface EventLogOptions {
  /** The Postgres schema that holds the log's tables (one per application, or per test). */
  readonly schema?: string
  /** Event types to decode on read; unknown types are returned as stored. */
  readonly catalog?: EventCatalog
  /** Run migrations when the layer is built (default true). */
  readonly migrate?: boolean
}

// ---------------------------------------------------------------------------
// The service

const make = Effect.fnUntraced(function*(options: EventLogOptions) {
  const db = yield* Database
  const schema = options.schema ?? "orrery"
  const catalog = options.catalog ?? emptyCatalog
  const sql = statements(schema)
  if (options.migrate !== false) yield* fromDriver(db, () => migrate(db, schema))
  const wakeups = yield* Wakeups.make(db, `orrery_events_${schema}`)

  const append: EventLogShape["append"] = (stream, expected, events, appendOptions) => {
    if (events.length === 0) return Effect.fail(new InvalidEvent({ eventType: "", field: "", reason: "an append needs at least one event" }))
    const batch = encodeBatch(events, appendOptions?.metadata)
    if (Result.isFailure(batch)) return Effect.fail(batch.failure)
    const attempt = (retriesLeft: number): Effect.Effect<AppendResult, AppendError> =>
      Effect.tryPromise({
        try: () => appendBatch(db, sql, stream, expected, events.length, batch.success),
        catch: (error) => error
      }).pipe(
        Effect.catch((error): Effect.Effect<Result.Result<AppendResult, VersionConflict | EventIdInUse>, AppendError> => {
          const code = sqlState(error)
          // A concurrent writer took the version (or the event id) between our read and insert.
          if (code === "23505") {
            // Run again: the statement now sees the new head and answers conflict, existing, or (for "any") inserts.
            return retriesLeft > 0
              ? attempt(retriesLeft - 1).pipe(Effect.map(Result.succeed))
              : streamVersion(stream).pipe(
                  Effect.map((actual) => Result.fail(new VersionConflict({ stream, expected, actual })))
                )
          }
          // The batch mixed new event ids with stored ones (append_events undid what it inserted).
          if (code === "OR003") return Effect.fail(new EventIdInUse({ stream, eventId: "one of the appended event ids" }))
          // jsonb refuses what JSON allows (\u0000 in a string): the payload is bad input, not a bug.
          if (code === "22P05" || code === "22P02") {
            return Effect.fail(
              new InvalidEvent({ eventType: events[0]!.type, field: "", reason: `cannot be stored: ${String((error as Error).message)}` })
            )
          }
          return fromDriver(db, () => Promise.reject(error))
        }),
        Effect.flatMap((result) => (Result.isFailure(result) ? Effect.fail(result.failure) : Effect.succeed(result.success)))
      )
    return attempt(expected === "any" ? 8 : 1).pipe(
      Effect.tap((result) => (result.alreadyStored ? Effect.void : wakeups.ring(events.map((event) => event.type))))
    )
  }

  const readStream: EventLogShape["readStream"] = (stream, range = {}) =>
    fromDriver(db, () =>
      db.query<EventRow>(sql.readStream, [stream, Math.max(1, range.from ?? 1), range.to ?? 2_147_483_647])
    ).pipe(Effect.flatMap((rows) => Effect.fromResult(toRecordedEvents(rows, catalog))))

  const readAll: EventLogShape["readAll"] = (readOptions = {}) => {
    const after = readOptions.after ?? LogCursor.start
    const limit = Math.max(1, Math.min(readOptions.limit ?? 1000, 10_000))
    const types = readOptions.types === undefined ? null : JSON.stringify(readOptions.types)
    return fromDriver(db, () => db.query<EventRow & { readonly held_back: boolean | null }>(sql.readAll, [after.transactionId, after.position, limit, types])).pipe(
      Effect.map((rows) => {
        // A page shorter than its limit ends with the function's mark row (see log migration 4).
        const mark = rows.length > 0 && rows[rows.length - 1]!.held_back !== null ? rows[rows.length - 1] : undefined
        const eventRows = mark === undefined ? rows : rows.slice(0, -1)
        const last = mark ?? eventRows[eventRows.length - 1]
        return {
          ...partitionRows(eventRows, catalog),
          next: last === undefined ? after : { transactionId: last.transaction_id, position: last.position },
          heldBack: mark?.held_back === true
        }
      })
    )
  }

  const checkStreams: EventLogShape["checkStreams"] = (checkOptions = {}) => {
    const limit = Math.max(1, Math.min(checkOptions.limit ?? 5000, 10_000))
    const page = (after: StreamPlace) => fromDriver(db, () => db.query<CheckedRow>(sql.checkStreams, [after.streamId, after.streamVersion, limit]))
    return Effect.gen(function*() {
      let events = 0
      let streams = 0
      const broken: Array<BrokenEvent> = []
      let after: StreamPlace = { streamId: "", streamVersion: 0 }
      while (true) {
        const rows = yield* page(after)
        const last = rows.at(-1)
        const more = rows.length >= limit && last !== undefined
        events += rows.length
        // A stream counts on the page where it begins, so that it counts once however the pages fall.
        for (let i = 0; i < rows.length; i++) if (rows[i]!.stream_id !== (i === 0 ? after.streamId : rows[i - 1]!.stream_id)) streams++
        broken.push(...brokenRows(rows, catalog))
        if (!more) return { events, streams, broken }
        after = { streamId: last.stream_id, streamVersion: last.stream_version }
      }
    })
  }

  const streamVersion: EventLogShape["streamVersion"] = (stream) =>
    fromDriver(db, () => db.query<{ version: number }>(sql.streamVersion, [stream])).pipe(
      Effect.map(([row]) => row?.version ?? 0)
    )

  const headCursor = fromDriver(db, () => db.query<{ transaction_id: string; position: number }>(sql.headCursor)).pipe(
    Effect.map(([row]) => (row === undefined ? LogCursor.start : { transactionId: row.transaction_id, position: row.position }))
  )

  const service: EventLogShape = {
    append,
    readStream,
    readAll,
    checkStreams,
    streamVersion,
    headCursor,
    announce: (types) => wakeups.ringHere(types),
    subscribe: (name, handler, subscribeOptions = {}) =>
      runSubscription({ db, sql, readAll, headCursor, wakeups, catalog }, name, handler, subscribeOptions),
    subscriptionLag: fromDriver(db, () => db.query<{ name: string; position: number; behind: number }>(sql.subscriptionLag)),
    listParked: (subscription) =>
      fromDriver(db, () => db.query<ParkedRow>(sql.listParked, [subscription ?? null])).pipe(
        Effect.map((rows) => rows.map(toParkedEvent))
      ),
    redrive: (parkedId) =>
      fromDriver(db, () => db.query(sql.requestRedrive, [parkedId])).pipe(
        Effect.tap(() => wakeups.ring()),
        Effect.map((rows) => rows.length > 0)
      ),
    saveSnapshot: (stream, version, machineVersion, state) =>
      fromDriver(db, () => db.query(sql.saveSnapshot, [stream, version, machineVersion, JSON.stringify(state)])).pipe(
        Effect.asVoid
      ),
    loadLatestSnapshot: (stream) =>
      fromDriver(db, () => db.query<SnapshotRow>(sql.loadLatestSnapshot, [stream])).pipe(
        Effect.map(([row]) =>
          row === undefined
            ? Option.none()
            : Option.some({
                streamId: row.stream_id,
                streamVersion: row.stream_version,
                machineVersion: row.machine_version,
                state: row.state,
                recordedAt: row.recorded_at
              })
        )
      )
  }
  return service
})

interface SnapshotRow {
  readonly stream_id: string
  readonly stream_version: number
  readonly machine_version: number
  readonly state: unknown
  readonly recorded_at: Date
}

interface ParkedRow {
  readonly id: number
  readonly subscription: string
  readonly position: number
  readonly event_id: string
  readonly attempts: number
  readonly error: string
  readonly parked_at: Date
  readonly redrive_requested_at: Date | null
}

const toParkedEvent = (row: ParkedRow): ParkedEvent => ({
  id: row.id,
  subscription: row.subscription,
  position: row.position,
  eventId: row.event_id,
  attempts: row.attempts,
  error: row.error,
  parkedAt: row.parked_at,
  redriveRequested: row.redrive_requested_at !== null
})

/** The log over whichever `Database` layer is provided. */
export const layer = (options: EventLogOptions = {}) => Layer.effect(EventLog, make(options))

/** What reading the log gives back: recorded events, and cursors into the global order. */
import { Result } from "effect"
import { IntegrityError, type InvalidEvent } from "./errors.js"
import { type EventCatalog, type EventMetadata, decodePayload } from "./event-type.js"

/** An event as stored: where it sits in its stream and in the whole log, and its payload. */
export interface RecordedEvent<A = unknown> {
  readonly position: number
  readonly transactionId: string
  readonly streamId: string
  readonly streamVersion: number
  readonly eventId: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: A
  readonly metadata: EventMetadata
  readonly recordedAt: Date
}

/**
 * A place in the global log. The order is (transactionId, position): positions
 * are taken before commit, so position order alone could be overtaken by a
 * slower transaction; this pair cannot.
 */
export interface LogCursor {
  readonly transactionId: string
  readonly position: number
}

/** Postgres's bigint, the type of transaction ids and positions. */
const maxBigint = 2n ** 63n - 1n

export const LogCursor = {
  start: { transactionId: "0", position: 0 } as LogCursor,
  after: (event: Pick<RecordedEvent, "transactionId" | "position">): LogCursor => ({
    transactionId: event.transactionId,
    position: event.position
  }),
  /** `"<transactionId>.<position>"`, for URLs and files. */
  format: (cursor: LogCursor): string => `${cursor.transactionId}.${cursor.position}`,
  /** Undefined for anything `format` could not have written, numbers past Postgres's bigint included. */
  parse: (text: string): LogCursor | undefined => {
    const match = /^(\d{1,20})\.(\d{1,16})$/.exec(text)
    if (match === null || BigInt(match[1]!) > maxBigint || Number(match[2]) > Number.MAX_SAFE_INTEGER) return undefined
    return { transactionId: BigInt(match[1]!).toString(), position: Number(match[2]) }
  }
}

export interface EventRow {
  readonly position: number
  readonly stream_id: string
  readonly stream_version: number
  readonly event_id: string
  readonly type: string
  readonly schema_version: number
  readonly data: unknown
  readonly metadata: EventMetadata
  readonly recorded_at: Date
  readonly transaction_id: string
  readonly intact: boolean
}

/** A row as the whole log's check reads it: what the hash and the payload's schema need, without the rest. */
export type CheckedRow = Omit<EventRow, "metadata" | "recorded_at">

/** Where a row stands, and what it is: all a reader can say of a row it cannot read. */
const placeOf = (row: CheckedRow) => ({
  position: row.position,
  transactionId: row.transaction_id,
  streamId: row.stream_id,
  streamVersion: row.stream_version,
  eventId: row.event_id,
  type: row.type
})

/** Turns a stored row into a RecordedEvent, refusing a broken chain and decoding known types. */
export const toRecordedEvent = (row: EventRow, catalog: EventCatalog): Result.Result<RecordedEvent, IntegrityError | InvalidEvent> =>
  Result.map(payloadOf(row, catalog), (data) => ({
    ...placeOf(row),
    schemaVersion: row.schema_version,
    data,
    metadata: row.metadata,
    recordedAt: row.recorded_at
  }))

/** The row's payload, decoded when its type is known, unless its hash does not chain or it no longer decodes. */
const payloadOf = (row: CheckedRow, catalog: EventCatalog): Result.Result<unknown, IntegrityError | InvalidEvent> => {
  if (!row.intact) return Result.fail(new IntegrityError({ stream: row.stream_id, version: row.stream_version, reason: "changed" }))
  const eventType = catalog.find(row.type, row.schema_version)
  return eventType === undefined ? Result.succeed(row.data) : decodePayload(row.type, eventType.schema, row.data)
}

/** The rows that fail their hash check or no longer decode, named where they stand, in the rows' order. */
export const brokenRows = (rows: ReadonlyArray<CheckedRow>, catalog: EventCatalog): Array<BrokenEvent> => {
  const broken: Array<BrokenEvent> = []
  for (const row of rows) {
    const payload = payloadOf(row, catalog)
    if (Result.isFailure(payload)) broken.push({ ...placeOf(row), error: payload.failure })
  }
  return broken
}

/**
 * A row the whole-log readers could not give as an event: its hash does not
 * match (changed behind the log's back) or its payload no longer decodes. They
 * name it and read on, so one broken row never stalls every reader.
 */
export interface BrokenEvent extends Pick<RecordedEvent, "position" | "transactionId" | "streamId" | "streamVersion" | "eventId" | "type"> {
  readonly error: IntegrityError | InvalidEvent
}

/** Splits rows into the events they hold and the broken ones, each list in the rows' order. */
export const partitionRows = (rows: ReadonlyArray<EventRow>, catalog: EventCatalog) => {
  const events: Array<RecordedEvent> = []
  const broken: Array<BrokenEvent> = []
  for (const row of rows) {
    const event = toRecordedEvent(row, catalog)
    if (Result.isSuccess(event)) events.push(event.success)
    else {
      broken.push({ ...placeOf(row), error: event.failure })
    }
  }
  return { events, broken }
}

export const toRecordedEvents = (rows: ReadonlyArray<EventRow>, catalog: EventCatalog) => {
  const events: Array<RecordedEvent> = []
  for (const row of rows) {
    const event = toRecordedEvent(row, catalog)
    if (Result.isFailure(event)) return Result.fail(event.failure)
    events.push(event.success)
  }
  return Result.succeed(events)
}


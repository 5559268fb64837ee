/**
 * An append as the log writes it, for callers that hold their own transaction:
 * `encodeBatch` validates and encodes every payload up front (an invalid one
 * refuses the whole append before any SQL), and `appendBatch` runs the one
 * append statement on the database or an open transaction. The `EventLog`
 * service appends through these; the engine sends the encoded batch to its
 * step function, which appends in the same transaction as the instance's row.
 */
import { Result } from "effect"
import type { Queryable } from "./database.js"
import { EventIdInUse, type ExpectedVersion, type InvalidEvent, VersionConflict } from "./errors.js"
import { type EventMetadata, type NewEvent, encodePayload } from "./event-type.js"
import type { Statements } from "./statements.js"

export interface AppendResult {
  /** The stream's version after the append (the last event's version). */
  readonly streamVersion: number
  readonly positions: ReadonlyArray<number>
  /** True when every event was already stored: a retry, nothing written. */
  readonly alreadyStored: boolean
}

const expectedCode = (expected: ExpectedVersion): number =>
  expected === "any" ? -1 : expected === "no_stream" ? 0 : expected

interface AppendRow {
  readonly outcome: "inserted" | "existing" | "conflict"
  readonly stream_id: string
  readonly position: number | null
  readonly stream_version: number | null
  readonly head: number
}

/**
 * Encodes and validates every payload first: an invalid one refuses the whole append before any SQL.
 * The result is the JSON text the append statement (and the engine's step function) takes.
 *
 * @example
 * const batch = encodeBatch([Deposited.make({ amount: 5 })], { correlationId: "c-1" })
 * if (Result.isSuccess(batch)) await appendBatch(tx, statements("orrery"), "account-1", 0, 1, batch.success)
 */
export const encodeBatch = (
  events: ReadonlyArray<NewEvent>,
  metadata: EventMetadata | undefined
): Result.Result<string, InvalidEvent> => {
  const batch: Array<unknown> = []
  for (const event of events) {
    const data = encodePayload(event)
    if (Result.isFailure(data)) return Result.fail(data.failure)
    batch.push({
      event_id: event.eventId,
      type: event.type,
      schema_version: event.eventType.schemaVersion,
      data: data.success,
      metadata: metadata === undefined ? event.metadata : { ...metadata, ...event.metadata }
    })
  }
  return Result.succeed(JSON.stringify(batch))
}

/**
 * One append statement on `db` (the database, or a transaction the caller holds).
 * Resolves to the result or a typed refusal; rejects only on driver failures.
 */
export const appendBatch = async (
  db: Queryable,
  sql: Statements,
  stream: string,
  expected: ExpectedVersion,
  count: number,
  batch: string
): Promise<Result.Result<AppendResult, VersionConflict | EventIdInUse>> => {
  const rows = await db.query<AppendRow>(sql.append, [stream, expectedCode(expected), batch])
  const first = rows[0]
  if (first === undefined) throw new Error("append returned no row")
  if (first.outcome === "conflict") return Result.fail(new VersionConflict({ stream, expected, actual: first.head }))
  if (first.outcome === "existing") {
    const foreign = rows.find((row) => row.stream_id !== stream)
    if (foreign !== undefined || rows.length !== count) {
      return Result.fail(new EventIdInUse({ stream, eventId: "one of the appended event ids" }))
    }
    return Result.succeed({
      streamVersion: Math.max(...rows.map((row) => row.stream_version!)),
      positions: rows.map((row) => row.position!),
      alreadyStored: true
    })
  }
  return Result.succeed({
    streamVersion: rows[rows.length - 1]!.stream_version!,
    positions: rows.map((row) => row.position!),
    alreadyStored: false
  })
}

/** The typed failures of the event log. Each is a value in the error channel, never a thrown stack. */
import { Schema } from "effect"

import type { StoreUnavailable } from "./database.js"

export { StoreUnavailable } from "./database.js"

/** What an append expects the stream's version to be. */
export type ExpectedVersion = number | "no_stream" | "any"

/** The stream was not at the version the append expected; nothing was written. */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  stream: Schema.String,
  expected: Schema.Union([Schema.Number, Schema.Literals(["no_stream", "any"])]),
  actual: Schema.Number
}) {
  override get message() {
    return `stream ${this.stream} is at version ${this.actual}, expected ${this.expected}`
  }
}

/** A paging cursor the server never gave out (or one that no longer reads as one); nothing was read. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  cursor: Schema.String
}) {
  override get message() {
    return `${JSON.stringify(this.cursor.length > 80 ? `${this.cursor.slice(0, 80)}…` : this.cursor)} is not a cursor this server gave out; pass the one the previous page returned`
  }
}

/** A payload does not match its event type's schema; nothing was written (or, on read, the stored row no longer decodes). */
export class InvalidEvent extends Schema.TaggedError<InvalidEvent>()("InvalidEvent", {
  eventType: Schema.String,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.eventType}: ${this.field === "" ? "payload" : this.field} ${this.reason}`
  }
}

/** An event id given to append is already stored, in another stream or with other events: not a retry. */
export class EventIdInUse extends Schema.TaggedError<EventIdInUse>()("EventIdInUse", {
  stream: Schema.String,
  eventId: Schema.String
}) {}

/**
 * An instance's history was changed behind the log's back: the row at `version` no
 * longer matches its hash chain (`changed`), or it and the rows after it were
 * deleted (`missing`: the instance row, written in the same step, is ahead of its log).
 */
export class IntegrityError extends Schema.TaggedError<IntegrityError>()("IntegrityError", {
  stream: Schema.String,
  version: Schema.Number,
  reason: Schema.optional(Schema.Literals(["changed", "missing"]))
}) {
  override get message() {
    return this.reason === "missing"
      ? `stream ${this.stream} version ${this.version} is missing: rows were deleted behind the log's back`
      : `stream ${this.stream} version ${this.version} does not match its hash chain`
  }
}

/** What an append can fail with. */
export type AppendError = VersionConflict | InvalidEvent | EventIdInUse | StoreUnavailable
/** What a read can fail with. */
export type ReadError = IntegrityError | InvalidEvent | StoreUnavailable

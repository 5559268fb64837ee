/**
 * The event log, closed off behind this module: everything outside `src/log`
 * imports from here. Besides the `EventLog` service it offers what a writer
 * holding its own transaction needs — `encodeBatch` / `appendBatch` (the
 * engine appends a step's events in the same transaction as its instance row),
 * `encodePayload` / `describeIssue` (checking a payload against its schema),
 * `fromDriver` (a driver failure as a typed `StoreUnavailable`) and `timeOrderedId` (the ids
 * new events get, which the engine gives new instances too).
 */
export { Database, StoreUnavailable, maskUrl, type DatabaseShape, type Queryable } from "./database.js"
export {
  EventIdInUse,
  IntegrityError,
  InvalidCursor,
  InvalidEvent,
  VersionConflict,
  type AppendError,
  type ExpectedVersion,
  type ReadError
} from "./errors.js"
export {
  EventLog,
  layer,
  type EventLogOptions,
  type EventLogShape,
  type ReadAllResult,
  type Snapshot,
  type StreamCheck
} from "./event-log.js"
export {
  defineEvent,
  describeIssue,
  encodePayload,
  makeCatalog,
  type EventCatalog,
  type EventMetadata,
  type EventType,
  type NewEvent,
  type PayloadSchema
} from "./event-type.js"
export { currentVersion, logMigrations, migrate, type Migration } from "./migrations.js"
export { layerPglite, type PgliteOptions } from "./pglite.js"
export { layerPostgres, type PostgresOptions } from "./postgres.js"
export { LogCursor, type BrokenEvent, type RecordedEvent } from "./recorded-event.js"
export { appendBatch, encodeBatch, type AppendResult } from "./append.js"
export { fromDriver } from "./driver-errors.js"
export type { ParkedEvent, SubscribeOptions, Subscription, SubscriptionHandler } from "./subscriptions.js"
export { timeOrderedId } from "./time-ordered-id.js"

/** The event log's public API. */
export { Database, StoreUnavailable, maskUrl, type DatabaseShape, type Queryable } from "./database.js"
export { EventIdInUse, IntegrityError, InvalidCursor, InvalidEvent, VersionConflict, type ExpectedVersion } from "./errors.js"
export {
  EventLog,
  layer,
  type AppendResult,
  type EventLogOptions,
  type EventLogShape,
  type ReadAllResult,
  type Snapshot
} from "./event-log.js"
export {
  defineEvent,
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
export type { ParkedEvent, SubscribeOptions, Subscription, SubscriptionHandler } from "./subscriptions.js"

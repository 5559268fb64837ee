/**
 * Event types as data: a name, a schema version and an `effect/Schema` for the
 * payload, declared once. `make` builds an event to append; a catalog of types
 * decodes what is read back.
 */
import { Result, Schema, SchemaIssue } from "effect"
import { timeOrderedId } from "./time-ordered-id.js"
import { InvalidEvent } from "./errors.js"

/** Correlation, causation and actor travel with every event; anything else an application adds is kept. */
export interface EventMetadata {
  readonly correlationId?: string
  readonly causationId?: string
  readonly actor?: string
  readonly [key: string]: unknown
}

/** A payload schema whose encoded side is plain JSON and that needs no services. */
export type PayloadSchema = Schema.Codec<any, any, never, never>

export interface EventType<Type extends string = string, S extends PayloadSchema = PayloadSchema> {
  readonly type: Type
  readonly schemaVersion: number
  readonly schema: S
  /**
   * An event of this type, ready to append; the id is fresh unless given (give one to make retries idempotent).
   * A fresh id is a UUIDv7: time-ordered, so that the log's unique index on event ids takes each insert on its
   * newest pages, as the position index does, instead of on a random page of an index far larger than memory.
   */
  make(data: S["Type"], options?: { readonly eventId?: string; readonly metadata?: EventMetadata }): NewEvent<Type, S["Type"]>
}

/** An event that has not been appended yet. */
export interface NewEvent<Type extends string = string, A = unknown> {
  readonly eventType: EventType<Type>
  readonly type: Type
  readonly data: A
  readonly eventId: string
  readonly metadata: EventMetadata
}

export const defineEvent = <const Type extends string, S extends PayloadSchema>(
  type: Type,
  schema: S,
  options: { readonly schemaVersion?: number } = {}
): EventType<Type, S> => {
  const eventType: EventType<Type, S> = {
    type,
    schemaVersion: options.schemaVersion ?? 1,
    schema,
    make: (data, made = {}) => ({
      eventType,
      type,
      data,
      eventId: made.eventId ?? timeOrderedId(),
      metadata: made.metadata ?? {}
    })
  }
  return eventType
}

const standardFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The first failing field of a schema issue, as `items[0].sku`, and why. */
export const describeIssue = (issue: SchemaIssue.Issue): { readonly field: string; readonly reason: string } => {
  const first = standardFormatter(issue).issues[0]
  if (first === undefined) return { field: "", reason: "is invalid" }
  const field = (first.path ?? [])
    .map((segment, index) => {
      const key = typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
      return typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`
    })
    .join("")
  return { field, reason: first.message }
}

const invalid = (type: string, error: Schema.SchemaError) => new InvalidEvent({ eventType: type, ...describeIssue(error.issue) })

/** Validates a typed payload and turns it into its JSON form for storage. */
export const encodePayload = (event: NewEvent): Result.Result<unknown, InvalidEvent> =>
  Result.mapError(Schema.encodeUnknownResult(event.eventType.schema)(event.data), (error) => invalid(event.type, error))

/** Decodes a stored JSON payload with a schema. */
export const decodePayload = (type: string, schema: PayloadSchema, data: unknown): Result.Result<unknown, InvalidEvent> =>
  Result.mapError(Schema.decodeUnknownResult(schema)(data), (error) => invalid(type, error))

/** The event types a log knows how to decode, by name and schema version. */
export interface EventCatalog {
  readonly find: (type: string, schemaVersion: number) => EventType | undefined
  readonly types: ReadonlyArray<EventType>
}

/** Two declarations of one event type agree when their JSON shapes do (domains declare shared events apart). */
const sameShape = (a: PayloadSchema, b: PayloadSchema) =>
  a === b || JSON.stringify(Schema.toJsonSchemaDocument(a)) === JSON.stringify(Schema.toJsonSchemaDocument(b))

export const makeCatalog = (types: Iterable<EventType>): EventCatalog => {
  const byKey = new Map<string, EventType>()
  for (const eventType of types) {
    const key = `${eventType.type}@${eventType.schemaVersion}`
    const known = byKey.get(key)
    if (known !== undefined) {
      if (!sameShape(known.schema, eventType.schema)) throw new Error(`event type ${key} is declared twice with different schemas`)
      continue
    }
    byKey.set(key, eventType)
  }
  return { find: (type, schemaVersion) => byKey.get(`${type}@${schemaVersion}`), types: [...byKey.values()] }
}

export const emptyCatalog = makeCatalog([])

/**
 * Projections: read models built from domain events by a durable subscription.
 *
 * A projection owns some tables, declares the event types it reads and applies
 * each event inside a transaction that also marks the event applied, so that
 * at-least-once delivery never applies an event twice. Rebuilding drops its
 * rows and replays the whole log into it.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Database, EventLog, fromDriver, type Queryable, type RecordedEvent, type StoreUnavailable } from "../log/index.js"

export interface Projection {
  readonly name: string
  /** The event types it reads. */
  readonly types: ReadonlyArray<string>
  /** Creates its tables if missing (idempotent); `s` is the schema to create them in. */
  readonly setup: (s: string) => string
  /** Removes its rows (not its tables), before a rebuild. */
  readonly reset: (s: string) => string
  /** Applies one event; runs inside a transaction, so use `tx` only. */
  readonly apply: (tx: Queryable, s: string, event: RecordedEvent) => Promise<void>
}

export const defineProjection = (projection: Projection): Projection => projection

export interface ProjectionsShape {
  readonly schema: string
  readonly all: ReadonlyArray<Projection>
  /** Drops a projection's rows and replays the whole log into it; resolves when it has caught up. */
  readonly rebuild: (name: string) => Effect.Effect<{ readonly events: number }, StoreUnavailable | UnknownProjection>
  /** Resolves once every projection has applied everything committed before the call. */
  readonly caughtUp: Effect.Effect<void, StoreUnavailable>
}

export class Projections extends Context.Service<Projections, ProjectionsShape>()("orrery/projections/Projections") {}

export class UnknownProjection extends Error {
  readonly _tag = "UnknownProjection"
  constructor(readonly projectionName: string) {
    super(`no projection named ${projectionName}`)
  }
}

const setupSql = (s: string) => `
  create table if not exists ${s}.projection_applied (
    projection text not null,
    event_id uuid not null,
    primary key (projection, event_id)
  );`

/** The durable subscription that feeds a projection (its checkpoint row is named so). */
export const subscriptionOf = (projection: Projection) => `projection:${projection.name}`

const make = Effect.fnUntraced(function*(projections: ReadonlyArray<Projection>, schema: string) {
  const db = yield* Database
  const log = yield* EventLog
  yield* fromDriver(db, () =>
    db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`orrery.projections.${schema}`])
      await tx.exec(setupSql(schema))
      for (const projection of projections) await tx.exec(projection.setup(schema))
    })
  )

  /**
   * Applies a page of events in one transaction, one commit for them all (the events already applied
   * skipped); if any fails, none is kept, and the subscription applies them one at a time instead.
   */
  const applyPage = (projection: Projection, events: ReadonlyArray<RecordedEvent>) =>
    fromDriver(db, () =>
      db.transaction(async (tx) => {
        const fresh = await tx.query<{ event_id: string }>(
          `insert into ${schema}.projection_applied (projection, event_id)
           select $1, id from unnest($2::text::uuid[]) as id on conflict do nothing returning event_id`,
          [projection.name, `{${events.map((event) => event.eventId).join(",")}}`]
        )
        const unapplied = new Set(fresh.map((row) => row.event_id))
        for (const event of events) if (unapplied.has(event.eventId)) await projection.apply(tx, schema, event)
      })
    )

  /** One event in its own transaction: a page of one. */
  const applyOnce = (projection: Projection, event: RecordedEvent) => applyPage(projection, [event])

  const start = (projection: Projection): Effect.Effect<void, StoreUnavailable, Scope.Scope> =>
    log
      .subscribe(
        subscriptionOf(projection),
        { page: (events) => applyPage(projection, events), event: (event) => applyOnce(projection, event) },
        { types: projection.types, retryDelay: "50 millis" }
      )
      .pipe(Effect.asVoid)

  for (const projection of projections) yield* start(projection)

  /**
   * Waits until every event of each projection's types committed before the call
   * (by position, whatever other transactions are open) is applied or parked.
   */
  const caughtUp = Effect.gen(function*() {
    const [head] = yield* fromDriver(db, () => db.query<{ position: number | null }>(`select max(position) as position from ${schema}.events`))
    const target = head?.position ?? 0
    for (const projection of projections) {
      while (true) {
        const [row] = yield* fromDriver(db, () =>
          db.query<{ missing: number }>(
            `select count(*)::int as missing from ${schema}.events e
             where e.position <= $1 and e.type in (select jsonb_array_elements_text($2::text::jsonb))
               and not exists (select 1 from ${schema}.projection_applied a where a.projection = $3 and a.event_id = e.event_id)
               and not exists (select 1 from ${schema}.parked_events p where p.subscription = $4 and p.event_id = e.event_id)`,
            [target, JSON.stringify(projection.types), projection.name, subscriptionOf(projection)]
          )
        )
        if (row!.missing === 0) break
        yield* Effect.sleep("10 millis")
      }
    }
  })

  const service: ProjectionsShape = {
    schema,
    all: projections,
    caughtUp,
    rebuild: (name) =>
      Effect.gen(function*() {
        const projection = projections.find((candidate) => candidate.name === name)
        if (projection === undefined) return yield* Effect.fail(new UnknownProjection(name))
        yield* fromDriver(db, () =>
          db.transaction(async (tx) => {
            await tx.exec(projection.reset(schema))
            await tx.query(`delete from ${schema}.projection_applied where projection = $1`, [projection.name])
            await tx.query(`update ${schema}.subscriptions set transaction_id = '0', position = 0 where name = $1`, [subscriptionOf(projection)])
          })
        )
        // The running subscription keeps its in-memory cursor: replay here, synchronously, then let it continue.
        let after = { transactionId: "0", position: 0 }
        let events = 0
        while (true) {
          const page = yield* log.readAll({ after, limit: 1000, types: projection.types })
          // A page in one transaction; if it fails, one event at a time, so that the failure names its event.
          if (page.events.length > 0) {
            yield* applyPage(projection, page.events).pipe(
              Effect.catch(() => Effect.forEach(page.events, (event) => applyOnce(projection, event), { discard: true }))
            )
          }
          events += page.events.length
          // A broken row cannot be applied; its subscription has parked it and `doctor` names it.
          for (const row of page.broken) yield* Effect.logWarning(`rebuilding ${projection.name}: skipped ${row.streamId} version ${row.streamVersion}: ${row.error.message}`)
          if (page.events.length === 0 && page.broken.length === 0) break
          after = page.next
        }
        return { events }
      })
  }
  return service
})

/** Runs these projections (in the log's schema) for as long as the layer lives. */
export const projectionsLayer = (projections: ReadonlyArray<Projection>, schema = "orrery") =>
  Layer.effect(Projections, make(projections, schema))

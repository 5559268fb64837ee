/**
 * Projections: read models built from domain events by a durable subscription.
 *
 * A projection owns some tables, declares the event types it reads and applies
 * a page of events inside a transaction that also moves its own checkpoint: the
 * place in the log up to which it has applied everything (parked events aside).
 * Delivery is at-least-once; the checkpoint, read under a row lock in the same
 * transaction, makes applying exactly-once, in one process or several, with
 * one row per read model rather than one per event. Rebuilding drops its rows
 * and replays the whole log into it while the live subscriptions stand aside.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Database, type DatabaseShape, EventLog, fromDriver, LogCursor, type Queryable, type RecordedEvent, type StoreUnavailable } from "../log/index.js"

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
  readonly rebuild: (name: string) => Effect.Effect<{ readonly events: number }, StoreUnavailable | UnknownProjection | RebuildFailed>
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

/** A rebuild met an event its read model cannot apply; the read model stays with the rebuild until one completes. */
export class RebuildFailed extends Error {
  readonly _tag = "RebuildFailed"
  constructor(readonly projectionName: string, readonly event: Pick<RecordedEvent, "streamId" | "streamVersion" | "position">, readonly reason: string) {
    super(
      `rebuilding ${projectionName}: ${event.streamId} version ${event.streamVersion} (position ${event.position}) cannot be applied: ${reason}; ` +
        `live updates of ${projectionName} wait until a rebuild completes`
    )
  }
}

/**
 * One row per read model: where in the log it has applied everything of its types up to (parked events
 * aside), how many events it has applied since it was last built, and whether a rebuild owns it now.
 */
const setupSql = (s: string) => `
  create table if not exists ${s}.projection_checkpoints (
    projection text primary key,
    transaction_id xid8 not null,
    position bigint not null,
    applied bigint not null default 0,
    rebuilding boolean not null default false,
    updated_at timestamptz not null default now()
  );`

/**
 * A read model's first checkpoint: where its subscription had read to, or past the last event it had
 * marked applied in the per-event table that earlier versions kept (projection_applied), whichever is later.
 */
const firstCheckpointSql = (s: string, marked: boolean) => `
  insert into ${s}.projection_checkpoints (projection, transaction_id, position)
  select $1, transaction_id, position from (
    select '0'::xid8 as transaction_id, 0::bigint as position
    union all select transaction_id, position from ${s}.subscriptions where name = $2
    ${marked ? `union all select e.transaction_id, e.position from ${s}.projection_applied a join ${s}.events e on e.event_id = a.event_id where a.projection = $1` : ""}
  ) known
  order by transaction_id desc, position desc limit 1
  on conflict (projection) do nothing`

/**
 * Takes a page under the read model's checkpoint lock: the events past the checkpoint are to be applied,
 * and the checkpoint moves to the last of them; an event parked earlier and asked to be re-driven, or
 * applied now, is unparked in the same transaction; what is taken is counted. While a rebuild owns the
 * read model, a live subscription's page ($6 false) is left to the rebuild: nothing is taken. Answers
 * the ids to apply.
 */
const takePageSql = (s: string) => `
  with before as (
    select transaction_id, position, rebuilding from ${s}.projection_checkpoints where projection = $1 for update
  ), page as (
    select * from unnest($3::text::uuid[], $4::text::xid8[], $5::text::bigint[]) with ordinality as page (event_id, transaction_id, position, n)
  ), owned as (
    select before.* from before where not before.rebuilding or $6::boolean
  ), fresh as (
    select page.* from page, owned where (page.transaction_id, page.position) > (owned.transaction_id, owned.position)
  ), unparked as (
    delete from ${s}.parked_events p using page, owned
    where p.subscription = $2 and p.event_id = page.event_id
      and (p.redrive_requested_at is not null or (page.transaction_id, page.position) > (owned.transaction_id, owned.position))
    returning p.event_id
  ), taken as (
    select event_id from fresh union select event_id from unparked
  ), last as (
    select transaction_id, position from fresh order by n desc limit 1
  ), moved as (
    update ${s}.projection_checkpoints c
    set transaction_id = coalesce((select transaction_id from last), c.transaction_id),
      position = coalesce((select position from last), c.position),
      applied = c.applied + (select count(*) from taken), updated_at = now()
    where c.projection = $1 and exists (select 1 from taken)
  )
  select event_id::text as event_id from taken`

/**
 * The read models a rebuild owns now, and when it last took a page: one that failed or was stopped keeps
 * the live subscriptions aside until a rebuild completes (`orrery doctor` warns of it). Nothing before
 * any read model was set up in `schema`.
 *
 * @example
 * for (const { projection, since } of yield* rebuildsUnderway(db, "orrery")) console.log(projection, since)
 */
export const rebuildsUnderway = (db: DatabaseShape, schema: string) =>
  fromDriver(db, async () => {
    const [table] = await db.query<{ found: boolean }>("select to_regclass($1) is not null as found", [`${schema}.projection_checkpoints`])
    if (!table!.found) return []
    const rows = await db.query<{ projection: string; since: Date }>(
      `select projection, updated_at as since from ${schema}.projection_checkpoints where rebuilding order by projection`
    )
    return rows.map((row) => ({ projection: row.projection, since: new Date(row.since) }))
  })

/** The durable subscription that feeds a projection (its checkpoint row is named so). */
export const subscriptionOf = (projection: Projection) => `projection:${projection.name}`

const make = Effect.fnUntraced(function*(projections: ReadonlyArray<Projection>, schema: string) {
  const db = yield* Database
  const log = yield* EventLog
  yield* fromDriver(db, () =>
    db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`orrery.projections.${schema}`])
      await tx.exec(setupSql(schema))
      // Earlier versions marked every event applied, a row each, for ever: their marks give the first checkpoints.
      const [earlier] = await tx.query<{ marked: boolean }>("select to_regclass($1) is not null as marked", [`${schema}.projection_applied`])
      for (const projection of projections) {
        await tx.query(firstCheckpointSql(schema, earlier!.marked), [projection.name, subscriptionOf(projection)])
        await tx.exec(projection.setup(schema))
      }
      if (earlier!.marked) await tx.exec(`drop table ${schema}.projection_applied`)
    })
  )

  /**
   * Applies a page of events in one transaction, one commit for them all: those past the read model's
   * checkpoint (the others another subscription, or this one before a crash, has applied), and those it
   * re-drives. If any fails, none is kept, and the subscription applies them one at a time instead. A
   * rebuild's pages (`rebuilding`) are applied while live subscriptions stand aside.
   */
  const applyPage = (projection: Projection, events: ReadonlyArray<RecordedEvent>, rebuilding = false) =>
    fromDriver(db, () =>
      db.transaction(async (tx) => {
        const taken = await tx.query<{ event_id: string }>(takePageSql(schema), [
          projection.name,
          subscriptionOf(projection),
          `{${events.map((event) => event.eventId).join(",")}}`,
          `{${events.map((event) => event.transactionId).join(",")}}`,
          `{${events.map((event) => event.position).join(",")}}`,
          rebuilding
        ])
        const toApply = new Set(taken.map((row) => row.event_id))
        for (const event of events) if (toApply.has(event.eventId)) await projection.apply(tx, schema, event)
      })
    )

  /** One event in its own transaction: a page of one. */
  const applyOnce = (projection: Projection, event: RecordedEvent, rebuilding = false) => applyPage(projection, [event], rebuilding)

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
   * (by position, whatever other transactions are open) is applied or parked:
   * none past its checkpoint is left, a walk over the log beyond the checkpoint only.
   */
  const caughtUp = Effect.gen(function*() {
    const [head] = yield* fromDriver(db, () => db.query<{ position: number | null }>(`select max(position) as position from ${schema}.events`))
    const target = head?.position ?? 0
    for (const projection of projections) {
      while (true) {
        const [row] = yield* fromDriver(db, () =>
          db.query<{ missing: number }>(
            `select count(*)::int as missing from ${schema}.projection_checkpoints c
             join ${schema}.events e on (e.transaction_id, e.position) > (c.transaction_id, c.position)
             where c.projection = $3 and e.position <= $1 and e.type in (select jsonb_array_elements_text($2::text::jsonb))
               and not exists (select 1 from ${schema}.parked_events p where p.subscription = $4 and p.event_id = e.event_id)`,
            [target, JSON.stringify(projection.types), projection.name, subscriptionOf(projection)]
          )
        )
        if (row!.missing === 0) break
        yield* Effect.sleep("10 millis")
      }
    }
  })

  /**
   * Ends a rebuild that has read to `after`, unless more of its types has been committed since: under the
   * checkpoint's lock, so that no live subscription takes a page between this last look and the end. Every
   * page they left to the rebuild was readable before this look, so the rebuild has applied it.
   */
  const endRebuild = (projection: Projection, after: LogCursor) =>
    fromDriver(db, () =>
      db.transaction(async (tx) => {
        await tx.query(`select 1 from ${schema}.projection_checkpoints where projection = $1 for update`, [projection.name])
        const more = await tx.query(
          `select 1 from ${schema}.read_all($1::text::xid8, $2::bigint, 1, $3::text::jsonb) where stream_id is not null`,
          [after.transactionId, after.position, JSON.stringify(projection.types)]
        )
        if (more.length > 0) return false
        await tx.query(`update ${schema}.projection_checkpoints set rebuilding = false, updated_at = now() where projection = $1`, [projection.name])
        return true
      })
    )

  const service: ProjectionsShape = {
    schema,
    all: projections,
    caughtUp,
    rebuild: (name) =>
      Effect.gen(function*() {
        const projection = projections.find((candidate) => candidate.name === name)
        if (projection === undefined) return yield* Effect.fail(new UnknownProjection(name))
        // From here until it ends, live subscriptions leave their pages to the rebuild (their cursors stay where they are).
        yield* fromDriver(db, () =>
          db.transaction(async (tx) => {
            await tx.exec(projection.reset(schema))
            await tx.query(
              `update ${schema}.projection_checkpoints set transaction_id = '0', position = 0, applied = 0, rebuilding = true, updated_at = now()
               where projection = $1`,
              [projection.name]
            )
          })
        )
        let after = LogCursor.start
        let events = 0
        while (true) {
          const page = yield* log.readAll({ after, limit: 1000, types: projection.types })
          // A page in one transaction; if it fails, one event at a time, so that the failure names its event.
          if (page.events.length > 0) {
            yield* applyPage(projection, page.events, true).pipe(
              // An `apply` that throws is a defect of the driver call; the store gone is not retried event by event.
              Effect.catchDefect(() =>
                Effect.forEach(page.events, (event) =>
                  applyOnce(projection, event, true).pipe(
                    Effect.catchDefect((defect) => Effect.fail(new RebuildFailed(projection.name, event, defect instanceof Error ? defect.message : String(defect))))
                  ), { discard: true })
              )
            )
          }
          events += page.events.length
          // A broken row cannot be applied; its subscription has parked it and `doctor` names it.
          for (const row of page.broken) yield* Effect.logWarning(`rebuilding ${projection.name}: skipped ${row.streamId} version ${row.streamVersion}: ${row.error.message}`)
          after = page.next
          if (page.events.length === 0 && page.broken.length === 0 && (yield* endRebuild(projection, after))) break
        }
        return { events }
      })
  }
  return service
})

/** Runs these projections (in the log's schema) for as long as the layer lives. */
export const projectionsLayer = (projections: ReadonlyArray<Projection>, schema = "orrery") =>
  Layer.effect(Projections, make(projections, schema))

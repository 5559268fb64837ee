/**
 * The log's SQL, one set for both drivers, built once per schema name.
 *
 * An append is one statement (one round trip, autocommit when alone): it checks
 * the idempotency keys and the expected version, chains the hashes and inserts.
 */

const columns = `e.position, e.stream_id, e.stream_version, e.event_id::text as event_id, e.type, e.schema_version,
  e.data, e.metadata, e.recorded_at, e.transaction_id::text as transaction_id`

export const statements = (s: string) => ({
  /**
   * $1 stream, $2 expected version (-1 any, 0 no stream), $3 json array of
   * {event_id, type, schema_version, data, metadata}. Answers one row per event:
   * `inserted` or `existing` (with its stream), or a single `conflict` row; every row carries the head version.
   */
  append: `select * from ${s}.append_events($1, $2::integer, $3::text::jsonb)`,

  /** $1 stream, $2 from version, $3 to version. One row before `from` is read only to verify the chain. */
  readStream: `
    select * from (
      select ${columns},
        e.hash = ${s}.event_hash(e.stream_id, e.stream_version, e.event_id, e.type, e.schema_version, e.data,
          e.metadata, e.recorded_at, lag(e.hash) over (order by e.stream_version)) as intact
      from ${s}.events e
      where e.stream_id = $1 and e.stream_version >= $2::integer - 1 and e.stream_version <= $3::integer
    ) r where r.stream_version >= $2::integer order by r.stream_version`,

  /**
   * $1 stream, $2 version (the last row of the previous page; '' and 0 to begin), $3 limit. The next rows of
   * every stream, in stream order (stream, then version), each checked against the row before it in its
   * stream: the whole log's hash chains walked in pages on the stream index. The row at ($1, $2) is read
   * only to verify the one after it; a stream's first row has none (a row missing before it shows as a change).
   */
  checkStreams: `
    select * from (
      select e.position, e.stream_id, e.stream_version, e.event_id::text as event_id, e.type, e.schema_version, e.data,
        e.transaction_id::text as transaction_id,
        e.hash = ${s}.event_hash(e.stream_id, e.stream_version, e.event_id, e.type, e.schema_version, e.data,
          e.metadata, e.recorded_at, lag(e.hash) over (partition by e.stream_id order by e.stream_version)) as intact
      from ${s}.events e
      where (e.stream_id, e.stream_version) >= ($1::text, $2::integer)
      order by e.stream_id, e.stream_version
      limit $3::integer + 1
    ) r where (r.stream_id, r.stream_version) > ($1::text, $2::integer) order by r.stream_id, r.stream_version`,

  streamVersion: `select coalesce(max(stream_version), 0) as version from ${s}.events where stream_id = $1`,

  /**
   * $1 transaction id, $2 position (the cursor), $3 limit, $4 json array of types or null.
   * Only transactions older than every running one are read, so no later commit can land behind the cursor
   * (log migration 3: a function, for the plan it keeps).
   */
  readAll: `select * from ${s}.read_all($1::text::xid8, $2::bigint, $3::integer, $4::text::jsonb)`,

  /** The cursor just past everything committed so far: where a subscription "from the end" begins. */
  headCursor: `
    select coalesce(max(transaction_id)::text, '0') as transaction_id, coalesce(max(position), 0) as position
    from ${s}.events where transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,

  saveSnapshot: `
    insert into ${s}.snapshots (stream_id, stream_version, machine_version, state) values ($1, $2, $3, $4::text::jsonb)
    on conflict (stream_id, stream_version) do update set machine_version = excluded.machine_version, state = excluded.state,
      recorded_at = now()`,

  loadLatestSnapshot: `
    select stream_id, stream_version, machine_version, state, recorded_at from ${s}.snapshots
    where stream_id = $1 order by stream_version desc limit 1`,

  /** Each subscription's checkpoint and how many positions the log's head is past it. */
  subscriptionLag: `
    select s.name, s.position, greatest(0, coalesce((select max(position) from ${s}.events), 0) - s.position)::float8 as behind
    from ${s}.subscriptions s order by s.name`,

  loadCheckpoint: `select transaction_id::text as transaction_id, position from ${s}.subscriptions where name = $1`,

  saveCheckpoint: `
    insert into ${s}.subscriptions (name, transaction_id, position) values ($1, $2::text::xid8, $3)
    on conflict (name) do update set transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()`,

  park: `
    insert into ${s}.parked_events (subscription, position, event_id, attempts, error) values ($1, $2, $3::uuid, $4, $5)
    on conflict (subscription, event_id) do update set attempts = ${s}.parked_events.attempts + excluded.attempts,
      error = excluded.error, parked_at = now(), redrive_requested_at = null`,

  listParked: `
    select id, subscription, position, event_id::text as event_id, attempts, error, parked_at, redrive_requested_at
    from ${s}.parked_events where ($1::text is null or subscription = $1) order by id`,

  requestRedrive: `update ${s}.parked_events set redrive_requested_at = now() where id = $1 returning id`,

  /** $1 subscription: parked events asked to be re-driven, with the event itself. */
  redriveDue: `
    select pk.id as parked_id, ${columns},
      e.hash = ${s}.event_hash(e.stream_id, e.stream_version, e.event_id, e.type, e.schema_version, e.data,
        e.metadata, e.recorded_at, p.hash) as intact
    from ${s}.parked_events pk join ${s}.events e on e.event_id = pk.event_id
    left join ${s}.events p on p.stream_id = e.stream_id and p.stream_version = e.stream_version - 1
    where pk.subscription = $1 and pk.redrive_requested_at is not null order by pk.id`,

  unpark: `delete from ${s}.parked_events where id = $1`,

  notify: `select pg_notify($1, $2)`
})

export type Statements = ReturnType<typeof statements>

/**
 * Versioned schema migrations. Applied in order, each once, inside one
 * transaction that first takes an advisory lock named after the schema, so two
 * processes starting together never race (CREATE ... IF NOT EXISTS alone is not
 * safe under concurrency).
 */
import type { Queryable } from "./database.js"

export interface Migration {
  /** Versions count per component: the log's tables and the engine's evolve apart. */
  readonly component: string
  readonly version: number
  readonly name: string
  readonly sql: (schema: string) => string
}

const eventLog: Migration = {
  component: "log",
  version: 1,
  name: "event log",
  sql: (s) => `
    create table ${s}.events (
      position bigint generated always as identity primary key,
      stream_id text not null,
      stream_version integer not null check (stream_version > 0),
      event_id uuid not null,
      type text not null,
      schema_version integer not null,
      data jsonb not null,
      metadata jsonb not null default '{}',
      recorded_at timestamptz not null default now(),
      transaction_id xid8 not null default pg_current_xact_id(),
      hash bytea not null,
      constraint events_stream_version_key unique (stream_id, stream_version),
      constraint events_event_id_key unique (event_id)
    );
    -- Readers of the whole log go in commit-safe order: (transaction_id, position).
    create index events_transaction_order on ${s}.events (transaction_id, position);

    -- The chain: each row's hash covers its content and the previous row's hash in
    -- the same stream. jsonb's text form is canonical, so insert and verify agree.
    create function ${s}.event_hash(
      stream_id text, stream_version integer, event_id uuid, type text, schema_version integer,
      data jsonb, metadata jsonb, recorded_at timestamptz, previous bytea
    ) returns bytea language sql stable parallel safe as $$
      select sha256(
        convert_to(concat_ws(chr(31), stream_id, stream_version::text, event_id::text, type,
          schema_version::text, data::text, metadata::text, extract(epoch from recorded_at)::text), 'UTF8')
        || coalesce(previous, ''::bytea))
    $$;

    -- One append, as one statement: idempotency keys, the expected version, the hash chain,
    -- the insert. A function so that the engine can call it inside its own step function.
    create function ${s}.append_events(p_stream text, p_expected integer, p_batch jsonb)
    returns table (outcome text, stream_id text, "position" bigint, stream_version integer, transaction_id text, head integer)
    language plpgsql as $fn$
    #variable_conflict use_column
    declare
      v_head integer;
      v_version integer;
      v_hash bytea;
      v_event jsonb;
      v_id uuid;
      v_ids uuid[];
      v_stored boolean := false;
      v_now timestamptz := now();
    begin
      select e.stream_version, e.hash into v_head, v_hash from ${s}.events e
      where e.stream_id = p_stream order by e.stream_version desc limit 1;
      v_head := coalesce(v_head, 0);
      -- Stored already: a retry. Answer the original rows and write nothing. (One equality probe
      -- per event keeps the cached plan an index lookup however the table grows; a semi-join
      -- planned while the table was small would stay a sequential scan.)
      v_ids := array(select (x->>'event_id')::uuid from jsonb_array_elements(p_batch) x);
      foreach v_id in array v_ids loop
        if exists (select 1 from ${s}.events e where e.event_id = v_id) then
          v_stored := true;
          exit;
        end if;
      end loop;
      if v_stored then
        return query
          select 'existing'::text, e.stream_id, e.position, e.stream_version, e.transaction_id::text, v_head from ${s}.events e
          where e.event_id = any(v_ids) order by e.stream_version;
        return;
      end if;
      if p_expected >= 0 and v_head <> p_expected then
        return query select 'conflict'::text, p_stream, null::bigint, null::integer, null::text, v_head;
        return;
      end if;
      v_version := v_head;
      for v_event in select x from jsonb_array_elements(p_batch) x loop
        v_version := v_version + 1;
        v_id := (v_event->>'event_id')::uuid;
        v_hash := ${s}.event_hash(p_stream, v_version, v_id, v_event->>'type', (v_event->>'schema_version')::integer,
          v_event->'data', v_event->'metadata', v_now, v_hash);
        insert into ${s}.events (stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at, hash)
        values (p_stream, v_version, v_id, v_event->>'type', (v_event->>'schema_version')::integer, v_event->'data',
          v_event->'metadata', v_now, v_hash)
        returning 'inserted', p_stream, events.position, events.stream_version, events.transaction_id::text, v_head
        into outcome, stream_id, position, stream_version, transaction_id, head;
        return next;
      end loop;
    end
    $fn$;

    create table ${s}.snapshots (
      stream_id text not null,
      stream_version integer not null,
      machine_version integer not null,
      state jsonb not null,
      recorded_at timestamptz not null default now(),
      primary key (stream_id, stream_version)
    );

    create table ${s}.subscriptions (
      name text primary key,
      transaction_id xid8 not null default '0',
      position bigint not null default 0,
      updated_at timestamptz not null default now()
    );

    create table ${s}.parked_events (
      id bigint generated always as identity primary key,
      subscription text not null,
      position bigint not null,
      event_id uuid not null,
      attempts integer not null,
      error text not null,
      parked_at timestamptz not null default now(),
      redrive_requested_at timestamptz,
      constraint parked_events_once unique (subscription, event_id)
    );
  `
}

/**
 * The append with fewer statements (measured: each statement a PL/pgSQL function runs
 * costs an executor start-up in every transaction). The idempotency probe that ran
 * before every insert is gone: the insert itself skips an event id that is stored
 * (`on conflict (event_id) do nothing`, one arbiter probe inside the insert), and only
 * then are the stored rows read back. An expected-version mismatch still answers
 * `existing` for a retry whose first event is stored. A batch whose first events are
 * new but a later one is stored raises OR003 (the statement, and with it every row it
 * inserted, is undone): the caller answers "event id in use", as before, with nothing written.
 */
const leanerAppend: Migration = {
  component: "log",
  version: 2,
  name: "append without a separate idempotency probe",
  sql: (s) => `
    create or replace function ${s}.append_events(p_stream text, p_expected integer, p_batch jsonb)
    returns table (outcome text, stream_id text, "position" bigint, stream_version integer, transaction_id text, head integer)
    language plpgsql as $fn$
    #variable_conflict use_column
    declare
      v_head integer;
      v_hash bytea;
      v_event jsonb;
      v_stored boolean := false;
      v_now timestamptz := now();
    begin
      select e.stream_version, e.hash into v_head, v_hash from ${s}.events e
      where e.stream_id = p_stream order by e.stream_version desc limit 1;
      v_head := coalesce(v_head, 0);
      if p_expected < 0 or v_head = p_expected then
        for i in 0 .. jsonb_array_length(p_batch) - 1 loop
          v_event := p_batch->i;
          v_hash := ${s}.event_hash(p_stream, v_head + i + 1, (v_event->>'event_id')::uuid, v_event->>'type',
            (v_event->>'schema_version')::integer, v_event->'data', v_event->'metadata', v_now, v_hash);
          insert into ${s}.events (stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at, hash)
          values (p_stream, v_head + i + 1, (v_event->>'event_id')::uuid, v_event->>'type', (v_event->>'schema_version')::integer,
            v_event->'data', v_event->'metadata', v_now, v_hash)
          on conflict (event_id) do nothing
          returning 'inserted', p_stream, events.position, events.stream_version, events.transaction_id::text, v_head
          into outcome, stream_id, position, stream_version, transaction_id, head;
          if not found then
            -- A retry stores nothing; a batch mixing new and stored ids is refused whole.
            if i > 0 then raise exception 'an event id of the batch for % is stored already', p_stream using errcode = 'OR003'; end if;
            v_stored := true;
            exit;
          end if;
          return next;
        end loop;
        if not v_stored then return; end if;
      elsif not exists (select 1 from ${s}.events e where e.event_id = (p_batch->0->>'event_id')::uuid) then
        return query select 'conflict'::text, p_stream, null::bigint, null::integer, null::text, v_head;
        return;
      end if;
      return query
        select 'existing'::text, e.stream_id, e.position, e.stream_version, e.transaction_id::text, v_head from ${s}.events e
        where e.event_id = any(array(select (x->>'event_id')::uuid from jsonb_array_elements(p_batch) x))
        order by e.stream_version;
    end
    $fn$;
  `
}

/**
 * The page read's signature, the event columns it answers (and `extra` ones), and the planner
 * settings it carries (log migrations 3 and 4).
 */
const readAllHead = (s: string, extra: string) => `    create function ${s}.read_all(p_transaction xid8, p_position bigint, p_limit integer, p_types jsonb)
    returns table ("position" bigint, stream_id text, stream_version integer, event_id text, type text, schema_version integer,
      data jsonb, metadata jsonb, recorded_at timestamptz, transaction_id text, intact boolean${extra})
    language plpgsql stable
    set max_parallel_workers_per_gather = 0
    set jit = off
    set plan_cache_mode = force_generic_plan
    as $fn$
    #variable_conflict use_column`

/**
 * The whole log's page read as a function, so that it can carry its own planner settings.
 * As a plain statement, over a large log, it went wrong both ways Postgres can plan it
 * (measured at 10 M events, a page of 1,000): a custom plan, made on each call, costed the
 * tail of the log after the cursor and chose a parallel scan whose workers, launched for
 * every page, took 240 ms against 24 ms without them (and the planning itself 12 ms); the
 * generic plan, costed as a scan of the whole log, is compiled by JIT on every call when the
 * server has it (cost 979,000 against a `jit_above_cost` of 100,000). A page is an index walk
 * and one lookup per event: one generic plan, kept for the connection, with neither.
 */
const pageRead: Migration = {
  component: "log",
  version: 3,
  name: "the whole log's page read with its own plan",
  sql: (s) => `
${readAllHead(s, "")}
    begin
      -- Only transactions older than every running one are read, so no later commit can land behind the cursor.
      return query
        select e.position, e.stream_id, e.stream_version, e.event_id::text, e.type, e.schema_version, e.data, e.metadata,
          e.recorded_at, e.transaction_id::text,
          e.hash = ${s}.event_hash(e.stream_id, e.stream_version, e.event_id, e.type, e.schema_version, e.data,
            e.metadata, e.recorded_at, p.hash)
        from ${s}.events e
        left join ${s}.events p on p.stream_id = e.stream_id and p.stream_version = e.stream_version - 1
        where (e.transaction_id, e.position) > (p_transaction, p_position)
          and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          and (p_types is null or e.type in (select jsonb_array_elements_text(p_types)))
        order by e.transaction_id, e.position
        limit p_limit;
    end
    $fn$;
  `
}

/**
 * The page read also says where its scan stopped, and whether anything waits behind the horizon.
 * A reader of some types only (every read model is one) used to keep its cursor on the last
 * event of its types: each read, at every wake-up and poll, walked again every other event
 * appended since, so a read model of rare types read more of the log each second as the log
 * grew. And a read that found nothing after a wake-up could not tell an append of another
 * type from one of its own types held back by an older open transaction, so it read again
 * up to eight times on a guess. Now a page shorter than its limit ends with one mark row
 * (`held_back` not null, the event's columns null): the last event of any type before the
 * horizon, where the cursor may move since every event up to it was read or is of another
 * type; and whether an event of the reader's types was committed behind the horizon (read
 * again shortly) or not (wait for the next append).
 */
const pageReadToHorizon: Migration = {
  component: "log",
  version: 4,
  name: "the page read names where it stopped and what waits behind the horizon",
  sql: (s) => `
    drop function ${s}.read_all(xid8, bigint, integer, jsonb);
${readAllHead(s, ", held_back boolean")}
    declare
      -- Only transactions older than every running one are read, so no later commit can land behind the cursor.
      horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
      taken integer;
      last_transaction xid8;
      last_position bigint;
      waiting boolean;
    begin
      return query
        select e.position, e.stream_id, e.stream_version, e.event_id::text, e.type, e.schema_version, e.data, e.metadata,
          e.recorded_at, e.transaction_id::text,
          e.hash = ${s}.event_hash(e.stream_id, e.stream_version, e.event_id, e.type, e.schema_version, e.data,
            e.metadata, e.recorded_at, p.hash),
          null::boolean
        from ${s}.events e
        left join ${s}.events p on p.stream_id = e.stream_id and p.stream_version = e.stream_version - 1
        where (e.transaction_id, e.position) > (p_transaction, p_position)
          and e.transaction_id < horizon
          and (p_types is null or e.type in (select jsonb_array_elements_text(p_types)))
        order by e.transaction_id, e.position
        limit p_limit;
      get diagnostics taken = row_count;
      if taken < p_limit then
        -- The page reached the horizon: the cursor may move to the last event before it, of whatever type.
        select e.transaction_id, e.position into last_transaction, last_position
        from ${s}.events e
        where e.transaction_id < horizon and (e.transaction_id, e.position) > (p_transaction, p_position)
        order by e.transaction_id desc, e.position desc
        limit 1;
        -- Not an EXISTS: Postgres drops a sublink's ORDER BY and LIMIT, and costed as a generic plan
        -- the index range beyond the horizon looks like a third of the log, which a sequential scan
        -- would read whole when nothing is there (the usual answer). In index order, it walks only
        -- the events committed behind the horizon.
        select true into waiting
        from ${s}.events e
        where e.transaction_id >= horizon and (e.transaction_id, e.position) > (p_transaction, p_position)
          and (p_types is null or e.type in (select jsonb_array_elements_text(p_types)))
        order by e.transaction_id, e.position
        limit 1;
        return query
          select coalesce(last_position, p_position), null::text, null::integer, null::text, null::text, null::integer,
            null::jsonb, null::jsonb, null::timestamptz, coalesce(last_transaction, p_transaction)::text, null::boolean,
            coalesce(waiting, false);
      end if;
    end
    $fn$;
  `
}

export const logMigrations: ReadonlyArray<Migration> = [eventLog, leanerAppend, pageRead, pageReadToHorizon]

/** Applies what is missing of `migrations`; returns those it applied (empty when already current). */
export const migrate = async (
  db: { transaction<A>(work: (tx: Queryable) => Promise<A>): Promise<A> },
  schema: string,
  migrations: ReadonlyArray<Migration> = logMigrations
): Promise<ReadonlyArray<Migration>> =>
  db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`orrery.migrate.${schema}`])
    await tx.exec(`
      create schema if not exists ${schema};
      create table if not exists ${schema}.migrations (
        component text not null,
        version integer not null,
        name text not null,
        applied_at timestamptz not null default now(),
        primary key (component, version)
      );`)
    const done = new Set(
      (await tx.query<{ component: string; version: number }>(`select component, version from ${schema}.migrations`)).map(
        (row) => `${row.component}@${row.version}`
      )
    )
    const applied: Array<Migration> = []
    for (const migration of migrations) {
      if (done.has(`${migration.component}@${migration.version}`)) continue
      await tx.exec(migration.sql(schema))
      await tx.query(`insert into ${schema}.migrations (component, version, name) values ($1, $2, $3)`, [
        migration.component,
        migration.version,
        migration.name
      ])
      applied.push(migration)
    }
    return applied
  })

/** The highest applied version of a component, or 0 when none is (readiness checks). */
export const currentVersion = async (db: Queryable, schema: string, component = "log"): Promise<number> => {
  const [exists] = await db.query<{ present: boolean }>(`select to_regclass($1) is not null as present`, [`${schema}.migrations`])
  if (exists?.present !== true) return 0
  const [max] = await db.query<{ version: number | null }>(
    `select max(version) as version from ${schema}.migrations where component = $1`,
    [component]
  )
  return max?.version ?? 0
}

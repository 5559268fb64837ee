/**
 * Versioned schema migrations. Applied in order, each once, inside one
 * transaction that first takes an advisory lock named after the schema, so two
 * processes starting together never race (CREATE ... IF NOT EXISTS alone is not
 * safe under concurrency).
 */
import type { Queryable } from "./database.js"

export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: (schema: string) => string
}

const eventLog: Migration = {
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

export const migrations: ReadonlyArray<Migration> = [eventLog]

export const latestVersion = migrations[migrations.length - 1]!.version

/** Applies what is missing; returns the versions it applied (empty when already current). */
export const migrate = async (
  db: { transaction<A>(work: (tx: Queryable) => Promise<A>): Promise<A> },
  schema: string
): Promise<ReadonlyArray<number>> =>
  db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`orrery.migrate.${schema}`])
    await tx.exec(`
      create schema if not exists ${schema};
      create table if not exists ${schema}.migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      );`)
    const done = new Set(
      (await tx.query<{ version: number }>(`select version from ${schema}.migrations`)).map((row) => row.version)
    )
    const applied: Array<number> = []
    for (const migration of migrations) {
      if (done.has(migration.version)) continue
      await tx.exec(migration.sql(schema))
      await tx.query(`insert into ${schema}.migrations (version, name) values ($1, $2)`, [migration.version, migration.name])
      applied.push(migration.version)
    }
    return applied
  })

/** The highest applied migration, or 0 when the schema has none (readiness checks). */
export const currentVersion = async (db: Queryable, schema: string): Promise<number> => {
  const [row] = await db.query<{ version: number | null }>(
    `select case when to_regclass($1) is null then null else 0 end as version`,
    [`${schema}.migrations`]
  )
  if (row?.version === null || row === undefined) return 0
  const [max] = await db.query<{ version: number | null }>(`select max(version) as version from ${schema}.migrations`)
  return max?.version ?? 0
}

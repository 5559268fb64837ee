-- What a random id costs a unique index larger than shared_buffers, against a time-ordered one.
--
--   psql -h 127.0.0.1 -U postgres -d test -f bench/uuid-ids.sql      (≈ 4 minutes; drops what it made)
--
-- Two tables of 10,000,000 rows keyed by a uuid (≈ 300-400 MB of index each: the events
-- table's event-id index at 10 M events is of that size), one with random ids (UUIDv4), one
-- with time-ordered ids (UUIDv7, as Orrery's log gives new events). After a checkpoint each
-- takes 10,000 single-row inserts; printed: WAL bytes and microseconds per insert. A random
-- id lands on a random leaf page, which is rarely in shared_buffers and, the first time after
-- a checkpoint, is logged whole (a full-page image); a time-ordered id lands on the newest page.
-- The figures are in BENCHMARKS.md ("UUIDv7 ids").
\set ON_ERROR_STOP on
drop schema if exists uuid_ids cascade;
create schema uuid_ids;
create function uuid_ids.v7(at timestamptz) returns uuid language sql volatile as $$
  select (encode(substring(int8send((extract(epoch from at) * 1000)::bigint) from 3 for 6), 'hex') || '7'
    || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid $$;
create table uuid_ids.v4 (id uuid primary key, pad text);
create table uuid_ids.v7 (id uuid primary key, pad text);
insert into uuid_ids.v4 select gen_random_uuid(), 'x' from generate_series(1, 10000000);
insert into uuid_ids.v7 select uuid_ids.v7(now() - interval '30 days' + i * interval '200 microseconds'), 'x'
  from generate_series(1, 10000000) i;
select pg_size_pretty(pg_relation_size('uuid_ids.v4_pkey')) as v4_index, pg_size_pretty(pg_relation_size('uuid_ids.v7_pkey')) as v7_index;

create temp table mark (label text, lsn pg_lsn, at timestamptz);
checkpoint;
insert into mark values ('v4 before', pg_current_wal_insert_lsn(), clock_timestamp());
do $$ begin for i in 1..10000 loop insert into uuid_ids.v4 values (gen_random_uuid(), 'x'); end loop; end $$;
insert into mark values ('v4 after', pg_current_wal_insert_lsn(), clock_timestamp());
checkpoint;
insert into mark values ('v7 before', pg_current_wal_insert_lsn(), clock_timestamp());
do $$ begin for i in 1..10000 loop insert into uuid_ids.v7 values (uuid_ids.v7(clock_timestamp()), 'x'); end loop; end $$;
insert into mark values ('v7 after', pg_current_wal_insert_lsn(), clock_timestamp());

select ids, round(pg_wal_lsn_diff(b.lsn, a.lsn) / 10000) as wal_bytes_per_insert,
  round((extract(epoch from b.at - a.at) * 1e6 / 10000)::numeric, 1) as micros_per_insert
from (values ('v4'), ('v7')) as i(ids)
  join mark a on a.label = ids || ' before' join mark b on b.label = ids || ' after';
drop schema uuid_ids cascade;

/**
 * The engine's own tables, beside the log's: the current state of every
 * instance (a projection written in the same transaction as its events, so it
 * is never behind) and the durable to-do list of effects — activities to run,
 * timers to fire, messages to deliver, children to start — that workers claim
 * with leases.
 */
import type { Migration } from "../log/index.js"

/** What every definition of `record_step` shares (migrations 1, 4 and 10): its signature. */
const recordStepSignature = (s: string) => `create or replace function ${s}.record_step(
  p_type text, p_id text, p_stream text, p_expected integer, p_batch jsonb, p_row jsonb,
  p_consume bigint, p_worker text, p_cancel jsonb, p_drop_all boolean, p_tasks jsonb, p_snapshot jsonb,
  p_notify text
) returns jsonb language plpgsql as $fn$`

/** The step's start: consume the claimed task (OR002 when gone), append the batch (OR001 when the stream moved on). */
const consumeAndAppend = (s: string) => `  if p_consume is not null then
    delete from ${s}.tasks where id = p_consume and locked_by = p_worker;
    if not found then raise exception 'task % is gone', p_consume using errcode = 'OR002'; end if;
  end if;
  for v_appended in select * from ${s}.append_events(p_stream, p_expected, p_batch) loop
    if v_appended.outcome <> 'inserted' then
      raise exception 'stream % is at version %', p_stream, v_appended.head using errcode = 'OR001';
    end if;
    v_version := v_appended.stream_version;
  end loop;`

/** The step's tasks: drop or cancel, add (answering their ids in v_tasks), wake other workers. */
const taskChanges = (s: string) => `  if p_drop_all then
    delete from ${s}.tasks where stream_id = p_stream;
  elsif jsonb_array_length(p_cancel) > 0 then
    delete from ${s}.tasks t using jsonb_to_recordset(p_cancel) as x(kind text, key text)
    where t.stream_id = p_stream and t.kind = x.kind and t.key = x.key;
  end if;
  if jsonb_array_length(p_tasks) > 0 then
    with inserted as (
      insert into ${s}.tasks (kind, stream_id, workflow_type, instance_id, key, payload, due_at, locked_by, locked_until)
      select x.kind, x.stream_id, x.workflow_type, x.instance_id, x.key, x.payload, coalesce(x.due_at, now()), x.locked_by,
        case when x.locked_by is null then null else now() + x.lease_ms * interval '1 millisecond' end
      from jsonb_to_recordset(p_tasks) as x(kind text, stream_id text, workflow_type text, instance_id text,
        key text, payload jsonb, due_at timestamptz, locked_by text, lease_ms integer)
      on conflict (stream_id, kind, key) do update set payload = excluded.payload, due_at = excluded.due_at,
        locked_by = excluded.locked_by, locked_until = excluded.locked_until, attempts = 0
      returning id, kind, key
    )
    select coalesce(jsonb_agg(jsonb_build_object('id', id, 'kind', kind, 'key', key)), '[]'::jsonb) into v_tasks from inserted;
  end if;
  -- Wakes other processes' workers when this step left them work (delivered at commit).
  if p_notify is not null then perform pg_notify(p_notify, ''); end if;`

/**
 * One step of an instance as one SQL function. Defined by the first migration and
 * again by "corrupted instances", which made it refuse an instance marked corrupted
 * (plpgsql resolves columns when it runs, so the first migration may name one the
 * fourth adds: they are applied together on a new database).
 */
const recordStepFunction = (s: string) => `
-- One step of an instance as one statement (one round trip, its own transaction):
-- consume the claimed task, append, move the instance row, cancel and add tasks,
-- maybe save a snapshot. Raises OR001 when the instance moved on or was marked
-- corrupted (re-run the input: the reload sees the mark), OR002 when the claimed
-- task is gone; 23505 from the insert means the instance id is taken.
${recordStepSignature(s)}
declare
  v_appended record;
  v_version integer;
  v_tasks jsonb;
begin
${consumeAndAppend(s)}
  if p_expected = 0 then
    insert into ${s}.instances (workflow_type, instance_id, machine_version, status, state, snapshot, stream_version,
      inputs, parent, children, failure, idempotency_key)
    values (p_type, p_id, (p_row->>'machine_version')::integer, p_row->>'status', p_row->'state', p_row->'snapshot',
      v_version, (p_row->>'inputs')::integer, nullif(p_row->'parent', 'null'::jsonb), p_row->'children',
      nullif(p_row->'failure', 'null'::jsonb), p_row->>'idempotency_key');
  else
    update ${s}.instances set status = p_row->>'status', state = p_row->'state', snapshot = p_row->'snapshot',
      stream_version = v_version, inputs = (p_row->>'inputs')::integer, children = p_row->'children',
      failure = nullif(p_row->'failure', 'null'::jsonb), updated_at = now()
    where workflow_type = p_type and instance_id = p_id and stream_version = p_expected and corrupted is null;
    if not found then raise exception 'instance % moved on', p_stream using errcode = 'OR001'; end if;
  end if;
${taskChanges(s)}
  if p_snapshot is not null then
    insert into ${s}.snapshots (stream_id, stream_version, machine_version, state)
    values (p_stream, v_version, (p_row->>'machine_version')::integer, p_snapshot)
    on conflict (stream_id, stream_version) do update set state = excluded.state;
  end if;
  return jsonb_build_object('version', v_version, 'tasks', coalesce(v_tasks, '[]'::jsonb));
end
$fn$;
`

/**
 * One step of an instance, moving the census and the state paths itself (migration 10): the same
 * as `recordStepFunction` plus the rows the update triggers of migrations 5 and 9 wrote. The
 * instance's old status and state come back from the update itself (a self-join reads the row as
 * it was when the statement began), and only a step that changes them writes paths and counts.
 */
const recordStepKeepingViews = (s: string) => `
${recordStepSignature(s)}
declare
  v_appended record;
  v_version integer;
  v_tasks jsonb;
  v_status text := p_row->>'status';
  v_state jsonb := p_row->'state';
  v_machine integer;
  v_created timestamptz;
  v_was_status text;
  v_was_state jsonb;
  v_path text;
begin
${consumeAndAppend(s)}
  if p_expected = 0 then
    insert into ${s}.instances (workflow_type, instance_id, machine_version, status, state, snapshot, stream_version,
      inputs, parent, children, failure, idempotency_key)
    values (p_type, p_id, (p_row->>'machine_version')::integer, v_status, v_state, p_row->'snapshot',
      v_version, (p_row->>'inputs')::integer, nullif(p_row->'parent', 'null'::jsonb), p_row->'children',
      nullif(p_row->'failure', 'null'::jsonb), p_row->>'idempotency_key')
    returning machine_version, created_at into v_machine, v_created;
  else
    update ${s}.instances i set status = v_status, state = v_state, snapshot = p_row->'snapshot',
      stream_version = v_version, inputs = (p_row->>'inputs')::integer, children = p_row->'children',
      failure = nullif(p_row->'failure', 'null'::jsonb), updated_at = now()
    from (select status, state from ${s}.instances where workflow_type = p_type and instance_id = p_id) was
    where i.workflow_type = p_type and i.instance_id = p_id and i.stream_version = p_expected and i.corrupted is null
    returning was.status, was.state, i.machine_version, i.created_at into v_was_status, v_was_state, v_machine, v_created;
    if not found then raise exception 'instance % moved on', p_stream using errcode = 'OR001'; end if;
  end if;
  -- A start is counted and pathed by the insert triggers. Most steps keep the state and the status (a
  -- context change): those leave the census and the paths alone.
  if p_expected <> 0 and (v_was_status is distinct from v_status or v_was_state is distinct from v_state) then
    -- One path at a time, by the whole key: a plan the function keeps. With \`path = any(...)\` the planner
    -- priced its kept plan above planning afresh, and planned this statement anew on every step.
    foreach v_path in array ${s}.state_paths(v_was_state) loop
      delete from ${s}.instance_paths
      where path = v_path and workflow_type = p_type and status = v_was_status and created_at = v_created and instance_id = p_id;
    end loop;
    insert into ${s}.instance_paths (path, workflow_type, status, created_at, instance_id)
    select distinct path, p_type, v_status, v_created, p_id from unnest(${s}.state_paths(v_state)) as path;
    insert into ${s}.instance_count_changes values
      (p_type, v_machine, v_was_status, v_was_state, -1), (p_type, v_machine, v_status, v_state, 1);
  end if;
${taskChanges(s)}
  if p_snapshot is not null then
    insert into ${s}.snapshots (stream_id, stream_version, machine_version, state)
    values (p_stream, v_version, v_machine, p_snapshot)
    on conflict (stream_id, stream_version) do update set state = excluded.state;
  end if;
  return jsonb_build_object('version', v_version, 'tasks', coalesce(v_tasks, '[]'::jsonb));
end
$fn$;
`

export const engineMigrations: ReadonlyArray<Migration> = [
  {
    component: "engine",
    version: 1,
    name: "instances and tasks",
    sql: (s) => `
      create table ${s}.instances (
        workflow_type text not null,
        instance_id text not null,
        machine_version integer not null,
        status text not null,
        state jsonb not null,
        snapshot jsonb not null,
        stream_version integer not null,
        inputs integer not null,
        parent jsonb,
        children jsonb not null default '{}',
        failure jsonb,
        idempotency_key text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (workflow_type, instance_id)
      );
      create unique index instances_idempotency on ${s}.instances (workflow_type, idempotency_key)
        where idempotency_key is not null;
      create index instances_newest on ${s}.instances (created_at desc, workflow_type, instance_id);

      create table ${s}.tasks (
        id bigint generated always as identity primary key,
        kind text not null,
        stream_id text not null,
        workflow_type text not null,
        instance_id text not null,
        key text not null,
        payload jsonb not null,
        due_at timestamptz not null default now(),
        locked_by text,
        locked_until timestamptz,
        attempts integer not null default 0,
        created_at timestamptz not null default now(),
        constraint tasks_once unique (stream_id, kind, key)
      );
      create index tasks_due on ${s}.tasks (due_at);

      ${recordStepFunction(s)}
      -- Several instances' steps in one statement and one commit; each in its own savepoint,
      -- so that one refused step (a conflict) leaves the others recorded.
      create function ${s}.record_steps(p_steps jsonb) returns jsonb language plpgsql as $fn$
      declare
        v_step jsonb;
        v_results jsonb := '[]'::jsonb;
      begin
        for v_step in select x from jsonb_array_elements(p_steps) x loop
          begin
            v_results := v_results || jsonb_build_array(jsonb_build_object('ok', true, 'result', ${s}.record_step(
              v_step->>0, v_step->>1, v_step->>2, (v_step->>3)::integer, (v_step->>4)::jsonb, (v_step->>5)::jsonb,
              (v_step->>6)::bigint, v_step->>7, (v_step->>8)::jsonb, (v_step->>9)::boolean, (v_step->>10)::jsonb,
              (v_step->>11)::jsonb, v_step->>12)));
          exception when others then
            v_results := v_results || jsonb_build_array(jsonb_build_object('ok', false, 'code', sqlstate, 'message', sqlerrm));
          end;
        end loop;
        return v_results;
      end
      $fn$;
    `
  },
  {
    component: "engine",
    version: 2,
    name: "workers",
    // Workers say they are alive here, so that each claims a fair share of the work and the
    // API process can report every worker's counts (the counts are the worker's running totals).
    sql: (s) => `
      create table ${s}.workers (
        id text primary key,
        started_at timestamptz not null default now(),
        last_seen timestamptz not null default now(),
        stopped_at timestamptz,
        counts jsonb not null default '{}'
      );
    `
  },
  {
    component: "engine",
    version: 3,
    name: "circuits",
    // One circuit per outside dependency, shared by every worker on the database: consecutive
    // failures, open until when, the lease of the one trial call a half-open circuit lets through,
    // and how often it moved to each state. A task put back by an open circuit names it in waiting_on.
    sql: (s) => `
      create table ${s}.circuits (
        dependency text primary key,
        failures integer not null default 0,
        open_until timestamptz,
        trial_until timestamptz,
        transitions jsonb not null default '{}',
        updated_at timestamptz not null default now()
      );
      alter table ${s}.tasks add column waiting_on text;
      create index tasks_waiting_on on ${s}.tasks (waiting_on) where waiting_on is not null;
    `
  },
  {
    component: "engine",
    version: 4,
    name: "corrupted instances",
    // An instance whose history was found broken (a row changed or deleted behind the log's
    // back) is marked here and refuses inputs until an operator has repaired it and verified it.
    sql: (s) => `
      alter table ${s}.instances add column corrupted jsonb;
      ${recordStepFunction(s)}
    `
  },
  {
    component: "engine",
    version: 5,
    name: "census counters",
    // The census from counts per (type, version, status, state) instead of grouping every instance.
    // A step does not touch a shared counter row (steps of one type would queue on it): a trigger
    // appends the change (-1 old key, +1 new key) to a change table, and fold_instance_counts()
    // moves the changes into the counts (from a worker's beat and before a census). A census sums
    // the counts and the changes not folded yet, so it is exact whenever the fold last ran.
    sql: (s) => `
      create table ${s}.instance_counts (
        workflow_type text not null,
        machine_version integer not null,
        status text not null,
        state jsonb not null,
        count bigint not null,
        primary key (workflow_type, machine_version, status, state)
      );
      create table ${s}.instance_count_changes (
        workflow_type text not null,
        machine_version integer not null,
        status text not null,
        state jsonb not null,
        delta integer not null
      );

      create function ${s}.count_instance_change() returns trigger language plpgsql as $fn$
      begin
        if tg_op = 'INSERT' then
          insert into ${s}.instance_count_changes values (new.workflow_type, new.machine_version, new.status, new.state, 1);
        elsif tg_op = 'DELETE' then
          insert into ${s}.instance_count_changes values (old.workflow_type, old.machine_version, old.status, old.state, -1);
        else
          insert into ${s}.instance_count_changes values
            (old.workflow_type, old.machine_version, old.status, old.state, -1),
            (new.workflow_type, new.machine_version, new.status, new.state, 1);
        end if;
        return null;
      end
      $fn$;
      create trigger instances_counted after insert or delete on ${s}.instances
        for each row execute function ${s}.count_instance_change();
      -- Most steps keep the state and status (a context change): those write no change row.
      create trigger instances_recounted after update of workflow_type, machine_version, status, state on ${s}.instances
        for each row when (old.status is distinct from new.status or old.state is distinct from new.state
          or old.machine_version is distinct from new.machine_version or old.workflow_type is distinct from new.workflow_type)
        execute function ${s}.count_instance_change();

      -- A truncate fires no row trigger: it empties the counts with the instances.
      create function ${s}.clear_instance_counts() returns trigger language plpgsql as $fn$
      begin
        delete from ${s}.instance_counts;
        delete from ${s}.instance_count_changes;
        return null;
      end
      $fn$;
      create trigger instances_cleared after truncate on ${s}.instances
        for each statement execute function ${s}.clear_instance_counts();

      -- Folds the changes into the counts; answers how many keys moved. One fold at a time (the
      -- others return 0 at once, their changes being folded already or by the next call).
      create function ${s}.fold_instance_counts() returns integer language plpgsql as $fn$
      declare
        v_folded integer;
      begin
        if not pg_try_advisory_xact_lock(hashtext('orrery.fold_instance_counts.${s}')) then return 0; end if;
        with taken as (
          delete from ${s}.instance_count_changes returning workflow_type, machine_version, status, state, delta
        ), summed as (
          select workflow_type, machine_version, status, state, sum(delta) as delta from taken
          group by workflow_type, machine_version, status, state having sum(delta) <> 0
        )
        insert into ${s}.instance_counts as c (workflow_type, machine_version, status, state, count)
        select workflow_type, machine_version, status, state, delta from summed
        order by workflow_type, machine_version, status, state
        on conflict (workflow_type, machine_version, status, state) do update set count = c.count + excluded.count;
        get diagnostics v_folded = row_count;
        if v_folded > 0 then delete from ${s}.instance_counts where count = 0; end if;
        return v_folded;
      end
      $fn$;

      -- The instances there already. The triggers above hold a lock that keeps writers out until
      -- this transaction commits, so none is counted twice or missed.
      insert into ${s}.instance_counts (workflow_type, machine_version, status, state, count)
      select workflow_type, machine_version, status, state, count(*) from ${s}.instances
      group by workflow_type, machine_version, status, state;
    `
  },
  {
    component: "engine",
    version: 6,
    name: "lists by state",
    // Lists filtered by a state at any depth answer from an index: every path of the instance's
    // state ('review', 'review.code', 'review.code.pending', one per active leaf and its ancestors,
    // parallel regions included) kept in a generated column with a GIN index. Lists by type, and by
    // type and status, page in the order of their own indexes (newest first).
    sql: (s) => `
      create function ${s}.state_paths(p_state jsonb, p_prefix text default null) returns text[]
      language plpgsql immutable parallel safe as $fn$
      declare
        v_paths text[] := '{}';
        v_key text;
        v_value jsonb;
      begin
        if jsonb_typeof(p_state) = 'string' then
          return array[concat_ws('.', p_prefix, p_state #>> '{}')];
        end if;
        if jsonb_typeof(p_state) = 'object' then
          for v_key, v_value in select key, value from jsonb_each(p_state) loop
            v_paths := v_paths || concat_ws('.', p_prefix, v_key) || ${s}.state_paths(v_value, concat_ws('.', p_prefix, v_key));
          end loop;
        end if;
        return v_paths;
      end
      $fn$;
      alter table ${s}.instances add column state_paths text[] generated always as (${s}.state_paths(state)) stored;
      create index instances_state_paths on ${s}.instances using gin (state_paths);
      create index instances_by_type on ${s}.instances (workflow_type, created_at desc, instance_id desc);
      create index instances_by_status on ${s}.instances (workflow_type, status, created_at desc, instance_id desc);
    `
  },
  {
    component: "engine",
    version: 7,
    name: "claimable tasks",
    // Claims look for unleased tasks by due time, and for leases run out: one partial index each, so
    // that the leased tasks (every activity in flight) stay out of the claim's index and a lease's
    // heartbeat never touches it. Timers far ahead sit at its end, past where a claim stops reading.
    sql: (s) => `
      drop index ${s}.tasks_due;
      create index tasks_claimable on ${s}.tasks (due_at) where locked_until is null;
      create index tasks_leased on ${s}.tasks (locked_until) where locked_until is not null;
    `
  },
  {
    component: "engine",
    version: 8,
    name: "census changes kept small",
    // A census reads the changes not folded yet by a scan of their table, and a fold empties it by a
    // DELETE: the dead rows stay in its pages until a vacuum, and every later fold and census reads
    // them (a fold of a million changes left 8,500 pages: 10-55 ms a scan). The fold now answers how
    // many changes it took, so that its caller vacuums the table once they add up (see the instance
    // store); autovacuum gets to it after a thousand dead rows rather than a fifth of the table.
    sql: (s) => `
      alter table ${s}.instance_count_changes set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
      create or replace function ${s}.fold_instance_counts() returns integer language plpgsql as $fn$
      declare
        v_taken integer;
        v_folded integer;
      begin
        if not pg_try_advisory_xact_lock(hashtext('orrery.fold_instance_counts.${s}')) then return 0; end if;
        with taken as (
          delete from ${s}.instance_count_changes returning workflow_type, machine_version, status, state, delta
        ), summed as (
          select workflow_type, machine_version, status, state, sum(delta) as delta from taken
          group by workflow_type, machine_version, status, state having sum(delta) <> 0
        ), folded as (
          insert into ${s}.instance_counts as c (workflow_type, machine_version, status, state, count)
          select workflow_type, machine_version, status, state, delta from summed
          order by workflow_type, machine_version, status, state
          on conflict (workflow_type, machine_version, status, state) do update set count = c.count + excluded.count
          returning 1
        )
        select (select count(*) from taken), (select count(*) from folded) into v_taken, v_folded;
        if v_folded > 0 then delete from ${s}.instance_counts where count = 0; end if;
        return v_taken;
      end
      $fn$;
    `
  },
  {
    component: "engine",
    version: 9,
    name: "state paths by type and status",
    // Migration 6's GIN index found an instance by any of its state paths, but a list by type, status
    // and state is paged newest first, and the planner, multiplying the three filters' selectivities
    // as if independent (a state implies its type and mostly its status), expected a dozen rows where
    // a million-instance log had thousands: it took every match from the GIN index and sorted them,
    // a cost that grew with the log. Here each path is a row of its own beside the instance's type,
    // status and creation, so that a btree walks exactly one page of a filter newest first. The rows
    // change only when the state or the status does (most steps change the context alone), and the
    // instance row loses its generated column: no step computes its paths any more.
    sql: (s) => `
      create table ${s}.instance_paths (
        path text not null,
        workflow_type text not null,
        status text not null,
        created_at timestamptz not null,
        instance_id text not null,
        primary key (path, workflow_type, status, created_at, instance_id)
      );
      -- Lists by type and state whatever the status.
      create index instance_paths_by_type on ${s}.instance_paths (path, workflow_type, created_at, instance_id);

      create function ${s}.keep_instance_paths() returns trigger language plpgsql as $fn$
      begin
        -- The paths as an array the key's first column is compared with: a join with their unnest would leave
        -- the path out of the index condition in a plan cached while the table was small, and each step would
        -- then scan the whole index (2.6 ms a step at 50,000 rows, against 0.16 ms).
        if tg_op <> 'INSERT' then
          delete from ${s}.instance_paths
          where path = any(${s}.state_paths(old.state)) and workflow_type = old.workflow_type and status = old.status
            and created_at = old.created_at and instance_id = old.instance_id;
        end if;
        if tg_op <> 'DELETE' then
          insert into ${s}.instance_paths (path, workflow_type, status, created_at, instance_id)
          select distinct path, new.workflow_type, new.status, new.created_at, new.instance_id from unnest(${s}.state_paths(new.state)) as path;
        end if;
        return null;
      end
      $fn$;
      create trigger instances_pathed after insert or delete on ${s}.instances
        for each row execute function ${s}.keep_instance_paths();
      create trigger instances_repathed after update of workflow_type, instance_id, status, state, created_at on ${s}.instances
        for each row when (old.status is distinct from new.status or old.state is distinct from new.state
          or old.workflow_type is distinct from new.workflow_type or old.instance_id is distinct from new.instance_id
          or old.created_at is distinct from new.created_at)
        execute function ${s}.keep_instance_paths();
      create function ${s}.clear_instance_paths() returns trigger language plpgsql as $fn$
      begin
        delete from ${s}.instance_paths;
        return null;
      end
      $fn$;
      create trigger instances_paths_cleared after truncate on ${s}.instances
        for each statement execute function ${s}.clear_instance_paths();

      -- The instances there already (the triggers keep writers out until this commits).
      insert into ${s}.instance_paths (path, workflow_type, status, created_at, instance_id)
      select distinct path, workflow_type, status, created_at, instance_id from ${s}.instances, unnest(state_paths) as path;
      drop index ${s}.instances_state_paths;
      alter table ${s}.instances drop column state_paths;
    `
  },
  {
    component: "engine",
    version: 10,
    name: "census and paths moved by the step",
    // The update triggers of migrations 5 and 9 cost a step that moved its instance's state about 100 µs
    // of server CPU (two PL/pgSQL trigger calls planning their statements around OLD and NEW; the same
    // statements in the step cost 30), a quarter of a three-step saga's server time. The step now moves
    // the census and the paths itself, knowing the old status and state from its own update. Only steps
    // change an instance's state or status; rows inserted or deleted in any way (a start, a bulk load,
    // an operator's delete) are still counted and pathed by the insert and delete triggers.
    sql: (s) => `
      drop trigger instances_recounted on ${s}.instances;
      drop trigger instances_repathed on ${s}.instances;
      ${recordStepKeepingViews(s)}
    `
  }
]

/** How recent a worker's last beat must be for it to count as live. */
export const workerLiveMs = 10_000

export type TaskKind = "activity" | "timer" | "message" | "start"

/** A task row as the table holds it; `decodeTask` (task-payloads.ts) checks its kind and payload. */
export interface TaskRow {
  readonly id: number
  readonly kind: string
  readonly stream_id: string
  readonly workflow_type: string
  readonly instance_id: string
  readonly key: string
  readonly payload: unknown
  readonly due_at: Date
  readonly attempts: number
}

export interface InstanceRow {
  readonly workflow_type: string
  readonly instance_id: string
  readonly machine_version: number
  readonly status: InstanceStatus
  readonly state: unknown
  readonly snapshot: any
  readonly stream_version: number
  readonly inputs: number
  readonly parent: ParentLink | null
  /** Child workflows by invoke id. */
  readonly children: Readonly<Record<string, { readonly workflowType: string; readonly instanceId: string }>>
  readonly failure: any
  /** Set when a read found the instance's history broken: it refuses inputs until verified again. */
  readonly corrupted: CorruptionMark | null
  readonly created_at: Date
  readonly updated_at: Date
}

export type InstanceStatus = "running" | "done" | "failed" | "cancelled"

/** Where an instance's history breaks: a row `changed` behind the log's back, or `missing` (deleted). */
export interface CorruptionMark {
  readonly version: number
  readonly reason: "changed" | "missing"
  readonly detectedAt: string
}

export interface ParentLink {
  readonly workflowType: string
  readonly instanceId: string
  readonly invokeId: string
}

const taskColumns = "t.id, t.kind, t.stream_id, t.workflow_type, t.instance_id, t.key, t.payload, t.due_at, t.attempts"

/**
 * Leases up to `limit` due tasks to worker $1 for $3 ms, the earliest due first; `share` adds a CTE the
 * limit may read. A due task is unleased (`tasks_claimable`) or its lease ran out (`tasks_leased`):
 * the earliest of each, then the earliest of both.
 */
const claimStatement = (s: string, limit: string, share = "") => `
    with ${share}free as (
      select id, due_at from ${s}.tasks where locked_until is null and due_at <= $4::timestamptz
      order by due_at limit ${limit}
      for update skip locked
    ), lapsed as (
      select id, due_at from ${s}.tasks where locked_until < now() and due_at <= $4::timestamptz
      order by due_at limit ${limit}
      for update skip locked
    ), due as (
      select id from (select id, due_at from free union all select id, due_at from lapsed) candidates
      order by due_at limit ${limit}
    )
    update ${s}.tasks t set locked_by = $1, locked_until = now() + $3 * interval '1 millisecond', waiting_on = null,
      attempts = t.attempts + case when t.kind = 'activity' then 1 else 0 end
    from due where t.id = due.id
    returning ${taskColumns}`

export const engineStatements = (s: string) => ({
  recordStep: `select ${s}.record_step($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8, $9::text::jsonb, $10, $11::text::jsonb, $12::text::jsonb, $13) as result`,

  recordSteps: `select ${s}.record_steps($1::text::jsonb) as results`,

  loadInstance: `select * from ${s}.instances where workflow_type = $1 and instance_id = $2`,

  /** The instances named in $1, a JSON array of [type, id] pairs (those that exist). */
  loadInstances: `
    select i.* from jsonb_to_recordset($1::text::jsonb) as k(t text, i text)
    join ${s}.instances i on i.workflow_type = k.t and i.instance_id = k.i`,

  findByIdempotencyKey: `select * from ${s}.instances where workflow_type = $1 and idempotency_key = $2`,

  /** Consumes a claimed task; no row means the lease was lost or the task cancelled. */
  consumeTask: `delete from ${s}.tasks where id = $1 and locked_by = $2 returning id`,

  /** Due by the engine's clock ($4, an ISO time); leases stay on the database's clock, which every worker shares. */
  claim: claimStatement(s, "$2"),

  /**
   * The claim when other workers are live: at most this worker's fair share, (ready + leased) ÷ live workers
   * ($5), less what it holds already ($6), and at least one. Counted once per poll, in the claim itself.
   */
  claimShare: claimStatement(s, "least($2::int, (select n from share))", `share as (
      select greatest(1, ceil((
        (select count(*) from ${s}.tasks where locked_until is null and due_at <= $4::timestamptz)
        + (select count(*) from ${s}.tasks where locked_until is not null and (locked_until >= now() or due_at <= $4::timestamptz))
      )::numeric / greatest(1, $5::int))::int - $6::int) as n
    ), `),

  /** A worker says it is here (again); old workers' rows go after a day. Answers its counts so far. */
  registerWorker: `
    with pruned as (delete from ${s}.workers where last_seen < now() - interval '1 day' and id <> $1)
    insert into ${s}.workers as w (id) values ($1)
    on conflict (id) do update set last_seen = now(), stopped_at = null
    returning w.counts`,

  /** A worker's heartbeat with its running totals; answers how many workers are live ($3: how recent a beat counts). */
  workerBeat: `
    with beat as (update ${s}.workers set last_seen = now(), counts = $2::text::jsonb where id = $1 returning id)
    select (select count(*)::int from ${s}.workers
      where stopped_at is null and last_seen > now() - $3 * interval '1 millisecond' and id <> $1) + 1 as live`,

  workerStopped: `update ${s}.workers set last_seen = now(), stopped_at = now(), counts = $2::text::jsonb where id = $1`,

  /** Every worker this database knows of; up when it beat within $1 milliseconds and has not stopped. */
  workers: `
    select id, started_at, last_seen, counts,
      (stopped_at is null and last_seen > now() - $1 * interval '1 millisecond') as up
    from ${s}.workers order by started_at, id`,

  /** Milliseconds from the engine's clock ($1) until the next unclaimed task falls due (null when there is none). */
  nextDue: `
    select case when next_due is null then null
      else greatest(0, extract(epoch from (next_due - $1::timestamptz)) * 1000)::float8 end as wait_ms
    from (select least(
      (select min(due_at) from ${s}.tasks where locked_until is null),
      (select min(due_at) from ${s}.tasks where locked_until < now())) as next_due) next`,

  /**
   * Extends this worker's leases on the tasks in hand ($3). A task whose row another transaction holds is
   * skipped: that is its step consuming it (the lease no longer matters), and waiting for it deadlocked with
   * batched steps deleting the same tasks in another order — the whole beat failed, and every lease in it went
   * unextended (seen with 50,000 timers due at once). A step rolled back leaves its task to the next beat.
   */
  heartbeat: `
    update ${s}.tasks t set locked_until = now() + $2 * interval '1 millisecond'
    from (
      select id from ${s}.tasks where locked_by = $1 and id in (select jsonb_array_elements_text($3::text::jsonb)::bigint)
      order by id for update skip locked
    ) held
    where t.id = held.id
    returning t.id`,

  release: `update ${s}.tasks set locked_by = null, locked_until = null where locked_by = $1 and id in (select jsonb_array_elements_text($2::text::jsonb)::bigint)`,

  /** Hands a task back to be tried again later (a message whose target has not started yet). */
  retryLater: `
    update ${s}.tasks set locked_by = null, locked_until = null, due_at = $4::timestamptz + $3 * interval '1 millisecond',
      attempts = attempts + 1
    where id = $1 and locked_by = $2 returning attempts`,

  /**
   * Puts a claimed activity back because its dependency's circuit refused the call: due again at $3 (when the
   * circuit lets a trial through), waiting on circuit $4, with $5 attempts made (the next claim counts the next one).
   */
  waitForCircuit: `
    update ${s}.tasks set locked_by = null, locked_until = null, due_at = $3::timestamptz, waiting_on = $4, attempts = $5
    where id = $1 and locked_by = $2 returning id`,

  /** Activity attempts survive a worker's death through this counter. */
  recordAttempt: `update ${s}.tasks set attempts = $3 where id = $1 and locked_by = $2`,

  /** Every task by kind and where it stands: waiting for its time, due (unclaimed, late by over a second or not), leased. */
  taskCounts: `
    select kind,
      count(*) filter (where (locked_until is null or locked_until < now()) and due_at > now())::int as scheduled,
      count(*) filter (where (locked_until is null or locked_until < now()) and due_at <= now())::int as due,
      count(*) filter (where (locked_until is null or locked_until < now()) and due_at <= now() - interval '1 second')::int as late,
      count(*) filter (where locked_until >= now())::int as leased
    from ${s}.tasks group by kind order by kind`,

  /** Marks an instance corrupted ($3, a CorruptionMark); the first mark stays, it names the earliest break found. */
  markCorrupted: `update ${s}.instances set corrupted = coalesce(corrupted, $3::text::jsonb) where workflow_type = $1 and instance_id = $2`,

  /** The instance's version beside its log's head: a head behind the instance means rows were deleted. */
  logHead: `
    select i.stream_version, (select coalesce(max(e.stream_version), 0) from ${s}.events e where e.stream_id = $3)::int as head
    from ${s}.instances i where i.workflow_type = $1 and i.instance_id = $2`,

  /**
   * $1 type, $2 id (the last instance of the previous page; '' and '' to begin), $3 limit: the next
   * instances in key order, each with whether its row is ahead of its log (rows deleted from the end of
   * its history: the row is written in the same transaction as its events, so it can never be otherwise).
   */
  instancesAheadOfLog: `
    select i.workflow_type, i.instance_id, i.stream_version > (select coalesce(max(e.stream_version), 0) from ${s}.events e
        where e.stream_id = i.workflow_type || '-' || i.instance_id) as ahead
    from ${s}.instances i where (i.workflow_type, i.instance_id) > ($1::text, $2::text)
    order by i.workflow_type, i.instance_id limit $3::integer`,

  /** Clears the mark once an operator has repaired the history and it reads back whole. */
  clearCorrupted: `update ${s}.instances set corrupted = null where workflow_type = $1 and instance_id = $2`,

  /** Folds the census's pending changes into its counts (see migrations 5 and 8); answers how many changes it took. */
  foldCounts: `select ${s}.fold_instance_counts() as taken`,

  /**
   * Which of tables $2 (a JSON array, in schema $1) have changed by more rows than they held when last analyzed, and by at
   * least $3: their statistics describe a table that is no longer there (see the instance store's refreshStatistics).
   */
  outgrownStatistics: `
    select relname::text as relname from pg_stat_user_tables
    where schemaname = $1 and relname in (select jsonb_array_elements_text($2::text::jsonb))
      and n_mod_since_analyze > greatest($3::bigint, n_live_tup - n_mod_since_analyze)`,

  /** Gives the folded changes' pages back (VACUUM runs alone, outside a transaction). */
  vacuumCountChanges: `vacuum ${s}.instance_count_changes`,

  /** The counts with the changes not folded yet: exact as of this statement, however long ago the fold ran. */
  census: `
    select machine_version, status, state, sum(count)::int as count from (
      select machine_version, status, state, count from ${s}.instance_counts where workflow_type = $1
      union all
      select machine_version, status, state, delta from ${s}.instance_count_changes where workflow_type = $1
    ) counted
    group by machine_version, status, state having sum(count) > 0 order by machine_version, status, state`,

  /** A lease that ran out is no lease (its worker died or let go): judged by the database's clock, like claims. */
  pendingTasks: `
    select kind, key, payload, due_at, attempts, waiting_on,
      case when locked_until > now() then locked_by end as locked_by,
      case when locked_until > now() then locked_until end as leased_until
    from ${s}.tasks where stream_id = $1 order by due_at, id`,
})

export type EngineStatements = ReturnType<typeof engineStatements>

/** What a list asks for, checked already (see the instance store): a state as its path of keys. */
export interface ListQuery {
  readonly type: string | null
  readonly status: string | null
  readonly statePath: ReadonlyArray<string> | null
  readonly updatedBefore: string | null
  readonly id: string | null
  readonly idPrefix: string | null
  /** The last row of the previous page: its creation time, type and id. */
  readonly after: readonly [string, string, string] | null
  readonly limit: number
}

/** The instance columns a list answers with. */
const listedColumns = ["workflow_type", "instance_id", "machine_version", "status", "state", "snapshot", "stream_version", "inputs", "parent", "children",
  "failure", "corrupted", "created_at", "updated_at"]

/**
 * The list's SQL with a condition for each filter given and none for the others, so that the plan
 * of each combination (prepared, and kept generic once it has run a few times) uses the index that
 * fits it: by type, by type and status, or the newest first. A list by state walks the state's rows
 * in `instance_paths` (migration 9) newest first and joins each to its instance: its type, status,
 * creation and id are there too, so that the walk stops after one page whatever the log's size.
 *
 * @example
 * const { text, params } = listStatement("orrery", { type: "ticket", status: "running", statePath: ["open", "triage"],
 *   updatedBefore: null, id: null, idPrefix: null, after: null, limit: 51 })
 * const rows = await db.query(text, params)
 */
export const listStatement = (s: string, query: ListQuery): { readonly text: string; readonly params: ReadonlyArray<unknown> } => {
  const params: Array<unknown> = []
  const param = (value: unknown, cast: string) => {
    params.push(value)
    return `$${params.length}::${cast}`
  }
  const byPath = query.statePath !== null
  // The key columns (type, status, creation, id) from the path rows when walking them, else from the instance.
  const key = byPath ? "p." : ""
  const row = byPath ? "i." : ""
  const where: Array<string> = []
  // The instance is in that state when the path is one of its state's paths (keys joined by dots).
  if (query.statePath !== null) where.push(`p.path = ${param(query.statePath.join("."), "text")}`)
  if (query.type !== null) where.push(`${key}workflow_type = ${param(query.type, "text")}`)
  if (query.status !== null) where.push(`${key}status = ${param(query.status, "text")}`)
  if (query.updatedBefore !== null) where.push(`${row}updated_at < ${param(query.updatedBefore, "timestamptz")}`)
  if (query.id !== null) where.push(`${key}instance_id = ${param(query.id, "text")}`)
  if (query.idPrefix !== null) where.push(`starts_with(${key}instance_id, ${param(query.idPrefix, "text")})`)
  if (query.after !== null) {
    const [createdAt, type, id] = query.after
    const created = param(createdAt, "timestamptz")
    // The bound on created_at alone is implied by the row comparison; it is what an index can seek to.
    where.push(
      `${key}created_at <= ${created}`,
      `(${key}created_at, ${key}workflow_type, ${key}instance_id) < (${created}, ${param(type, "text")}, ${param(id, "text")})`
    )
  }
  const from = byPath
    ? `${s}.instance_paths p join ${s}.instances i on i.workflow_type = p.workflow_type and i.instance_id = p.instance_id`
    : `${s}.instances`
  const text = `
    select ${listedColumns.map((column) => row + column).join(", ")}
    from ${from}
    ${where.length === 0 ? "" : `where ${where.join(" and ")}`}
    order by ${key}created_at desc, ${key}workflow_type desc, ${key}instance_id desc
    limit ${param(query.limit, "int")}`
  return { text, params }
}

/**
 * Grows the log from the seed: copies its instances — their events, instance
 * rows and pending timers — under new ids, in big set-based statements, until
 * the events table holds exactly the number of events asked for.
 *
 * What a copy keeps of the log's invariants: positions come from the table's
 * identity, in stream order; per-stream versions are the seed's (1..n); event
 * ids are new uuids; the hash chain is computed by the log's own `event_hash`
 * function, stream by stream, version by version (a recursive query: one level
 * per version, every copy of that version at once), over the copied row's
 * content and shifted `recorded_at`, so that reading a copy back verifies.
 * Parent and child links, and idempotency keys, are renamed with the ids.
 *
 * The mix: the seed's finished instances and its running ones are copied in
 * proportion, so that 90 % of the copies are finished; the running ones' timers
 * are copied pending, due from one hour to a month ahead. What is left below the
 * asked count after whole rounds is made up with copies of the seed's
 * standalone instances, largest first, and the last few events with copies of
 * the one-event filler stream.
 */
import type { Queryable } from "../../src/log/index.js"
import { fillerStream } from "./seed.js"

/** One seed instance, as the fill sees it. */
export interface Template {
  readonly stream: string
  readonly finished: boolean
  readonly events: number
  /** Has a parent or children: copied only with its family, in whole rounds. */
  readonly linked: boolean
}

/** How many copies of what: rounds of the finished and of the running templates, then single templates. */
export interface FillPlan {
  readonly finishedRounds: number
  readonly runningRounds: number
  /** Extra copies of standalone templates (the remainder), filler last. */
  readonly extra: ReadonlyArray<{ readonly stream: string; readonly copies: number }>
  readonly events: number
}

/** The share of copied instances that are finished. */
const finishedShare = 0.9

/**
 * The plan for `wanted` more events. Pure, so that a test can check its sums.
 *
 * @example
 * const plan = planFill(templates, 1_000_000 - current)
 */
export const planFill = (templates: ReadonlyArray<Template>, wanted: number): FillPlan => {
  const filler = templates.find((t) => t.stream === fillerStream)
  if (filler === undefined || filler.events !== 1) throw new Error(`the seed has no one-event filler stream ${fillerStream}`)
  const rest = templates.filter((t) => t !== filler)
  const finished = rest.filter((t) => t.finished)
  const running = rest.filter((t) => !t.finished)
  const sum = (list: ReadonlyArray<Template>) => list.reduce((total, t) => total + t.events, 0)
  // b running rounds per a finished rounds: b·R = a·F·(1 − s)/s instances.
  const runningPerFinished = running.length === 0 ? 0 : (finished.length * (1 - finishedShare)) / finishedShare / running.length
  const perRound = sum(finished) + sum(running) * runningPerFinished
  const finishedRounds = Math.max(0, Math.floor(wanted / perRound))
  const runningRounds = Math.floor(finishedRounds * runningPerFinished)
  let left = wanted - finishedRounds * sum(finished) - runningRounds * sum(running)
  const extra: Array<{ stream: string; copies: number }> = []
  for (const template of [...rest.filter((t) => !t.linked)].sort((a, b) => b.events - a.events)) {
    const copies = Math.floor(left / template.events)
    if (copies === 0) continue
    extra.push({ stream: template.stream, copies })
    left -= copies * template.events
  }
  if (left > 0) extra.push({ stream: filler.stream, copies: left })
  return { finishedRounds, runningRounds, extra, events: wanted }
}

/**
 * A UUIDv7 for time `at`, as the log gives a new event: its milliseconds in the first 48 bits, then the
 * version and random bits of a fresh UUID. The copies' ids then sort by their (shifted) time, as a log
 * written by Orrery does, and the benchmark's new events go to the end of the index.
 */
const timeOrderedId = (at: string) =>
  `(encode(substring(int8send((extract(epoch from ${at}) * 1000)::bigint) from 3 for 6), 'hex') || '7'
    || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid`

/**
 * Copies `streams` (instances of the seed) as rounds `from`..`to`: instance id
 * `x` becomes `x<suffix><n>` in round n. Three statements in one transaction.
 */
const copyRounds = (tx: Queryable, s: string, streams: ReadonlyArray<string>, suffix: string, from: number, to: number) =>
  Promise.all([
    tx.query(
      `insert into ${s}.events (stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at, hash)
      with recursive
        rounds as (select n, ((n * 9973) % 7776000) * interval '1 second' as shift from generate_series($1::int, $2::int) n),
        template as (
          select stream_id, stream_version, type, schema_version, data, metadata, recorded_at from ${s}.events
          where stream_id in (select jsonb_array_elements_text($3::text::jsonb))
        ),
        chain as (
          select r.n, r.shift, t.stream_id as source, t.stream_version, t.stream_id || $4 || r.n as stream, x.id, x.at,
            ${s}.event_hash(t.stream_id || $4 || r.n, t.stream_version, x.id, t.type, t.schema_version, t.data, t.metadata, x.at, null) as hash
          from template t cross join rounds r cross join lateral (select ${timeOrderedId("t.recorded_at - r.shift")} as id, t.recorded_at - r.shift as at) x
          where t.stream_version = 1
          union all
          select c.n, c.shift, c.source, t.stream_version, c.stream, x.id, x.at,
            ${s}.event_hash(c.stream, t.stream_version, x.id, t.type, t.schema_version, t.data, t.metadata, x.at, c.hash)
          from chain c join template t on t.stream_id = c.source and t.stream_version = c.stream_version + 1
            cross join lateral (select ${timeOrderedId("t.recorded_at - c.shift")} as id, t.recorded_at - c.shift as at) x
        )
      select c.stream, c.stream_version, c.id, t.type, t.schema_version, t.data, t.metadata, c.at, c.hash
      from chain c join template t on t.stream_id = c.source and t.stream_version = c.stream_version
      order by c.n, c.source, c.stream_version`,
      [from, to, JSON.stringify(streams), suffix]
    ),
    tx.query(
      `insert into ${s}.instances (workflow_type, instance_id, machine_version, status, state, snapshot, stream_version, inputs,
        parent, children, failure, idempotency_key, created_at, updated_at)
      select i.workflow_type, i.instance_id || $4 || r.n, i.machine_version, i.status, i.state, i.snapshot, i.stream_version, i.inputs,
        case when i.parent is null then null else i.parent || jsonb_build_object('instanceId', (i.parent->>'instanceId') || $4 || r.n) end,
        coalesce((select jsonb_object_agg(c.key, c.value || jsonb_build_object('instanceId', (c.value->>'instanceId') || $4 || r.n))
          from jsonb_each(i.children) c), '{}'::jsonb),
        i.failure, i.idempotency_key || $4 || r.n,
        i.created_at - ((r.n * 9973) % 7776000) * interval '1 second', i.updated_at - ((r.n * 9973) % 7776000) * interval '1 second'
      from ${s}.instances i cross join generate_series($1::int, $2::int) r(n)
      where i.workflow_type || '-' || i.instance_id in (select jsonb_array_elements_text($3::text::jsonb))
      order by r.n, i.workflow_type, i.instance_id`,
      [from, to, JSON.stringify(streams), suffix]
    ),
    tx.query(
      `insert into ${s}.tasks (kind, stream_id, workflow_type, instance_id, key, payload, due_at)
      select t.kind, t.stream_id || $4 || r.n, t.workflow_type, t.instance_id || $4 || r.n, t.key, t.payload,
        now() + interval '1 hour' + (r.n % 720) * interval '1 hour'
      from ${s}.tasks t cross join generate_series($1::int, $2::int) r(n)
      where t.kind = 'timer' and t.stream_id in (select jsonb_array_elements_text($3::text::jsonb))`,
      [from, to, JSON.stringify(streams), suffix]
    )
  ])

/** What a fill did. */
export interface FillResult {
  readonly events: number
  readonly seconds: number
  readonly eventsPerSecond: number
}

/** Events per statement, about: big enough to amortise, small enough to keep each transaction short. */
const batchEvents = 50_000

/**
 * Carries out `plan` on `db` in transactions of about 50,000 events,
 * interleaving finished and running rounds so that the mix holds all along the
 * log; `round` is where this fill's round numbers start (earlier fills used the
 * ones below), and `progress` hears how far it got.
 */
export const fill = async (
  db: { transaction<A>(work: (tx: Queryable) => Promise<A>): Promise<A> },
  schema: string,
  templates: ReadonlyArray<Template>,
  plan: FillPlan,
  round: number,
  progress: (line: string) => void
): Promise<FillResult> => {
  const started = performance.now()
  const finished = templates.filter((t) => t.finished && t.stream !== fillerStream)
  const running = templates.filter((t) => !t.finished && t.stream !== fillerStream)
  const perFinishedRound = finished.reduce((total, t) => total + t.events, 0)
  const step = Math.max(1, Math.floor(batchEvents / Math.max(1, perFinishedRound)))
  let runningDone = 0
  for (let done = 0; done < plan.finishedRounds; done += step) {
    const upTo = Math.min(plan.finishedRounds, done + step)
    const runningUpTo = Math.floor((plan.runningRounds * upTo) / plan.finishedRounds)
    await db.transaction(async (tx) => {
      await copyRounds(tx, schema, finished.map((t) => t.stream), ".f", round + done, round + upTo - 1)
      if (runningUpTo > runningDone) await copyRounds(tx, schema, running.map((t) => t.stream), ".r", round + runningDone, round + runningUpTo - 1)
    })
    runningDone = runningUpTo
    progress(`fill: ${upTo} of ${plan.finishedRounds} rounds (${Math.round(performance.now() - started)} ms)`)
  }
  await db.transaction(async (tx) => {
    for (const [index, { stream, copies }] of plan.extra.entries()) {
      await copyRounds(tx, schema, [stream], `.x${round}-${index}.`, 1, copies)
    }
  })
  const seconds = (performance.now() - started) / 1000
  return { events: plan.events, seconds: Math.round(seconds * 10) / 10, eventsPerSecond: Math.round(plan.events / seconds) }
}

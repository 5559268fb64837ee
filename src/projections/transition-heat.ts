/**
 * The transition heatmap's read model: how often each transition of each
 * workflow type was taken, per minute, counted from the transitions every
 * input's row records (`metadata.transitions`). An input recorded before the
 * engine recorded them counts as "unrecorded" for its type and minute, so
 * that a heatmap over an old log says how much it cannot show.
 *
 * Rows depend on the log alone (the minute is the input's recorded time), so
 * a rebuild gives the same counts. Which type a stream belongs to is read from
 * its start (stream ids join type and id with "-", and both may contain one).
 */
import { Effect } from "effect"
import { kindOf, WorkflowStarted } from "../engine/records.js"
import type { TakenTransition } from "../engine/step.js"
import { Database, fromDriver, type RecordedEvent, type StoreUnavailable } from "../log/index.js"
import { defineProjection, Projections } from "./projection.js"

/** The row types of the inputs (the rows replay folds); a failed step's input is recorded with kind "record" and is not counted. */
const inputTypes = ["workflow.started", "workflow.event_received", "activity.completed", "activity.failed", "timer.fired", "message.received"]

const isTaken = (value: unknown): value is TakenTransition =>
  Array.isArray(value) && value.length >= 2 && value.every((part) => typeof part === "string")

/** One count per target (a targetless transition counts once, with target ""), summed within the input. */
const countsOf = (transitions: ReadonlyArray<unknown>) => {
  const counts = new Map<string, { source: string; event: string; target: string; count: number }>()
  for (const transition of transitions) {
    if (!isTaken(transition)) continue
    const [source, event, ...targets] = transition
    for (const target of targets.length === 0 ? [""] : targets) {
      const key = JSON.stringify([source, event, target])
      const row = counts.get(key) ?? { source, event, target, count: 0 }
      row.count++
      counts.set(key, row)
    }
  }
  return [...counts.values()]
}

export const transitionHeatProjection = defineProjection({
  name: "transition-heat",
  types: inputTypes,
  setup: (s) => `
    create table if not exists ${s}.heat_streams (
      stream_id text primary key,
      workflow_type text not null
    );
    create table if not exists ${s}.transition_heat (
      workflow_type text not null,
      source text not null,
      event text not null,
      target text not null,
      minute timestamptz not null,
      count bigint not null,
      primary key (workflow_type, source, event, target, minute)
    );
    create table if not exists ${s}.transition_heat_unrecorded (
      workflow_type text not null,
      minute timestamptz not null,
      count bigint not null,
      primary key (workflow_type, minute)
    );`,
  reset: (s) => `delete from ${s}.heat_streams; delete from ${s}.transition_heat; delete from ${s}.transition_heat_unrecorded;`,
  apply: async (tx, s, event: RecordedEvent) => {
    if (kindOf(event) !== "input") return
    let workflowType: string | undefined
    if (event.type === WorkflowStarted.type) {
      workflowType = (event.data as { workflowType: string }).workflowType
      await tx.query(`insert into ${s}.heat_streams (stream_id, workflow_type) values ($1, $2) on conflict do nothing`, [event.streamId, workflowType])
    } else {
      const [row] = await tx.query<{ workflow_type: string }>(`select workflow_type from ${s}.heat_streams where stream_id = $1`, [event.streamId])
      workflowType = row?.workflow_type
    }
    // A stream whose start is not in the log (imported from elsewhere without it) has no type to count under.
    if (workflowType === undefined) return
    const at = event.recordedAt.toISOString()
    const transitions = event.metadata.transitions
    if (!Array.isArray(transitions)) {
      await tx.query(
        `insert into ${s}.transition_heat_unrecorded (workflow_type, minute, count) values ($1, date_trunc('minute', $2::timestamptz), 1)
         on conflict (workflow_type, minute) do update set count = ${s}.transition_heat_unrecorded.count + 1`,
        [workflowType, at]
      )
      return
    }
    const counts = countsOf(transitions)
    if (counts.length === 0) return
    await tx.query(
      `insert into ${s}.transition_heat (workflow_type, source, event, target, minute, count)
       select $1::text, r.source, r.event, r.target, date_trunc('minute', $2::timestamptz), r.count
       from jsonb_to_recordset($3::text::jsonb) as r(source text, event text, target text, count int)
       on conflict (workflow_type, source, event, target, minute) do update set count = ${s}.transition_heat.count + excluded.count`,
      [workflowType, at, JSON.stringify(counts)]
    )
  }
})

/** How far back a heatmap looks: the last hour, the last day, or the whole log. */
export type HeatWindow = "hour" | "day" | "all"

export const heatWindows: ReadonlyArray<HeatWindow> = ["hour", "day", "all"]

const intervalOf: Record<HeatWindow, string | null> = { hour: "1 hour", day: "1 day", all: null }

export interface TransitionHeat {
  readonly source: string
  readonly event: string
  /** Null for a targetless transition. */
  readonly target: string | null
  readonly count: number
}

export interface Heat {
  readonly transitions: ReadonlyArray<TransitionHeat>
  /** Inputs in the window recorded before the engine recorded their transitions. */
  readonly unrecorded: number
  /** Where the window begins (the minute), or null for the whole log. */
  readonly since: string | null
}

/**
 * A type's transition counts over a window, most taken first; all zero where
 * the read model has no tables yet (no process has run it on this database).
 *
 * @example
 * const heat = yield* transitionHeat("order", "hour")
 * heat.transitions // [{ source: "order.awaitingPayment", event: "PAY", target: "order.paid", count: 12 }, …]
 */
export const transitionHeat = (workflowType: string, window: HeatWindow): Effect.Effect<Heat, StoreUnavailable, Database | Projections> =>
  Effect.gen(function*() {
    const db = yield* Database
    const { schema: s } = yield* Projections
    const interval = intervalOf[window]
    return yield* fromDriver(db, async () => {
      const [since] = await db.query<{ since: Date | string | null; present: boolean }>(
        `select case when $1::text is null then null else date_trunc('minute', now() - $1::text::interval) end as since,
                to_regclass($2) is not null as present`,
        [interval, `${s}.transition_heat`]
      )
      const sinceIso = since?.since == null ? null : new Date(since.since).toISOString()
      if (since?.present !== true) return { transitions: [], unrecorded: 0, since: sinceIso }
      const rows = await db.query<{ source: string; event: string; target: string; count: string | number }>(
        `select source, event, target, sum(count)::bigint as count from ${s}.transition_heat
         where workflow_type = $1 and ($2::timestamptz is null or minute >= $2::timestamptz)
         group by source, event, target order by count desc, source, event, target`,
        [workflowType, sinceIso]
      )
      const [unrecorded] = await db.query<{ count: string | number | null }>(
        `select sum(count)::bigint as count from ${s}.transition_heat_unrecorded
         where workflow_type = $1 and ($2::timestamptz is null or minute >= $2::timestamptz)`,
        [workflowType, sinceIso]
      )
      return {
        transitions: rows.map((row) => ({ source: row.source, event: row.event, target: row.target === "" ? null : row.target, count: Number(row.count) })),
        unrecorded: Number(unrecorded?.count ?? 0),
        since: sinceIso
      }
    })
  })

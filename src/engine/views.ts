/**
 * What callers of the engine see and pass: an instance as a view, its history,
 * its pending tasks, the workers, the census of states — and the options every
 * call takes. Plain shapes and the two functions that build views from rows;
 * the HTTP API, the client and the inspector all speak these.
 */
import type { AnyMachineSnapshot } from "xstate"
import type { EventMetadata, RecordedEvent } from "../log/index.js"
import type { DeterminismError } from "./errors.js"
import * as R from "./records.js"
import type { ReplayedStep } from "./replay.js"
import type { CorruptionMark, InstanceRow, InstanceStatus, ParentLink, TaskKind } from "./store.js"

// ---------------------------------------------------------------------------
// What a call passes

export interface CallOptions {
  readonly correlationId?: string
  readonly actor?: string
}

export interface StartOptions extends CallOptions {
  /** The instance's id; a fresh UUIDv7 (time-ordered) when not given. */
  readonly id?: string
  readonly idempotencyKey?: string
}

export interface ListFilter {
  readonly type?: string
  readonly status?: InstanceStatus
  /**
   * A state, as its path of keys from the top joined by dots: \`payment\` (a top-level state, or a
   * top-level region's key), \`payment.authorizing\` (a state inside it, at any depth). An instance
   * in \`{"payment": {"authorizing": "pending"}}\` is in \`payment\`, \`payment.authorizing\` and
   * \`payment.authorizing.pending\`.
   */
  readonly state?: string
  /** Only instances that last moved before this time (ISO 8601): "in its state for more than N minutes". */
  readonly updatedBefore?: string
  /** The instance with this id (of any type, unless \`type\` is given). */
  readonly id?: string
  /** Instances whose id begins with this. */
  readonly idPrefix?: string
  readonly limit?: number
  readonly cursor?: string
}

// ---------------------------------------------------------------------------
// What a call answers

export interface InstanceView {
  readonly id: string
  readonly type: string
  readonly machineVersion: number
  readonly status: InstanceStatus
  readonly state: unknown
  readonly context: unknown
  readonly streamVersion: number
  readonly output?: unknown
  readonly failure?: unknown
  /** Where its history was found broken; while set, the instance refuses inputs (verify it once repaired). */
  readonly corrupted?: CorruptionMark
  readonly children: InstanceRow["children"]
  readonly parent?: ParentLink
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface HistoryEntry {
  readonly eventId: string
  readonly position: number
  readonly streamVersion: number
  readonly kind: R.EntryKind
  readonly type: string
  readonly data: unknown
  readonly metadata: EventMetadata
  readonly time: Date
  /** The worker that ran an activity attempt (activity results and failed attempts); absent in older histories. */
  readonly worker?: string
}

/** A worker as the workers table knows it: alive or not, and what it has run. */
export interface WorkerView {
  readonly id: string
  readonly startedAt: Date
  readonly lastSeen: Date
  /** It beat lately and has not stopped. */
  readonly up: boolean
  /** Tasks it ran, by kind and outcome ("activity:completed", "timer:done", …), as of its last beat. */
  readonly counts: Readonly<Record<string, number>>
}

export interface StateCount {
  readonly machineVersion: number
  readonly status: InstanceStatus
  readonly state: unknown
  readonly count: number
}

export interface InstanceReplay {
  /** The version the instance runs on, and the one it was replayed against. */
  readonly recordedVersion: number
  readonly machineVersion: number
  /** Every step that replayed as recorded; with a divergence, the steps before it. */
  readonly steps: ReadonlyArray<ReplayedStep>
  readonly divergence: DeterminismError | null
}

export interface TaskCount {
  readonly kind: TaskKind
  readonly scheduled: number
  readonly due: number
  readonly late: number
  readonly leased: number
}

export interface PendingTask {
  readonly kind: TaskKind
  readonly key: string
  readonly payload: unknown
  readonly dueAt: Date
  /** The worker holding it now, and until when; null when nobody does. */
  readonly lockedBy: string | null
  readonly leasedUntil: Date | null
  readonly attempts: number
  /**
   * An activity the circuit of its dependency refused (no attempt spent): it waits for that
   * circuit, and is tried again when the circuit lets a trial call through, at `trialAt` at the latest.
   */
  readonly waitingFor?: { readonly circuit: string; readonly trialAt: Date }
}

/** What a pending task waits for, in words: `waiting for the payments circuit, trial at 12:00:03`. */
export const waitingText = (waitingFor: { readonly circuit: string; readonly trialAt: Date }, time: (at: Date) => string = (at) => at.toISOString()) =>
  `waiting for the ${waitingFor.circuit} circuit, trial at ${time(waitingFor.trialAt)}`

// ---------------------------------------------------------------------------
// Building views

/**
 * An instance row as callers see it. The live snapshot, when there is one,
 * wins over the row's stored one: the row's is only as fresh as its last write.
 *
 * @example
 * const view = viewOf(row, undefined) // from the database alone, as `list` does
 */
export const viewOf = (row: InstanceRow, snapshot: AnyMachineSnapshot | undefined): InstanceView => ({
  id: row.instance_id,
  type: row.workflow_type,
  machineVersion: row.machine_version,
  status: row.status,
  state: row.state,
  context: snapshot?.context ?? row.snapshot?.context,
  streamVersion: row.stream_version,
  ...(snapshot?.status === "done" || row.snapshot?.status === "done" ? { output: snapshot?.output ?? row.snapshot?.output } : {}),
  ...(row.failure === null || row.failure === undefined ? {} : { failure: row.failure }),
  ...(row.corrupted === null || row.corrupted === undefined ? {} : { corrupted: row.corrupted }),
  children: row.children ?? {},
  ...(row.parent === null ? {} : { parent: row.parent }),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

/**
 * An event of an instance's stream as its history shows it: the worker of an activity attempt named beside its data.
 *
 * @example
 * const entries = (yield* log.readStream(streamOf("order", "o-1"))).map(historyEntryOf)
 */
export const historyEntryOf = (event: RecordedEvent): HistoryEntry => {
  const worker = R.workerOf(event)
  return {
    eventId: event.eventId,
    position: event.position,
    streamVersion: event.streamVersion,
    kind: R.kindOf(event),
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    time: event.recordedAt,
    ...(worker === undefined ? {} : { worker })
  }
}

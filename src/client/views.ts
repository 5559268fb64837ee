/**
 * The API's JSON back into the shapes the engine answers in-process: times
 * arrive as ISO strings and leave as `Date`s, a replay's divergence as the
 * engine's `DeterminismError`. The HTTP client and the in-process one thus
 * give callers the same values. The error classes are loaded when first
 * needed: they stand on effect's Schema, which a short-lived caller (a CLI
 * `list`) should not wait for when every answer is a success.
 */
import type { HistoryEntry, PendingTask } from "../engine/views.js"
import type { ReplayStepView, ReplayView, WorkflowView } from "./types.js"

type Json = Record<string, any>

const date = (value: unknown): Date => new Date(value as string)
const optionalDate = (value: unknown): Date | null => (value === null || value === undefined ? null : date(value))

export const toView = <D>(json: Json): WorkflowView<D> =>
  ({ ...json, children: json.children ?? {}, createdAt: date(json.createdAt), updatedAt: date(json.updatedAt) }) as WorkflowView<D>

export const toHistoryEntry = (json: Json): HistoryEntry => ({ ...json, time: date(json.time) }) as HistoryEntry

export const toPendingTask = (json: Json): PendingTask =>
  ({
    ...json,
    dueAt: date(json.dueAt),
    leasedUntil: optionalDate(json.leasedUntil),
    ...(json.waitingFor === undefined || json.waitingFor === null ? {} : { waitingFor: { circuit: json.waitingFor.circuit, trialAt: date(json.waitingFor.trialAt) } })
  }) as PendingTask

export const toReplay = async (json: Json): Promise<ReplayView> => ({
  recordedVersion: json.recordedVersion,
  machineVersion: json.machineVersion,
  steps: (json.steps as ReadonlyArray<Json>).map((step) => ({ ...step, input: toHistoryEntry(step.input) }) as ReplayStepView),
  divergence:
    json.divergence === null || json.divergence === undefined
      ? null
      : new (await import("../engine/errors.js")).DeterminismError({ step: json.divergence.step, streamVersion: json.divergence.streamVersion, expected: json.divergence.expected, actual: json.divergence.actual })
})

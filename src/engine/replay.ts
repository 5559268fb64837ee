/**
 * Replay: the fold of the machine's pure transition over an instance's
 * recorded inputs. Each step re-derives the state and the domain events and
 * compares them with what was recorded; the first difference is a
 * DeterminismError naming the step. Run it against the machine the instance
 * ran on to check the log, or against a changed machine before deploying it.
 */
import { Result } from "effect"
import type { AnyMachineSnapshot, AnyStateMachine } from "xstate"
import type { RecordedEvent } from "../log/index.js"
import { DeterminismError } from "./errors.js"
import { restoreSnapshot } from "./pure.js"
import { WorkflowStarted, kindOf, machineEventOf } from "./records.js"
import { type Invocables, type MachineEvent, nextStep, startStep } from "./step.js"

export interface ReplayedStep {
  readonly step: number
  readonly streamVersion: number
  readonly input: RecordedEvent
  readonly state: unknown
  readonly context: unknown
  readonly emitted: ReadonlyArray<MachineEvent>
}

export interface Replayed {
  readonly steps: ReadonlyArray<ReplayedStep>
  readonly snapshot: AnyMachineSnapshot | undefined
}

export interface ReplayOptions {
  /** Start from a saved snapshot (its stream version and persisted state) instead of the first input. */
  readonly from?: { readonly streamVersion: number; readonly state: unknown }
  /** How invokes are told apart; replay only needs the step to succeed, so anything named counts. */
  readonly invocables?: Invocables
  /** Keep every step (for time travel); off, only the final snapshot is kept. */
  readonly keepSteps?: boolean
}

const anything: Invocables = { isActivity: () => true, isWorkflow: () => false }

/** Order-insensitive for object keys, so that JSON read back from jsonb compares equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v
  )

const domainPayload = (event: RecordedEvent): MachineEvent => ({ type: event.type, ...(event.data as Record<string, unknown>) })

export const replay = (
  history: ReadonlyArray<RecordedEvent>,
  machine: AnyStateMachine,
  options: ReplayOptions = {}
): Result.Result<Replayed, DeterminismError> => {
  const invocables = options.invocables ?? anything
  const from = options.from
  let snapshot = from === undefined ? undefined : restoreSnapshot(machine, from.state)
  const steps: Array<ReplayedStep> = []
  const ordered = [...history].sort((a, b) => a.streamVersion - b.streamVersion)
  // Domain events by the input that caused them.
  const emittedBy = new Map<string, Array<MachineEvent>>()
  for (const event of ordered) {
    if (kindOf(event) !== "domain") continue
    const cause = event.metadata.causationId
    if (typeof cause !== "string") continue
    const list = emittedBy.get(cause) ?? []
    list.push(domainPayload(event))
    emittedBy.set(cause, list)
  }

  let step = 0
  for (const input of ordered) {
    if (kindOf(input) !== "input" || (from !== undefined && input.streamVersion <= from.streamVersion)) continue
    step++
    const mismatch = (expected: unknown, actual: unknown) =>
      Result.fail(new DeterminismError({ step, streamVersion: input.streamVersion, expected, actual }))
    let next: { snapshot: AnyMachineSnapshot; emitted: ReadonlyArray<MachineEvent> } | undefined
    try {
      if (input.type === WorkflowStarted.type) {
        next = startStep(machine, (input.data as { input: unknown }).input, invocables)
      } else {
        const event = machineEventOf(input)
        if (snapshot === undefined || event === undefined) return mismatch({ input: input.type }, { error: "no state to apply this input to" })
        next = nextStep(machine, snapshot, event, invocables)
      }
    } catch (error) {
      return mismatch({ state: input.metadata.state }, { error: error instanceof Error ? error.message : String(error) })
    }
    if (next === undefined) return mismatch({ state: input.metadata.state }, { error: `the machine no longer accepts ${input.type} here` })
    if ("state" in input.metadata && canonical(input.metadata.state) !== canonical(next.snapshot.value)) {
      return mismatch({ state: input.metadata.state }, { state: next.snapshot.value })
    }
    const recorded = emittedBy.get(input.eventId) ?? []
    if (canonical(recorded) !== canonical(next.emitted)) return mismatch({ emitted: recorded }, { emitted: next.emitted })
    snapshot = next.snapshot
    if (options.keepSteps === true) {
      steps.push({ step, streamVersion: input.streamVersion, input, state: snapshot.value, context: snapshot.context, emitted: next.emitted })
    }
  }
  return Result.succeed({ steps, snapshot })
}

/** Every step that replays as recorded, and where (if anywhere) the replay departs. */
export interface ReplayedSteps {
  readonly steps: ReadonlyArray<ReplayedStep>
  readonly divergence: DeterminismError | null
}

/** `replay` keeping every step; on a departure, the steps before it (the same fold over the history recorded before it). */
export const replaySteps = (
  history: ReadonlyArray<RecordedEvent>,
  machine: AnyStateMachine,
  options: Omit<ReplayOptions, "keepSteps"> = {}
): ReplayedSteps => {
  const replayed = replay(history, machine, { ...options, keepSteps: true })
  if (Result.isSuccess(replayed)) return { steps: replayed.success.steps, divergence: null }
  const divergence = replayed.failure
  const before = replay(history.filter((event) => event.streamVersion < divergence.streamVersion), machine, { ...options, keepSteps: true })
  return { steps: Result.isSuccess(before) ? before.success.steps : [], divergence }
}

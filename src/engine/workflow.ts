/**
 * Declaring a workflow: an ordinary XState machine, the schemas of what it
 * accepts and emits, and the Effect programs behind the activities it invokes.
 */
import { type Duration, type Effect, Schedule, Schema } from "effect"
import { type AnyStateMachine, fromPromise } from "xstate"
import type { EventType, PayloadSchema } from "../log/index.js"

/** What an activity's program learns about the run it serves. */
export interface ActivityRun {
  /** Stable across retries, restarts and workers: `<type>/<instance>/<activity id>`. Give it to the outside world. */
  readonly idempotencyKey: string
  readonly attempt: number
  readonly workflowType: string
  readonly instanceId: string
}

export interface ActivityDefinition<R = never> {
  /** The program: the invoke's input in, an output (or a typed error) out. */
  readonly run: (input: any, run: ActivityRun) => Effect.Effect<unknown, unknown, R>
  /** Encodes the output for the log and the machine (default: the output must already be JSON). */
  readonly output?: PayloadSchema
  /** Encodes a typed error for the log and the machine (default: `_tag` and `message`). */
  readonly error?: PayloadSchema
  /** Retry on failure; default exponential from 200 ms with jitter, 5 attempts in all. */
  readonly retry?: Schedule.Schedule<unknown, unknown>
  /** Per attempt. */
  readonly timeout?: Duration.Input
  /** Error tags that are final at once: declined payments are not retried. */
  readonly nonRetryable?: ReadonlyArray<string>
  /** Name of the outside dependency, for its circuit breaker (default: the activity's src). */
  readonly dependency?: string
}

export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.max([
  Schedule.exponential("200 millis").pipe(Schedule.jittered),
  Schedule.recurs(4)
]) as Schedule.Schedule<unknown, unknown>

export const defineActivity = <R = never>(definition: ActivityDefinition<R>): ActivityDefinition<R> => definition

/**
 * The actor a machine names in `setup({ actors })` for an activity: XState needs
 * logic to type the invoke; Orrery's workers run the real program, so this one
 * never runs inside the engine (tests swap it with `machine.provide`).
 */
export const activityLogic = <Input = unknown, Output = unknown>() =>
  fromPromise<Output, Input>(async () => {
    throw new Error("this activity runs in Orrery's workers, not in XState")
  })

export interface WorkflowEvents {
  /** The start input; validated before anything is written. */
  readonly input: PayloadSchema
  /** The events a client may send, by type: payload schemas without the `type` field. */
  readonly accepts: Readonly<Record<string, PayloadSchema>>
  /** The domain events the machine emits with `emit(...)`. */
  readonly emits: ReadonlyArray<EventType>
}

export interface WorkflowDefinition<R = never> {
  readonly type: string
  readonly version: number
  readonly kind: "aggregate" | "saga"
  readonly machine: AnyStateMachine
  readonly events: WorkflowEvents
  /** Keyed by the invoke `src` they serve. */
  readonly activities: Readonly<Record<string, ActivityDefinition<R>>>
  /** Save a full snapshot every N inputs (default 50) so that replays start near the end. */
  readonly snapshotEvery?: number
}

/** An aggregate that invokes nothing may leave `activities` out. */
export const defineWorkflow = <R = never>(
  definition: Omit<WorkflowDefinition<R>, "activities"> & { readonly activities?: WorkflowDefinition<R>["activities"] }
): WorkflowDefinition<R> => ({ ...definition, activities: definition.activities ?? {} })

/** The services the activities of these workflows need. */
export type WorkflowRequirements<W> = W extends WorkflowDefinition<infer R> ? R : never

/** Workflow types and instance ids become stream names: keep them to safe characters. */
export const identifierSchema = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, {
    message: "must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
  })
)

export const isIdentifier = (text: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(text)

export const streamOf = (workflowType: string, instanceId: string) => `${workflowType}-${instanceId}`

/**
 * Declaring a workflow: an ordinary XState machine, the schemas of what it
 * accepts and emits, and the Effect programs behind the activities it invokes.
 */
import { type Duration, type Effect, Schedule, Schema } from "effect"
import { type AnyStateMachine, type ContextFrom, type OutputFrom, fromPromise } from "xstate"
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

/**
 * What a workflow's definition tells its callers at compile time: its type
 * name, what starting it takes, the events it accepts, its context and output.
 * Inputs and events are the schemas' encoded (JSON) side: what a client sends.
 */
export interface WorkflowTypes {
  readonly type: string
  readonly input: unknown
  readonly event: { readonly type: string }
  readonly context: unknown
  readonly output: unknown
}

export interface WorkflowDefinition<R = never, T extends WorkflowTypes = WorkflowTypes> {
  readonly type: T["type"]
  readonly version: number
  readonly kind: "aggregate" | "saga"
  readonly machine: AnyStateMachine
  readonly events: WorkflowEvents
  /** Keyed by the invoke `src` they serve. */
  readonly activities: Readonly<Record<string, ActivityDefinition<R>>>
  /** Save a full snapshot every N inputs (default 50) so that replays start near the end. */
  readonly snapshotEvery?: number
  /** Types only, for clients and the test kit; never present at run time. */
  readonly "~types"?: T
}

/** Any workflow definition, whatever its services and types. */
export type AnyWorkflow = WorkflowDefinition<any, any>

/** The `{ type, ...payload }` union of the events a workflow accepts, from its `accepts` schemas. */
export type AcceptedEvent<Accepts extends Readonly<Record<string, PayloadSchema>>> = {
  readonly [K in keyof Accepts & string]: { readonly type: K } & Accepts[K]["Encoded"]
}[keyof Accepts & string]

/** The services a set of activities needs, together. */
export type ActivitiesRequirements<A> = {
  readonly [K in keyof A]: A[K] extends ActivityDefinition<infer R> ? R : never
}[keyof A]

/** The compile-time types of a workflow definition. */
export type TypesOf<W> = W extends WorkflowDefinition<any, infer T> ? T : never
/** The type name of a workflow definition, e.g. `"signup"`. */
export type WorkflowTypeName<W> = TypesOf<W>["type"]
/** What starting the workflow takes (the input schema's encoded side). */
export type WorkflowInput<W> = TypesOf<W>["input"]
/** The events a client may send the workflow. */
export type WorkflowEvent<W> = TypesOf<W>["event"]
/** The machine's context. */
export type WorkflowContext<W> = TypesOf<W>["context"]
/** The machine's output when it reaches a final state. */
export type WorkflowOutput<W> = TypesOf<W>["output"]

/**
 * Declares a workflow: an ordinary XState machine, the schemas of its start
 * input, of the events clients may send and of the domain events it emits, and
 * the activities it invokes. The result carries the machine's types, so that a
 * typed client refuses a wrong input or event at compile time.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { setup } from "xstate"
 * import { defineWorkflow } from "orrery"
 *
 * const machine = setup({
 *   types: {} as { context: { email: string }; input: { email: string }; events: { type: "CONFIRM"; code: string } }
 * }).createMachine({
 *   context: ({ input }) => ({ email: input.email }),
 *   initial: "waiting",
 *   states: { waiting: { on: { CONFIRM: "confirmed" } }, confirmed: { type: "final" } }
 * })
 *
 * export const signup = defineWorkflow({
 *   type: "signup",
 *   version: 1,
 *   kind: "saga",
 *   machine,
 *   events: {
 *     input: Schema.Struct({ email: Schema.String }),
 *     accepts: { CONFIRM: Schema.Struct({ code: Schema.String }) },
 *     emits: []
 *   }
 * })
 * ```
 */
export const defineWorkflow = <
  const Type extends string,
  Machine extends AnyStateMachine,
  Input extends PayloadSchema,
  const Accepts extends Readonly<Record<string, PayloadSchema>>,
  const Activities extends Readonly<Record<string, ActivityDefinition<any>>> = {}
>(definition: {
  readonly type: Type
  readonly version: number
  readonly kind: "aggregate" | "saga"
  readonly machine: Machine
  readonly events: { readonly input: Input; readonly accepts: Accepts; readonly emits: ReadonlyArray<EventType> }
  /** An aggregate that invokes nothing may leave it out. */
  readonly activities?: Activities
  readonly snapshotEvery?: number
}): WorkflowDefinition<
  ActivitiesRequirements<Activities>,
  {
    readonly type: Type
    readonly input: Input["Encoded"]
    readonly event: AcceptedEvent<Accepts>
    readonly context: ContextFrom<Machine>
    readonly output: OutputFrom<Machine>
  }
> => ({ ...definition, activities: (definition.activities ?? {}) as Readonly<Record<string, ActivityDefinition<any>>> })

/** The services the activities of these workflows need. */
export type WorkflowRequirements<W> = W extends WorkflowDefinition<infer R, any> ? R : never

/** Workflow types and instance ids become stream names: keep them to safe characters. */
export const identifierSchema = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, {
    message: "must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
  })
)

export const isIdentifier = (text: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(text)

export const streamOf = (workflowType: string, instanceId: string) => `${workflowType}-${instanceId}`

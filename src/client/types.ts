/**
 * What every Orrery client offers, whether it talks to a server over HTTP
 * (`createClient` in `orrery/client`) or to an engine in the same process
 * (`createOrrery`, and the test kit's `t.client`): start an instance, take a
 * handle on one, and list them. Types flow from the workflow definitions: made
 * as `createClient<typeof workflows>`, a wrong type name, input or event is a
 * compile error; given a definition itself (`client.start(signup, input)`),
 * the input is typed with no type parameter at all.
 */
import type { HistoryEntry, InstanceView, ListFilter, PendingTask } from "../engine/views.js"
import type { DeterminismError } from "../engine/errors.js"
import type { AnyWorkflow, WorkflowContext, WorkflowEvent, WorkflowInput, WorkflowOutput, WorkflowTypeName } from "../engine/workflow.js"

/** `typeof workflows` may be an array of definitions or a union of them; both name the same set. */
export type WorkflowsOf<W> = W extends ReadonlyArray<infer Each> ? Each : W

/**
 * The type names a client takes: those of `W`, or any string when the client
 * is untyped (then `W`'s names are `any`, which would let a definition object
 * pass for a name and lose its types).
 */
export type TypeNameOf<W> = [WorkflowTypeName<WorkflowsOf<W>>] extends [infer Name]
  ? 0 extends 1 & Name // Name is any
    ? string
    : Name & string
  : never

/** The definition among `W` whose type name is `T` (any definition when the client is untyped). */
export type WorkflowNamed<W, T extends string> = Extract<WorkflowsOf<W>, { readonly type: T }> extends never
  ? AnyWorkflow
  : Extract<WorkflowsOf<W>, { readonly type: T }>

/** An instance as a client sees it: its context and output typed by its definition. */
export type WorkflowView<D = AnyWorkflow> = Omit<InstanceView, "context" | "output"> & {
  readonly context: WorkflowContext<D>
  /** Present once the instance is done: the machine's output. */
  readonly output?: WorkflowOutput<D>
}

export interface CallOptions {
  /** Carried in the metadata of everything the call records (default: a fresh id per request). */
  readonly correlationId?: string
}

export interface StartOptions extends CallOptions {
  /** The instance id (1-128 letters, digits, `_`, `.`, `:` or `-`); default a fresh UUID. */
  readonly id?: string
  /** Starting twice with the same key gives back the first instance instead of a second one. */
  readonly idempotencyKey?: string
}

export interface ResultOptions {
  /** How long to wait for a final state: milliseconds, or `"30s"`, `"5m"`, `"1h"` (default 30s). */
  readonly timeout?: number | string
}

/** One page of instances, newest first; pass `nextCursor` back as `cursor` for the next page. */
export interface InstancePage {
  readonly items: ReadonlyArray<WorkflowView>
  readonly nextCursor: string | null
}

/** One step of a replay: the recorded input, and the state, context and domain events after it. */
export interface ReplayStepView {
  readonly step: number
  readonly streamVersion: number
  /** The input as `history()` lists it. */
  readonly input: HistoryEntry
  readonly state: unknown
  readonly context: unknown
  readonly emitted: ReadonlyArray<{ readonly type: string; readonly [key: string]: unknown }>
}

/** An instance's history folded through its machine (or another registered version of its type). */
export interface ReplayView {
  /** The version the instance runs on, and the one it was replayed against. */
  readonly recordedVersion: number
  readonly machineVersion: number
  /** Every step that replayed as recorded; with a divergence, the steps before it. */
  readonly steps: ReadonlyArray<ReplayStepView>
  /** Where the replay departed from the recorded history, or null. */
  readonly divergence: DeterminismError | null
}

/** A handle on one instance: everything a caller can do with it. */
export interface WorkflowHandle<D = AnyWorkflow> {
  readonly type: string
  readonly id: string
  /** Sends an event; answers the instance as the event left it. Refused with `EventNotAccepted` where its state takes no such event. */
  send(event: WorkflowEvent<D>, options?: CallOptions): Promise<WorkflowView<D>>
  /** The instance now: status, state, context, version. */
  get(): Promise<WorkflowView<D>>
  /**
   * Waits for a final state: the output when done; rejects with
   * `WorkflowFailed` or `WorkflowCancelled`, or `ResultTimeout` when the time runs out first.
   */
  result(options?: ResultOptions): Promise<WorkflowOutput<D>>
  /** Cancels it (and its children); the reason is recorded in its history. */
  cancel(reason?: string, options?: CallOptions): Promise<WorkflowView<D>>
  /** Runs a failed instance's activity again, with the same idempotency key. */
  retry(options?: CallOptions): Promise<WorkflowView<D>>
  /**
   * Reads its history back against the hash chain. Whole, clears a `corrupted` mark (the rows
   * were restored) so it takes inputs again; broken, rejects with the `IntegrityError` naming where.
   */
  verify(): Promise<WorkflowView<D>>
  /** Every input, domain event and record, in order. */
  history(): Promise<ReadonlyArray<HistoryEntry>>
  /** What it waits on: activities in flight, timers pending, and the worker holding each. */
  pending(): Promise<ReadonlyArray<PendingTask>>
  /** Its history folded through its machine again (or another registered version): the state after every step. */
  replay(options?: { readonly version?: number }): Promise<ReplayView>
}

/** A handle as `start` returns it: also says whether this call created the instance. */
export interface StartedHandle<D = AnyWorkflow> extends WorkflowHandle<D> {
  /** False when an idempotency key found the instance a previous start made. */
  readonly created: boolean
  /** The instance right after its start. */
  readonly instance: WorkflowView<D>
}

export interface OrreryClient<W = AnyWorkflow> {
  /** Starts an instance of a workflow type by its name. */
  start<const T extends TypeNameOf<W>>(
    type: T,
    input: WorkflowInput<WorkflowNamed<W, T>>,
    options?: StartOptions
  ): Promise<StartedHandle<WorkflowNamed<W, T>>>
  /** Starts an instance of this workflow definition: its input is typed by the definition. */
  start<D extends AnyWorkflow>(workflow: D, input: WorkflowInput<D>, options?: StartOptions): Promise<StartedHandle<D>>
  /** A handle on an existing instance (nothing is read until you call it). */
  handle<const T extends TypeNameOf<W>>(type: T, id: string): WorkflowHandle<WorkflowNamed<W, T>>
  handle<D extends AnyWorkflow>(workflow: D, id: string): WorkflowHandle<D>
  /** Instances, newest first, filtered by type, status or state; paged by cursor. */
  list(filter?: ListFilter): Promise<InstancePage>
}

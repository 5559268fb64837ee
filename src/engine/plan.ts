/**
 * The planning of a step, as plain functions (Emmett's `decide`, XState's
 * `transition`): given the loaded instance, its workflow definition, the input
 * and the time, say what to write — the events, the new snapshot and status,
 * the tasks to schedule and to cancel. Nothing here reads or writes the
 * database or the clock; the stepper loads, calls these, and writes the plan.
 *
 * `step.ts` takes the machine's transition and names its effects; this module
 * turns those effects into rows. Which worker a task is leased to is not
 * decided here (it depends on the live workers): a task only says whether a
 * worker in this process may take it at once (`local`).
 */
import { Result, Schema } from "effect"
import type { AnyMachineSnapshot } from "xstate"
import { type EventMetadata, InvalidEvent, type NewEvent, describeIssue, encodePayload } from "../log/index.js"
import * as R from "./records.js"
import { type Invocables, type MachineEvent, type Step, type StepEffect, UnsupportedAction, nextStep, startStep, takenTransitions } from "./step.js"
import type { InstanceRow, InstanceStatus, ParentLink, TaskKind } from "./store.js"
import type { TaskPayload } from "./task-payloads.js"
import type { CallOptions } from "./views.js"
import { type WorkflowDefinition, streamOf } from "./workflow.js"

// ---------------------------------------------------------------------------
// What goes in

/** What drives an instance, besides its start. */
export type Input =
  | { readonly kind: "event"; readonly event: MachineEvent }
  | {
      readonly kind: "activity"
      readonly activityId: string
      readonly src: string
      readonly ok: boolean
      readonly value: unknown
      readonly attempts: number
      readonly durationMs: number
      readonly worker: string
      /** The activity's own input, kept with a failure so that `retry` can run it again. */
      readonly activityInput?: unknown
    }
  | { readonly kind: "timer"; readonly timerId: string; readonly event: MachineEvent; readonly dueAt: string }
  | { readonly kind: "message"; readonly from: string; readonly event: MachineEvent }

/** An instance as a step sees it: its row, the definition of its version and its live snapshot. */
export interface Loaded {
  readonly row: InstanceRow
  readonly definition: WorkflowDefinition<any>
  readonly snapshot: AnyMachineSnapshot
}

// ---------------------------------------------------------------------------
// What comes out

interface PlannedTaskOf<K extends TaskKind> {
  readonly kind: K
  readonly stream_id: string
  readonly workflow_type: string
  readonly instance_id: string
  readonly key: string
  readonly payload: TaskPayload<K>
  readonly due_at: string | null
  readonly local: boolean
}

/** A task to add, its payload typed by its kind; `local` when a worker in this process may take it at once (timers wait for their time). */
export type PlannedTask = { readonly [K in TaskKind]: PlannedTaskOf<K> }[TaskKind]

/** Everything one write does to an instance: append, move its row, cancel and add tasks. */
export interface Plan {
  readonly events: ReadonlyArray<NewEvent>
  readonly status: InstanceStatus
  readonly snapshot: AnyMachineSnapshot
  readonly failure: unknown
  readonly children: InstanceRow["children"]
  readonly inputs: number
  readonly cancel: ReadonlyArray<{ readonly kind: string; readonly key: string }>
  readonly tasks: ReadonlyArray<PlannedTask>
  readonly dropAllTasks: boolean
}

/** What an input does to an instance. */
export type Decision =
  /** The machine took it: write the plan. */
  | { readonly _tag: "Stepped"; readonly plan: Plan }
  /** The machine could not take the step (it threw, an activity error nobody handles): write the failure. */
  | { readonly _tag: "Failed"; readonly plan: Plan }
  /** The current state has no transition for it: write nothing. */
  | { readonly _tag: "NotAccepted" }

export const finalStatuses: ReadonlySet<InstanceStatus> = new Set(["done", "failed", "cancelled"])

// ---------------------------------------------------------------------------
// Deciding an input

/**
 * What an input does to a loaded instance at time `now` (epoch ms).
 *
 * @example
 * const decision = decide(loaded, { kind: "event", event: { type: "PAY" } }, {}, Date.now(), invocables)
 * if (decision._tag !== "NotAccepted") yield* write(loaded, decision.plan)
 */
export const decide = (loaded: Loaded, input: Input, call: CallOptions, now: number, invocables: Invocables): Decision => {
  let step: Step | undefined
  let thrown: unknown
  try {
    step = nextStep(loaded.definition.machine, loaded.snapshot, machineEventOf(input), invocables)
  } catch (error) {
    thrown = error
  }
  if (thrown === undefined && step === undefined) return { _tag: "NotAccepted" }
  const inputEvent = inputEventOf(input, call, step === undefined ? {} : afterStep(step), now)
  if (thrown !== undefined || step!.snapshot.status === "error") {
    return { _tag: "Failed", plan: failurePlan(loaded, input, inputEvent, thrown ?? step!.snapshot.error, call) }
  }
  try {
    return { _tag: "Stepped", plan: stepPlan(loaded, step!, inputEvent, call, input.kind === "timer" ? input.timerId : undefined, now) }
  } catch (error) {
    // An undeclared or invalid emit, an effect the engine cannot run durably: the instance fails.
    return { _tag: "Failed", plan: failurePlan(loaded, input, inputEvent, error, call) }
  }
}

/**
 * The first step of a new instance: its start input recorded and the effects of its initial state planned.
 * A machine that cannot start refuses the input (nothing is written).
 *
 * @example
 * const started = decideStart(definition, "order-1", { items: [] }, {}, null, Date.now(), invocables)
 * if (Result.isSuccess(started)) yield* write(started.success.row, started.success.plan)
 */
export const decideStart = (
  definition: WorkflowDefinition<any>,
  instanceId: string,
  input: unknown,
  call: CallOptions,
  parent: ParentLink | null,
  now: number,
  invocables: Invocables
): Result.Result<{ readonly row: InstanceRow; readonly plan: Plan }, InvalidEvent> => {
  const refuse = (reason: string) => Result.fail(new InvalidEvent({ eventType: `${definition.type} input`, field: "", reason }))
  const cannotStart = (error: unknown) => refuse(`the machine could not start: ${error instanceof Error ? error.message : String(error)}`)
  let step: Step
  try {
    step = startStep(definition.machine, input, invocables)
  } catch (error) {
    return cannotStart(error)
  }
  if (step.snapshot.status === "error") return cannotStart(step.snapshot.error)
  const row: InstanceRow = {
    workflow_type: definition.type,
    instance_id: instanceId,
    machine_version: definition.version,
    status: "running",
    state: null,
    snapshot: null,
    stream_version: 0,
    inputs: 0,
    parent,
    children: {},
    failure: null,
    corrupted: null,
    created_at: new Date(now),
    updated_at: new Date(now)
  }
  const started = R.WorkflowStarted.make(
    { workflowType: definition.type, instanceId, machineVersion: definition.version, input: input ?? null, ...(parent === null ? {} : { parent }) },
    { metadata: meta("input", call, afterStep(step)) }
  )
  try {
    return Result.succeed({ row, plan: stepPlan({ row, definition }, step, started, call, undefined, now) })
  } catch (error) {
    return refuse(error instanceof UnsupportedAction ? error.reason : String(error))
  }
}

/**
 * A value checked against its schema and put in its encoded form, the form
 * the log stores: what a step sees is exactly what replay will see.
 *
 * @example
 * const input = normalize(`${definition.type} input`, definition.events.input, body)
 */
export const normalize = (label: string, schema: Schema.Codec<any, any, never, never>, value: unknown): Result.Result<unknown, InvalidEvent> => {
  const decoded = Schema.decodeUnknownResult(schema)(value)
  if (Result.isFailure(decoded)) return Result.fail(new InvalidEvent({ eventType: label, ...describeIssue(decoded.failure.issue) }))
  const encoded = Schema.encodeUnknownResult(schema)(decoded.success)
  return Result.isFailure(encoded)
    ? Result.fail(new InvalidEvent({ eventType: label, ...describeIssue(encoded.failure.issue) }))
    : Result.succeed(encoded.success as unknown)
}

// ---------------------------------------------------------------------------
// Writes that are no step of the machine

/**
 * Records that leave the machine where it is (attempts, cancellations, retries, ignored results),
 * with the instance's new status and failure and any tasks they add.
 *
 * @example
 * const plan = recordPlan(loaded, [R.WorkflowRetried.make({ activityId })], { status: "running", failure: null })
 */
export const recordPlan = (
  loaded: Loaded,
  events: ReadonlyArray<NewEvent>,
  change: { readonly status: InstanceStatus; readonly failure: unknown; readonly tasks?: ReadonlyArray<PlannedTask>; readonly dropAllTasks?: boolean }
): Plan => ({
  events,
  status: change.status,
  snapshot: loaded.snapshot,
  failure: change.failure,
  children: loaded.row.children,
  inputs: loaded.row.inputs,
  cancel: [],
  tasks: change.tasks ?? [],
  dropAllTasks: change.dropAllTasks ?? false
})

/**
 * Cancelling an instance: its tasks dropped, its children told to cancel, its parent told it ended.
 *
 * @example
 * const plan = cancelPlan(loaded, "customer asked", { actor: "support" })
 */
export const cancelPlan = (loaded: Loaded, reason: string, call: CallOptions): Plan => {
  const { workflow_type: workflowType, instance_id: instanceId } = loaded.row
  const stream = streamOf(workflowType, instanceId)
  const message = (to: { workflowType: string; instanceId: string }, key: string, event: MachineEvent): PlannedTaskOf<"message"> => ({
    kind: "message", stream_id: stream, workflow_type: workflowType, instance_id: instanceId, key, payload: { to, from: stream, event }, due_at: null, local: false
  })
  const tasks: Array<PlannedTask> = []
  for (const [invokeId, child] of Object.entries(loaded.row.children)) {
    tasks.push(message(child, `cancel:${invokeId}`, { type: "orrery.cancel", reason: `parent ${stream} cancelled: ${reason}` }))
  }
  if (loaded.row.parent !== null) {
    const parent = loaded.row.parent
    tasks.push(message(parent, `cancelled:${instanceId}`, { type: `xstate.error.actor.${parent.invokeId}`, error: { _tag: "Cancelled", reason }, actorId: parent.invokeId }))
  }
  return recordPlan(loaded, [R.WorkflowCancelled.make({ reason }, { metadata: meta("record", call) })], { status: "cancelled", failure: { reason }, tasks, dropAllTasks: true })
}

/**
 * Running a failed instance's activity again, or undefined when it did not fail on an activity.
 *
 * @example
 * const plan = retryPlan(loaded, {})
 * if (plan === undefined) return yield* new NothingToRetry({ workflowType, instanceId })
 */
export const retryPlan = (loaded: Loaded, call: CallOptions): Plan | undefined => {
  const { workflow_type: workflowType, instance_id: instanceId } = loaded.row
  const failure = loaded.row.failure as { activity?: { activityId: string; invokeId: string; src: string; input: unknown } } | null
  const activity = loaded.row.status === "failed" ? failure?.activity : undefined
  if (activity === undefined) return undefined
  const task: PlannedTaskOf<"activity"> = {
    kind: "activity",
    stream_id: streamOf(workflowType, instanceId),
    workflow_type: workflowType,
    instance_id: instanceId,
    key: activity.invokeId,
    payload: { activityId: activity.activityId, src: activity.src, input: activity.input },
    due_at: null,
    local: false
  }
  return recordPlan(loaded, [R.WorkflowRetried.make({ activityId: activity.activityId }, { metadata: meta("record", call) })], { status: "running", failure: null, tasks: [task] })
}

/**
 * The instance as it stands after its plan is written: what the stepper keeps in memory.
 *
 * @example
 * remember(afterWrite(loaded, plan, new Date(now)))
 */
export const afterWrite = (loaded: Loaded, plan: Plan, updatedAt: Date): Loaded => ({
  definition: loaded.definition,
  snapshot: plan.snapshot,
  row: {
    ...loaded.row,
    status: plan.status,
    state: plan.snapshot.value,
    failure: plan.failure,
    stream_version: loaded.row.stream_version + plan.events.length,
    inputs: plan.inputs,
    children: plan.children,
    updated_at: updatedAt
  }
})

// ---------------------------------------------------------------------------
// Turning a step into rows

const meta = (kind: R.EntryKind, call: CallOptions, extra: EventMetadata = {}): EventMetadata => ({
  kind,
  ...(call.correlationId === undefined ? {} : { correlationId: call.correlationId }),
  ...(call.actor === undefined ? {} : { actor: call.actor }),
  ...extra
})

/**
 * What an input's row says about its step: the state it led to (replay checks
 * it) and the transitions it took (the heatmap counts them; a failed step's
 * row becomes a record, so they are never counted for it).
 */
const afterStep = (step: Step): EventMetadata => ({ state: step.snapshot.value as never, transitions: takenTransitions(step) })

/** The input as the row that records it. */
const inputEventOf = (input: Input, call: CallOptions, extra: EventMetadata, now: number): NewEvent => {
  const metadata = meta("input", call, extra)
  switch (input.kind) {
    case "event":
      return R.EventReceived.make({ event: input.event }, { metadata })
    case "activity":
      return input.ok
        ? R.ActivityCompleted.make({ activityId: input.activityId, src: input.src, output: input.value, attempts: input.attempts, durationMs: input.durationMs, worker: input.worker }, { metadata })
        : R.ActivityFailed.make({ activityId: input.activityId, src: input.src, error: input.value, attempts: input.attempts, durationMs: input.durationMs, worker: input.worker }, { metadata })
    case "timer":
      return R.TimerFired.make({ timerId: input.timerId, event: input.event, dueAt: input.dueAt, firedAt: new Date(now).toISOString() }, { metadata })
    case "message":
      return R.MessageReceived.make({ from: input.from, event: input.event }, { metadata })
  }
}

/** The input as the machine event it stands for. */
const machineEventOf = (input: Input): MachineEvent => {
  switch (input.kind) {
    case "event":
    case "timer":
    case "message":
      return input.event
    case "activity":
      return R.activityResultEvent(input.activityId, input.ok, input.value)
  }
}

/** The machine's emits as domain events; one that is undeclared or invalid makes the step unsupported. */
const domainEvents = (definition: WorkflowDefinition<any>, emitted: ReadonlyArray<MachineEvent>, causationId: string, call: CallOptions) =>
  emitted.map((event) => {
    const eventType = definition.events.emits.find((candidate) => candidate.type === event.type)
    if (eventType === undefined) {
      throw new UnsupportedAction({ reason: `the machine emitted ${event.type}, which is not among the workflow's declared events` })
    }
    const { type: _type, ...data } = event
    const made = eventType.make(data, { metadata: meta("domain", call, { causationId }) })
    const valid = encodePayload(made)
    if (Result.isFailure(valid)) {
      throw new UnsupportedAction({ reason: `the machine emitted an invalid ${event.type}: ${valid.failure.message}` })
    }
    return made
  })

/**
 * Everything a step writes besides the input: domain events, records of the
 * effects, the tasks themselves and the instance's new row. Throws
 * `UnsupportedAction` for a step the engine cannot record.
 */
const stepPlan = (
  loaded: { readonly row: Pick<InstanceRow, "workflow_type" | "instance_id" | "stream_version" | "inputs" | "children" | "parent">; readonly definition: WorkflowDefinition<any> },
  step: Step,
  input: NewEvent,
  call: CallOptions,
  firedTimer: string | undefined,
  now: number
): Plan => {
  const { workflow_type: workflowType, instance_id: instanceId } = loaded.row
  const stream = streamOf(workflowType, instanceId)
  const inputVersion = loaded.row.stream_version + 1
  const cause = { causationId: input.eventId }
  const records: Array<NewEvent> = []
  const tasks: Array<PlannedTask> = []
  const cancel: Array<{ kind: string; key: string }> = []
  const children = { ...loaded.row.children }
  const task = <K extends TaskKind>(kind: K, key: string, payload: TaskPayload<K>, dueAt: number | null, local: boolean): PlannedTaskOf<K> => ({
    kind,
    stream_id: stream,
    workflow_type: workflowType,
    instance_id: instanceId,
    key,
    payload,
    due_at: dueAt === null ? null : new Date(dueAt).toISOString(),
    local
  })
  // XState lists a state's entry actions before its invokes: name this step's children
  // first, so that a send in the same entry reaches the child it starts.
  const started = new Map<string, string>()
  for (const effect of step.effects) {
    if (effect.kind !== "child") continue
    const childId = children[effect.invokeId] === undefined ? `${instanceId}.${effect.invokeId}` : `${instanceId}.${effect.invokeId}.${inputVersion}`
    started.set(effect.invokeId, childId)
    children[effect.invokeId] = { workflowType: effect.workflowType, instanceId: childId }
  }
  const targetOf = (to: Extract<StepEffect, { kind: "send" }>["to"]) => {
    if (to === "parent") return loaded.row.parent === null ? undefined : { workflowType: loaded.row.parent.workflowType, instanceId: loaded.row.parent.instanceId }
    return children[to.child]
  }

  step.effects.forEach((effect, index) => {
    switch (effect.kind) {
      case "activity": {
        const activityId = R.activityIdOf(effect.invokeId, inputVersion)
        // JSON has no undefined: an invoke without input records null.
        const input = effect.input ?? null
        records.push(R.ActivityScheduled.make({ activityId, invokeId: effect.invokeId, src: effect.src, input }, { metadata: meta("record", call, cause) }))
        tasks.push(task("activity", effect.invokeId, { activityId, src: effect.src, input }, null, true))
        break
      }
      case "child": {
        const childId = started.get(effect.invokeId)!
        const input = effect.input ?? null
        records.push(R.ChildStarted.make({ invokeId: effect.invokeId, workflowType: effect.workflowType, instanceId: childId, input }, { metadata: meta("record", call, cause) }))
        tasks.push(task("start", childId, { workflowType: effect.workflowType, instanceId: childId, input, parent: { workflowType, instanceId, invokeId: effect.invokeId } }, null, true))
        break
      }
      case "stop": {
        cancel.push({ kind: "activity", key: effect.invokeId })
        const child = children[effect.invokeId]
        if (child !== undefined && step.snapshot.status === "active") {
          tasks.push(task("message", `stop:${effect.invokeId}:${inputVersion}`, { to: child, from: stream, event: { type: "orrery.cancel", reason: `stopped by ${stream}` } }, null, true))
        }
        break
      }
      case "timer": {
        const dueAt = new Date(now + effect.delay).toISOString()
        records.push(R.TimerScheduled.make({ timerId: effect.timerId, event: effect.event, dueAt }, { metadata: meta("record", call, cause) }))
        tasks.push(task("timer", effect.timerId, { timerId: effect.timerId, event: effect.event, dueAt }, now + effect.delay, false))
        break
      }
      case "cancel": {
        cancel.push({ kind: "timer", key: effect.sendId }, { kind: "message", key: effect.sendId })
        if (effect.sendId !== firedTimer) records.push(R.TimerCancelled.make({ timerId: effect.sendId }, { metadata: meta("record", call, cause) }))
        break
      }
      case "send": {
        const target = targetOf(effect.to)
        if (target === undefined) break
        const key = effect.sendId ?? `msg:${inputVersion}:${index}`
        const dueAt = effect.delay === undefined ? null : now + effect.delay
        records.push(R.MessageSent.make({ to: streamOf(target.workflowType, target.instanceId), event: effect.event, ...(dueAt === null ? {} : { dueAt: new Date(dueAt).toISOString() }) }, { metadata: meta("record", call, cause) }))
        tasks.push(task("message", key, { to: target, from: stream, event: effect.event }, dueAt, dueAt === null))
        break
      }
    }
  })

  const snapshot = step.snapshot
  const status: InstanceStatus = snapshot.status === "done" ? "done" : "running"
  if (status === "done" && loaded.row.parent !== null) {
    const parent = loaded.row.parent
    tasks.push(task("message", `done:${inputVersion}`, { to: parent, from: stream, event: { type: `xstate.done.actor.${parent.invokeId}`, output: snapshot.output ?? null, actorId: parent.invokeId } }, null, true))
  }
  return {
    events: [input, ...domainEvents(loaded.definition, step.emitted, input.eventId, call), ...records],
    status,
    snapshot,
    failure: null,
    children,
    inputs: loaded.row.inputs + 1,
    cancel,
    tasks,
    dropAllTasks: status === "done"
  }
}

/**
 * A step that cannot be taken: an activity error with no onError, a machine
 * that threw, an undeclared emit. The state stays where it was, so that
 * `retry` can run the activity again; the failure is recorded, not the input.
 */
const failurePlan = (loaded: Loaded, input: Input, inputEvent: NewEvent, cause: unknown, call: CallOptions): Plan => {
  const reason = cause instanceof UnsupportedAction ? cause.reason : input.kind === "activity" && !input.ok ? `activity ${input.src} failed and the machine has no onError for it` : `the machine threw: ${cause instanceof Error ? cause.message : String(cause)}`
  const failure = {
    reason,
    ...(input.kind === "activity" ? { activity: { activityId: input.activityId, invokeId: R.invokeIdOf(input.activityId), src: input.src, error: input.value, input: input.activityInput } } : {})
  }
  const failed = R.WorkflowFailed.make({ reason, ...(input.kind === "activity" ? { activityId: input.activityId, error: input.value } : {}) }, { metadata: meta("record", call, { causationId: inputEvent.eventId }) })
  // The input is kept as a record: it happened, but replay must not fold it.
  const recorded = { ...inputEvent, metadata: { ...inputEvent.metadata, kind: "record" } }
  return recordPlan(loaded, [recorded, failed], { status: "failed", failure })
}

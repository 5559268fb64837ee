/**
 * What the engine writes into an instance's stream besides the domain events.
 *
 * Inputs drive the machine and are what replay folds over. Records say what the
 * engine did about a step (activities scheduled, attempts, timers), so that the
 * history, the inspector and "why is this stuck" can be read from the log alone.
 * Every row carries `metadata.kind`: "input", "domain" or "record".
 */
import { Schema } from "effect"
import { defineEvent, type RecordedEvent } from "../log/index.js"

const Json = Schema.Unknown
/** A machine event: a `type` and any JSON beside it. */
export const MachineEventPayload = Schema.StructWithRest(Schema.Struct({ type: Schema.String }), [Schema.Record(Schema.String, Json)])

// Inputs -------------------------------------------------------------------

export const WorkflowStarted = defineEvent(
  "workflow.started",
  Schema.Struct({
    workflowType: Schema.String,
    instanceId: Schema.String,
    machineVersion: Schema.Number,
    input: Json,
    parent: Schema.optional(Schema.Struct({ workflowType: Schema.String, instanceId: Schema.String, invokeId: Schema.String }))
  })
)

export const EventReceived = defineEvent("workflow.event_received", Schema.Struct({ event: MachineEventPayload }))

export const ActivityCompleted = defineEvent(
  "activity.completed",
  Schema.Struct({
    activityId: Schema.String,
    src: Schema.String,
    output: Json,
    attempts: Schema.Number,
    durationMs: Schema.Number,
    /** The worker that ran it (older histories have none). */
    worker: Schema.optional(Schema.String)
  })
)

export const ActivityFailed = defineEvent(
  "activity.failed",
  Schema.Struct({
    activityId: Schema.String,
    src: Schema.String,
    error: Json,
    attempts: Schema.Number,
    durationMs: Schema.Number,
    /** The worker that ran the last attempt (older histories have none). */
    worker: Schema.optional(Schema.String)
  })
)

export const TimerFired = defineEvent(
  "timer.fired",
  Schema.Struct({ timerId: Schema.String, event: MachineEventPayload, dueAt: Schema.String, firedAt: Schema.String })
)

export const MessageReceived = defineEvent(
  "message.received",
  Schema.Struct({ from: Schema.String, event: MachineEventPayload })
)

// Records ------------------------------------------------------------------

export const ActivityScheduled = defineEvent(
  "activity.scheduled",
  Schema.Struct({ activityId: Schema.String, invokeId: Schema.String, src: Schema.String, input: Json })
)

export const ActivityAttemptFailed = defineEvent(
  "activity.attempt_failed",
  Schema.Struct({
    activityId: Schema.String,
    src: Schema.String,
    attempt: Schema.Number,
    startedAt: Schema.String,
    durationMs: Schema.Number,
    error: Json,
    worker: Schema.String
  })
)

export const ActivityIgnored = defineEvent(
  "activity.ignored",
  Schema.Struct({ activityId: Schema.String, src: Schema.String, outcome: Schema.Literals(["completed", "failed"]), reason: Schema.String })
)

export const TimerScheduled = defineEvent(
  "timer.scheduled",
  Schema.Struct({ timerId: Schema.String, event: MachineEventPayload, dueAt: Schema.String })
)

export const TimerCancelled = defineEvent("timer.cancelled", Schema.Struct({ timerId: Schema.String }))

export const MessageSent = defineEvent(
  "message.sent",
  Schema.Struct({ to: Schema.String, event: MachineEventPayload, dueAt: Schema.optional(Schema.String) })
)

export const ChildStarted = defineEvent(
  "child.requested",
  Schema.Struct({ invokeId: Schema.String, workflowType: Schema.String, instanceId: Schema.String, input: Json })
)

export const WorkflowCancelled = defineEvent("workflow.cancelled", Schema.Struct({ reason: Schema.String }))

export const WorkflowFailed = defineEvent(
  "workflow.failed",
  Schema.Struct({ reason: Schema.String, activityId: Schema.optional(Schema.String), error: Schema.optional(Json) })
)

export const WorkflowRetried = defineEvent("workflow.retried", Schema.Struct({ activityId: Schema.String }))

/** A task row that did not decode was taken off the table; its payload is kept here as it was. */
export const TaskMalformed = defineEvent(
  "task.malformed",
  Schema.Struct({ taskId: Schema.Number, kind: Schema.String, key: Schema.String, payload: Json, reason: Schema.String })
)

export const engineEventTypes = [
  WorkflowStarted,
  EventReceived,
  ActivityCompleted,
  ActivityFailed,
  TimerFired,
  MessageReceived,
  ActivityScheduled,
  ActivityAttemptFailed,
  ActivityIgnored,
  TimerScheduled,
  TimerCancelled,
  MessageSent,
  ChildStarted,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowRetried,
  TaskMalformed
]

export type EntryKind = "input" | "domain" | "record"

/** The worker named by an activity's result or failed attempt, if the record names one. */
export const workerOf = (event: Pick<RecordedEvent, "type" | "data">): string | undefined => {
  if (event.type !== ActivityCompleted.type && event.type !== ActivityFailed.type && event.type !== ActivityAttemptFailed.type) return undefined
  const worker = (event.data as { worker?: unknown } | null)?.worker
  return typeof worker === "string" ? worker : undefined
}

export const kindOf = (event: Pick<RecordedEvent, "metadata">): EntryKind =>
  (event.metadata.kind as EntryKind | undefined) ?? "domain"

/** The machine event an input row stands for; undefined for the start (it goes to initialTransition). */
export const machineEventOf = (event: Pick<RecordedEvent, "type" | "data">): { type: string; [key: string]: unknown } | undefined => {
  const data = event.data as Record<string, any>
  switch (event.type) {
    case EventReceived.type:
    case TimerFired.type:
    case MessageReceived.type:
      return data.event
    case ActivityCompleted.type:
      return activityResultEvent(data.activityId, true, data.output)
    case ActivityFailed.type:
      return activityResultEvent(data.activityId, false, data.error)
    default:
      return undefined
  }
}

/** What XState expects for an invoked actor's result: `xstate.done.actor.<id>` or `xstate.error.actor.<id>`. */
export const activityResultEvent = (activityId: string, ok: boolean, value: unknown): { type: string; [key: string]: unknown } => {
  const invokeId = invokeIdOf(activityId)
  return ok
    ? { type: `xstate.done.actor.${invokeId}`, output: value, actorId: invokeId }
    : { type: `xstate.error.actor.${invokeId}`, error: value, actorId: invokeId }
}

/**
 * An activity id names one run of an invoke: `<invoke id>@<stream version that spawned it>`.
 * Re-entering a state reuses the invoke id; the version keeps runs apart.
 */
export const activityIdOf = (invokeId: string, spawnedAt: number) => `${invokeId}@${spawnedAt}`
export const invokeIdOf = (activityId: string) => activityId.slice(0, activityId.lastIndexOf("@"))

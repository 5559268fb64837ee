/**
 * What each kind of task carries, as a schema: an activity to run, a timer to
 * fire, a message to deliver, a child to start. The engine writes payloads of
 * these shapes; a worker decodes every row it claims against them, so that
 * what runs is typed — and a row that does not decode (written by hand, by an
 * older version, or corrupted) is a `MalformedTask`, reported and parked
 * instead of failing over and over inside whatever reads it.
 */
import { Result, Schema } from "effect"
import { describeIssue } from "../log/index.js"
import { MalformedTask } from "./errors.js"
import { MachineEventPayload } from "./records.js"
import type { TaskKind, TaskRow } from "./store.js"

const InstanceRef = Schema.Struct({ workflowType: Schema.String, instanceId: Schema.String })

/** Run the activity `src` of the instance's workflow with `input`; `activityId` names this run. */
export const ActivityPayload = Schema.Struct({ activityId: Schema.String, src: Schema.String, input: Schema.Unknown })

/** Send `event` to the instance itself when `dueAt` comes. */
export const TimerPayload = Schema.Struct({ timerId: Schema.String, event: MachineEventPayload, dueAt: Schema.String })

/** Deliver `event` from the stream `from` to the instance `to`. */
export const MessagePayload = Schema.Struct({ to: InstanceRef, from: Schema.String, event: MachineEventPayload })

/** Start the child instance `instanceId` of `workflowType` with `input`, reporting to `parent`'s invoke. */
export const StartPayload = Schema.Struct({
  workflowType: Schema.String,
  instanceId: Schema.String,
  input: Schema.Unknown,
  parent: Schema.Struct({ workflowType: Schema.String, instanceId: Schema.String, invokeId: Schema.String })
})

const payloadSchemas = {
  activity: ActivityPayload,
  timer: TimerPayload,
  message: MessagePayload,
  start: StartPayload
} as const satisfies Record<TaskKind, Schema.Codec<any, any, never, never>>

/** The payload a task of kind `K` carries. */
export type TaskPayload<K extends TaskKind = TaskKind> = (typeof payloadSchemas)[K]["Type"]

type TaskOf<K extends TaskKind> = Omit<TaskRow, "kind" | "payload"> & { readonly kind: K; readonly payload: TaskPayload<K> }

/** A claimed task whose payload decoded: its kind says what its payload holds. */
export type Task = { readonly [K in TaskKind]: TaskOf<K> }[TaskKind]
export type ActivityTask = TaskOf<"activity">
export type TimerTask = TaskOf<"timer">
export type MessageTask = TaskOf<"message">
export type StartTask = TaskOf<"start">

const isTaskKind = (kind: string): kind is TaskKind => Object.hasOwn(payloadSchemas, kind)

/**
 * A task row as read from the table, checked: a known kind and a payload of that kind's shape.
 *
 * @example
 * const decoded = decodeTask(row)
 * if (Result.isFailure(decoded)) yield* runtime.parkMalformed(row, decoded.failure, workerId)
 */
export const decodeTask = (row: TaskRow): Result.Result<Task, MalformedTask> => {
  const malformed = (reason: string) =>
    Result.fail(new MalformedTask({ taskId: row.id, kind: row.kind, key: row.key, stream: row.stream_id, reason }))
  if (!isTaskKind(row.kind)) return malformed(`unknown kind ${JSON.stringify(row.kind)}; a task is one of ${Object.keys(payloadSchemas).join(", ")}`)
  const decoded = Schema.decodeUnknownResult(payloadSchemas[row.kind] as Schema.Codec<unknown, unknown, never, never>)(row.payload)
  if (Result.isFailure(decoded)) {
    const { field, reason } = describeIssue(decoded.failure.issue)
    return malformed(`payload${field === "" || field.startsWith("[") ? field : `.${field}`} ${reason}`)
  }
  return Result.succeed({ ...row, kind: row.kind, payload: decoded.success } as Task)
}

/**
 * The engine's side: one durable instance per sequence, driven through the
 * public API (`start`, `send`) and, for what workers deliver, through
 * `EngineRuntime` exactly as a worker does: claim the instance's task row with
 * a lease, then `completeActivity` / `fireTimer` / `deliverMessage`. Time is
 * simulated: a timer's task is claimed whatever its due time says.
 *
 * A child workflow's result and another instance's message arrive as the
 * message task the sending instance would have written (none runs here: no
 * worker starts the child).
 *
 * The engine runs with `cacheSize: 0`, so every input — and every look after
 * it — reloads the instance from the database.
 */
import { Cause, Effect, Exit } from "effect"
import { Engine, EngineRuntime, streamOf } from "../../../src/engine/index.js"
import { Database } from "../../../src/log/index.js"
import type { TaskRow } from "../../../src/engine/store.js"
import type { Task } from "../../../src/engine/task-payloads.js"
import { type Input, json, type MachineEvent, type Observation, type Sent, type Status } from "./reference.js"

export interface EngineOutcome {
  readonly accepted: boolean
  /** The typed refusal (`EventNotAccepted`, `InstanceFinal`, `InvalidEvent`), when there was one. */
  readonly refusal?: string
  readonly emitted: ReadonlyArray<MachineEvent>
  /** Messages the step sent to child instances (by invoke id), from its `message.sent` records. */
  readonly sent?: ReadonlyArray<Sent>
  /** Invoke ids of the child workflows the step asked to start (`child.requested`). */
  readonly started?: ReadonlyArray<string>
  /** Undefined when there is no instance (its start was refused). */
  readonly observation?: Observation
  /** The instance's recorded failure, when it failed. */
  readonly failure?: unknown
  /** The input could not even be delivered (no such task): the engine lost track of an effect. */
  readonly missing?: string
  /** The `causationId`s of the step's domain events: one input caused them all. */
  readonly causes?: ReadonlyArray<string>
}


const isKind = <K extends Task["kind"]>(kind: K) => (task: Task): task is Extract<Task, { kind: K }> => task.kind === kind

const statusOf: Record<string, Status> = { running: "active", done: "done", failed: "error", cancelled: "stopped" }
const workerId = "differential-worker"

const refusalOf = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = cause.reasons.find((reason) => reason._tag === "Fail")
  return failure?._tag === "Fail" ? (failure.error as { _tag?: string })._tag : undefined
}

export const makeDurable = Effect.gen(function*() {
  const engine = yield* Engine
  const runtime = yield* EngineRuntime
  const db = yield* Database
  const s = runtime.schema
  const taskColumns = "t.id, t.kind, t.stream_id, t.workflow_type, t.instance_id, t.key, t.payload, t.due_at, t.attempts"
  // The worker's claim, restricted to one task of one instance and blind to due times (simulated time).
  const claimSql = `
    update ${s}.tasks t set locked_by = $1, locked_until = now() + interval '60 seconds',
      attempts = t.attempts + case when t.kind = 'activity' then 1 else 0 end
    where t.id = (
      select id from ${s}.tasks
      where stream_id = $2 and kind = $3 and key = $4 and (locked_until is null or locked_until < now())
      order by id limit 1 for update skip locked
    )
    returning ${taskColumns}`
  const messageSql = `
    insert into ${s}.tasks as t (kind, stream_id, workflow_type, instance_id, key, payload, due_at, locked_by, locked_until)
    values ('message', $1, $2, $3, $4, $5::text::jsonb, now(), $6, now() + interval '60 seconds')
    returning ${taskColumns}`
  const query = <Row>(text: string, params: ReadonlyArray<unknown>) => Effect.promise(() => db.query<Row>(text, params))

  /** What the engine holds after a step: read back from the database. */
  const look = (type: string, id: string, since: number) =>
    Effect.gen(function*() {
      const history = yield* engine.history(type, id)
      const fresh = history.filter((entry) => entry.streamVersion > since)
      const view = yield* engine.get(type, id)
      const pending = yield* engine.pending(type, id)
      const observation: Observation = {
        status: statusOf[view.status] ?? (view.status as Status),
        value: json(view.state),
        context: json(view.context),
        output: view.status === "done" ? json(view.output) : undefined,
        activities: pending.filter((task) => task.kind === "activity").map((task) => task.key).sort(),
        timers: pending.filter((task) => task.kind === "timer").map((task) => task.key).sort()
      }
      const domain = fresh.filter((entry) => entry.kind === "domain")
      const invokeOf = new Map(Object.entries(view.children).map(([invokeId, child]) => [streamOf(child.workflowType, child.instanceId), invokeId]))
      const sent = fresh
        .filter((entry) => entry.type === "message.sent")
        .map((entry) => entry.data as { to: string; event: unknown })
        .map((data) => ({ to: invokeOf.get(data.to) ?? data.to, event: json(data.event) }))
      const started = fresh.filter((entry) => entry.type === "child.requested").map((entry) => (entry.data as { invokeId: string }).invokeId).sort()
      return {
        sent,
        started,
        causes: [...new Set(domain.map((entry) => String(entry.metadata.causationId)))],
        version: history.at(-1)?.streamVersion ?? since,
        accepted: fresh.some((entry) => entry.kind === "input" || entry.type === "workflow.failed"),
        emitted: domain.map((entry) => ({ type: entry.type, ...(json(entry.data) as object) })),
        observation,
        ...(view.failure === undefined ? {} : { failure: view.failure })
      }
    }).pipe(Effect.orDie)

  /** One instance, one sequence. */
  const instance = (type: string, id: string) => {
    let version = 0
    let messages = 0
    const stream = streamOf(type, id)

    const settle = (extra: Partial<EngineOutcome> = {}) =>
      look(type, id, version).pipe(
        Effect.map((seen): EngineOutcome => {
          version = seen.version
          return { accepted: seen.accepted, emitted: seen.emitted, sent: seen.sent, started: seen.started, observation: seen.observation, causes: seen.causes, ...(seen.failure === undefined ? {} : { failure: seen.failure }), ...extra }
        })
      )

    const deliver = (from: { readonly workflowType: string; readonly instanceId: string }, event: MachineEvent) =>
      Effect.gen(function*() {
        const fromStream = streamOf(from.workflowType, from.instanceId)
        const payload = { to: { workflowType: type, instanceId: id }, from: fromStream, event }
        const rows = yield* query<TaskRow>(messageSql, [fromStream, from.workflowType, from.instanceId, `differential:${id}:${messages++}`, JSON.stringify(payload), workerId])
        const [task] = (yield* runtime.admit(rows, workerId)).filter(isKind("message"))
        yield* runtime.deliverMessage(task!, workerId)
      })

    // Decoded as a worker's claim decodes it.
    const claim = <K extends "activity" | "timer">(kind: K, key: string) =>
      query<TaskRow>(claimSql, [workerId, stream, kind, key]).pipe(
        Effect.flatMap((rows) => runtime.admit(rows, workerId)),
        Effect.map((tasks) => tasks.filter(isKind(kind))[0])
      )

    return {
      start: (input: unknown) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(engine.start(type, input, { id }))
          if (Exit.isFailure(exit)) {
            const refusal = refusalOf(exit.cause)
            if (refusal === "InvalidEvent") return { accepted: false, refusal, emitted: [] } satisfies EngineOutcome
            return yield* Effect.die(new Error(`engine.start(${type}, ${id}) failed unexpectedly: ${Cause.pretty(exit.cause)}`))
          }
          return yield* settle()
        }),

      apply: (input: Input) =>
        Effect.gen(function*() {
          switch (input.kind) {
            case "event": {
              const exit = yield* Effect.exit(engine.send(type, id, input.event))
              if (Exit.isFailure(exit)) {
                const refusal = refusalOf(exit.cause)
                if (refusal === "EventNotAccepted" || refusal === "InstanceFinal") return yield* settle({ refusal })
                return yield* Effect.die(new Error(`engine.send(${type}, ${id}, ${JSON.stringify(input.event)}) failed unexpectedly: ${Cause.pretty(exit.cause)}`))
              }
              return yield* settle()
            }
            case "activity": {
              const task = yield* claim("activity", input.invokeId)
              if (task === undefined) return yield* settle({ missing: `the engine has no pending activity task for invoke "${input.invokeId}"` })
              yield* runtime.completeActivity(task, workerId, { ok: input.ok, value: input.value, attempts: 1, durationMs: 0 })
              return yield* settle()
            }
            case "timer": {
              const task = yield* claim("timer", input.timerId)
              if (task === undefined) return yield* settle({ missing: `the engine has no pending timer task "${input.timerId}"` })
              yield* runtime.fireTimer(task, workerId)
              return yield* settle()
            }
            case "child": {
              // The child instance the engine recorded for this invoke sends its end to the parent.
              const view = yield* engine.get(type, id)
              const child = view.children[input.invokeId]
              if (child === undefined) return yield* settle({ missing: `the engine has no child for invoke "${input.invokeId}"` })
              const event: MachineEvent = input.ok
                ? { type: `xstate.done.actor.${input.invokeId}`, output: input.value, actorId: input.invokeId }
                : { type: `xstate.error.actor.${input.invokeId}`, error: input.value, actorId: input.invokeId }
              yield* deliver(child, event)
              return yield* settle()
            }
            case "message": {
              const view = yield* engine.get(type, id)
              const [child] = Object.values(view.children)
              yield* deliver(child ?? { workflowType: "differential", instanceId: `${id}.sender` }, input.event)
              return yield* settle()
            }
          }
        }).pipe(Effect.orDie)
    }
  }

  return { instance }
})

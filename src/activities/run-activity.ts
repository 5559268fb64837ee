/**
 * Running one activity: its Effect program under its timeout, behind its
 * dependency's circuit breaker, retried by its Schedule unless the error is one
 * it declares final. Every failed attempt is reported as it happens (the engine
 * records it); the outcome — output or typed error, both Schema-encoded to JSON —
 * becomes the instance's next input.
 *
 * The retry budget counts calls that were made. A call the circuit refuses is
 * no attempt: the run stops there and answers `Waiting` (the worker puts the
 * task back, due when the circuit lets a trial through, its attempts as they
 * were). A run that resumes such a task — or one taken over from a dead worker —
 * starts its Schedule where the attempts already made left it.
 */
import { Cause, Clock, Duration, Effect, Exit, Result, Schedule, Schema } from "effect"
import type { ActivityDefinition, ActivityRun } from "../engine/workflow.js"
import { defaultRetry } from "../engine/workflow.js"
import { CircuitBreaker, outcomeOf } from "./circuit-breaker.js"

export interface AttemptFailure {
  readonly attempt: number
  readonly startedAt: string
  readonly durationMs: number
  readonly error: unknown
}

export interface ActivityOutcome {
  readonly _tag?: undefined
  readonly ok: boolean
  /** The encoded output, or the encoded error. */
  readonly value: unknown
  readonly attempts: number
  readonly durationMs: number
}

/** The circuit of the activity's dependency refused the call: nothing was called; try again at `until`. */
export interface ActivityWaiting {
  readonly _tag: "Waiting"
  readonly dependency: string
  readonly until: Date
  /** Calls made so far (this run's and earlier runs'). */
  readonly attempts: number
}

/** A typed error as JSON: its schema's encoding when it has one, else its tag, message and fields. */
export const encodeError = (definition: Pick<ActivityDefinition<any>, "error">, error: unknown): unknown => {
  if (definition.error !== undefined) {
    const encoded = Schema.encodeUnknownResult(definition.error)(error)
    if (Result.isSuccess(encoded)) return encoded.success
  }
  if (Cause.isTimeoutError(error)) return { _tag: "TimeoutError", message: "the activity timed out" }
  if (typeof error === "object" && error !== null) {
    const tag = (error as { _tag?: unknown })._tag
    const message = (error as { message?: unknown }).message
    const fields: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(error)) {
      if (key !== "stack" && key !== "cause" && isJson(value)) fields[key] = value
    }
    return { ...fields, _tag: typeof tag === "string" ? tag : "Error", message: typeof message === "string" ? message : String(error) }
  }
  return { _tag: "Error", message: String(error) }
}

const isJson = (value: unknown): boolean => {
  try {
    return JSON.stringify(value) !== undefined
  } catch {
    return false
  }
}

const encodeOutput = (definition: Pick<ActivityDefinition<any>, "output">, output: unknown): unknown => {
  if (definition.output === undefined) return output === undefined ? null : JSON.parse(JSON.stringify(output))
  const encoded = Schema.encodeUnknownResult(definition.output)(output)
  if (Result.isFailure(encoded)) throw new Error(`the activity's output does not match its schema: ${encoded.failure.message}`)
  return encoded.success
}

const tagOf = (error: unknown): string | undefined => {
  const tag = (error as { _tag?: unknown } | null)?._tag
  return typeof tag === "string" ? tag : undefined
}

/** How long a trial call may hold a half-open circuit: its timeout and a margin, when it has one. */
const trialLeaseOf = (definition: Pick<ActivityDefinition<any>, "timeout">): number | undefined =>
  definition.timeout === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(definition.timeout)) + 1_000

export const runActivity = <R>(
  definition: ActivityDefinition<R>,
  src: string,
  input: unknown,
  run: Omit<ActivityRun, "attempt">,
  firstAttempt: number,
  onAttemptFailed: (failure: AttemptFailure) => Effect.Effect<void>
): Effect.Effect<ActivityOutcome | ActivityWaiting, never, R | CircuitBreaker> =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker
    const nonRetryable = new Set(definition.nonRetryable ?? [])
    const dependency = definition.dependency ?? src
    const trialLeaseMs = trialLeaseOf(definition)
    // A declared business refusal (a declined card) shows the dependency is up: it does not trip the circuit.
    const isOutage = (error: unknown) => !nonRetryable.has(tagOf(error) ?? "")
    const step = yield* Schedule.toStep(definition.retry ?? defaultRetry)
    /** Calls made, this run's and earlier runs'. */
    let attempt = Math.max(1, firstAttempt) - 1
    // Earlier runs made `attempt` calls and their schedule allowed one more: catch this one up (without waiting).
    for (let made = 0; made < attempt; made++) {
      if (Exit.isFailure(yield* Effect.exit(step(yield* Clock.currentTimeMillis, undefined)))) break
    }
    let startedAt = Date.now()
    const failed = (error: unknown): ActivityOutcome => ({ ok: false, value: encodeError(definition, error), attempts: attempt, durationMs: Date.now() - startedAt })
    while (true) {
      const admission = yield* breaker.admit(dependency, trialLeaseMs).pipe(Effect.orDie)
      if (admission._tag === "Refused") return { _tag: "Waiting", dependency, until: admission.until, attempts: attempt } satisfies ActivityWaiting
      attempt++
      startedAt = Date.now()
      const current = attempt
      let program = Effect.suspend(() => definition.run(input, { ...run, attempt: current })).pipe(
        Effect.catchDefect((defect) => Effect.fail(defect))
      ) as Effect.Effect<unknown, unknown, R>
      if (definition.timeout !== undefined) program = program.pipe(Effect.timeout(definition.timeout))
      const exit = yield* Effect.exit(program)
      // The circuit hears how the call went, whatever happens to this fiber next.
      yield* breaker.settle(admission, outcomeOf(exit, isOutage)).pipe(
        Effect.catchCause((cause) => Effect.logWarning(`could not record the outcome of a call to ${dependency} in its circuit`, cause)),
        Effect.uninterruptible
      )
      if (Exit.isSuccess(exit)) {
        try {
          return { ok: true, value: encodeOutput(definition, exit.value), attempts: attempt, durationMs: Date.now() - startedAt } satisfies ActivityOutcome
        } catch (error) {
          return failed(error)
        }
      }
      // Interrupted (a shutdown): the task goes back to the pool as it is.
      if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
      const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
      const error = reason?._tag === "Fail" ? reason.error : Cause.squash(exit.cause)
      yield* onAttemptFailed({ attempt, startedAt: new Date(startedAt).toISOString(), durationMs: Date.now() - startedAt, error: encodeError(definition, error) })
      if (!isOutage(error)) return failed(error)
      const next = yield* Effect.exit(step(yield* Clock.currentTimeMillis, error))
      if (Exit.isFailure(next)) return failed(error)
      yield* Effect.sleep(next.value[1])
    }
  }).pipe(
    // The span names the call well enough; no stack trace per attempt (see the step's span).
    Effect.withSpan("orrery.activity", {
      attributes: { "orrery.activity": src, "orrery.workflow": run.workflowType, "orrery.instance": run.instanceId, "orrery.idempotency_key": run.idempotencyKey }
    }, { captureStackTrace: false })
  )

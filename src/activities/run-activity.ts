/**
 * Running one activity: its Effect program under its timeout, behind its
 * dependency's circuit breaker, retried by its Schedule unless the error is one
 * it declares final. Every failed attempt is reported as it happens (the engine
 * records it); the outcome — output or typed error, both Schema-encoded to JSON —
 * becomes the instance's next input.
 */
import { Cause, Effect, Result, Schema } from "effect"
import type { ActivityDefinition, ActivityRun } from "../engine/workflow.js"
import { defaultRetry } from "../engine/workflow.js"
import { CircuitBreaker } from "./circuit-breaker.js"

export interface AttemptFailure {
  readonly attempt: number
  readonly startedAt: string
  readonly durationMs: number
  readonly error: unknown
}

export interface ActivityOutcome {
  readonly ok: boolean
  /** The encoded output, or the encoded error. */
  readonly value: unknown
  readonly attempts: number
  readonly durationMs: number
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

export const runActivity = <R>(
  definition: ActivityDefinition<R>,
  src: string,
  input: unknown,
  run: Omit<ActivityRun, "attempt">,
  firstAttempt: number,
  onAttemptFailed: (failure: AttemptFailure) => Effect.Effect<void>
): Effect.Effect<ActivityOutcome, never, R | CircuitBreaker> =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker
    const nonRetryable = new Set(definition.nonRetryable ?? [])
    let attempt = firstAttempt - 1
    let startedAt = 0
    const once = Effect.suspend(() => {
      attempt++
      startedAt = Date.now()
      let program = Effect.suspend(() => definition.run(input, { ...run, attempt })).pipe(
        Effect.catchDefect((defect) => Effect.fail(defect))
      ) as Effect.Effect<unknown, unknown, R>
      if (definition.timeout !== undefined) program = program.pipe(Effect.timeout(definition.timeout))
      // A declared business refusal (a declined card) shows the dependency is up: it does not trip the circuit.
      return breaker.protect(definition.dependency ?? src, program, (error) => !nonRetryable.has(tagOf(error) ?? ""))
    }).pipe(
      Effect.tapError((error) =>
        onAttemptFailed({
          attempt,
          startedAt: new Date(startedAt).toISOString(),
          durationMs: Date.now() - startedAt,
          error: encodeError(definition, error)
        })
      )
    )
    const exit = yield* once.pipe(
      Effect.retry({ schedule: definition.retry ?? defaultRetry, while: (error) => !nonRetryable.has(tagOf(error) ?? "") }),
      Effect.exit
    )
    const durationMs = Date.now() - startedAt
    if (exit._tag === "Success") {
      try {
        return { ok: true, value: encodeOutput(definition, exit.value), attempts: attempt, durationMs }
      } catch (error) {
        return { ok: false, value: encodeError(definition, error), attempts: attempt, durationMs }
      }
    }
    const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
    const error = failure?._tag === "Fail" ? failure.error : Cause.squash(exit.cause)
    return { ok: false, value: encodeError(definition, error), attempts: attempt, durationMs }
  }).pipe(
    Effect.withSpan("orrery.activity", {
      attributes: { "orrery.activity": src, "orrery.workflow": run.workflowType, "orrery.instance": run.instanceId, "orrery.idempotency_key": run.idempotencyKey }
    })
  )

/**
 * One circuit breaker per outside dependency. After `failureThreshold`
 * consecutive failures the circuit opens: calls fail at once with `CircuitOpen`
 * for `cooldown`, then one trial call is let through (half open); its success
 * closes the circuit, its failure opens it again. `CircuitOpen` is an ordinary
 * typed failure, so an activity's retry schedule simply tries again later.
 */
import { Cause, Context, Duration, Effect, Layer, Schema } from "effect"

export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  dependency: Schema.String,
  retryAfterMs: Schema.Number
}) {
  override get message() {
    return `the circuit for ${this.dependency} is open; retry in ${this.retryAfterMs} ms`
  }
}

export type CircuitState = "closed" | "open" | "half_open"

export interface CircuitBreakerShape {
  /**
   * Runs `effect` unless the circuit is open. `isOutage` tells a failure of the
   * dependency (counted) from a business answer such as a declined card, which
   * proves the dependency is up (default: every failure counts).
   */
  readonly protect: <A, E, R>(
    dependency: string,
    effect: Effect.Effect<A, E, R>,
    isOutage?: (error: E) => boolean
  ) => Effect.Effect<A, E | CircuitOpen, R>
  readonly state: (dependency: string) => CircuitState
  /** Every dependency seen so far and its state (metrics). */
  readonly states: () => ReadonlyArray<{ readonly dependency: string; readonly state: CircuitState }>
}

export class CircuitBreaker extends Context.Service<CircuitBreaker, CircuitBreakerShape>()("orrery/activities/CircuitBreaker") {}

export interface CircuitBreakerOptions {
  readonly failureThreshold?: number
  readonly cooldown?: Duration.Input
}

interface Circuit {
  failures: number
  openUntil: number
  trialInFlight: boolean
}

export const makeCircuitBreaker = (options: CircuitBreakerOptions = {}): CircuitBreakerShape => {
  const threshold = Math.max(1, options.failureThreshold ?? 5)
  const cooldownMs = Duration.toMillis(Duration.fromInputUnsafe(options.cooldown ?? "30 seconds"))
  const circuits = new Map<string, Circuit>()
  const circuitOf = (dependency: string) => {
    let circuit = circuits.get(dependency)
    if (circuit === undefined) {
      circuit = { failures: 0, openUntil: 0, trialInFlight: false }
      circuits.set(dependency, circuit)
    }
    return circuit
  }
  const stateOf = (circuit: Circuit): CircuitState =>
    circuit.failures < threshold ? "closed" : Date.now() < circuit.openUntil ? "open" : "half_open"

  return {
    protect: <A, E, R>(dependency: string, effect: Effect.Effect<A, E, R>, isOutage: (error: E) => boolean = () => true) =>
      Effect.suspend((): Effect.Effect<A, E | CircuitOpen, R> => {
        const circuit = circuitOf(dependency)
        const state = stateOf(circuit)
        if (state === "open" || (state === "half_open" && circuit.trialInFlight)) {
          return Effect.fail(new CircuitOpen({ dependency, retryAfterMs: Math.max(0, circuit.openUntil - Date.now()) }))
        }
        const trial = state === "half_open"
        if (trial) circuit.trialInFlight = true
        return effect.pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              if (trial) circuit.trialInFlight = false
              // Interrupted (a shutdown): says nothing about the dependency.
              if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) return
              const failure = exit._tag === "Failure" ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
              const outage = exit._tag === "Failure" && (failure?._tag !== "Fail" || isOutage(failure.error as E))
              if (!outage) {
                circuit.failures = 0
              } else {
                circuit.failures++
                if (circuit.failures >= threshold) circuit.openUntil = Date.now() + cooldownMs
              }
            })
          )
        )
      }),
    state: (dependency) => stateOf(circuitOf(dependency)),
    states: () => [...circuits].map(([dependency, circuit]) => ({ dependency, state: stateOf(circuit) }))
  }
}

export const circuitBreakerLayer = (options: CircuitBreakerOptions = {}) =>
  Layer.sync(CircuitBreaker, () => makeCircuitBreaker(options))

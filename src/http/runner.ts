/**
 * The bridge from Fastify handlers to Effect: a `Runner` runs an Effect with
 * the application's services (from a ManagedRuntime or a captured context) and
 * hands back its Exit; `perform` turns that Exit into a value, an HttpError for
 * a typed failure the API knows, or a thrown defect (answered as a 500).
 */
import { Cause, type Context, Effect, Exit, type ManagedRuntime, Option } from "effect"
import type { CircuitBreaker, Engine, EngineRuntime, WorkflowRegistry } from "../engine/index.js"
import type { Database, EventLog } from "../log/index.js"
import type { Projections } from "../projections/projection.js"
import { fromTypedError } from "./errors.js"

/** What the HTTP front door needs from the application. */
export type HttpServices = Engine | EngineRuntime | EventLog | WorkflowRegistry | Database | CircuitBreaker | Projections

export type Runner = <A, E>(effect: Effect.Effect<A, E, HttpServices>) => Promise<Exit.Exit<A, unknown>>

export const runnerFromRuntime =
  (runtime: ManagedRuntime.ManagedRuntime<HttpServices, unknown>): Runner =>
  (effect) =>
    runtime.runPromiseExit(effect)

export const runnerFromContext =
  (context: Context.Context<HttpServices>): Runner =>
  (effect) =>
    Effect.runPromiseExitWith(context)(effect)

/** A typed failure the API has no answer for; thrown so that the error handler logs it as a bug. */
export class UnmappedFailure extends Error {
  constructor(readonly failure: unknown) {
    super(`unmapped failure: ${failure instanceof Error ? failure.message : JSON.stringify(failure)}`)
  }
}

export const perform = async <A, E>(run: Runner, effect: Effect.Effect<A, E, HttpServices>): Promise<A> => {
  const exit = await run(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isSome(failure)) {
    const http = fromTypedError(failure.value)
    throw http ?? new UnmappedFailure(failure.value)
  }
  const defect = Cause.squash(exit.cause)
  throw defect instanceof Error ? defect : new Error(String(defect))
}

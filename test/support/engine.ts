/** Runs a test body against a whole Orrery (log, engine, worker) on one driver and a fresh schema. */
import { Effect, Layer } from "effect"
import type { WorkflowDefinition } from "../../src/engine/index.js"
import { type OrreryOptions, orreryLayer } from "../../src/engine/index.js"
import { type Projection, projectionsLayer } from "../../src/projections/projection.js"
import { databaseLayer, type Driver, freshSchema } from "./drivers.js"

export const withOrrery = <A, E, W extends WorkflowDefinition<any>>(
  driver: Driver,
  options: Omit<OrreryOptions<W>, "schema"> & {
    readonly services?: Layer.Layer<any, never, never>
    readonly schema?: string
    /** Read models to run beside the engine (the `Projections` service). */
    readonly projections?: ReadonlyArray<Projection>
  },
  body: Effect.Effect<A, E, any>
): Promise<A> => {
  const schema = options.schema ?? freshSchema()
  const orrery = projectionsLayer(options.projections ?? [], schema).pipe(
    Layer.provideMerge(orreryLayer({ ...options, schema })),
    Layer.provideMerge(databaseLayer(driver, schema)),
    Layer.provide(options.services ?? Layer.empty),
    Layer.orDie
  ) as Layer.Layer<any, never, never>
  return Effect.runPromise(Effect.scoped(body.pipe(Effect.provide(orrery))) as Effect.Effect<A, E, never>)
}

/** Polls an effect until its value satisfies `done`. */
export const until = <A, E, R>(read: Effect.Effect<A, E, R>, done: (value: A) => boolean, timeoutMs = 15_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const value = yield* read
      if (done(value)) return value
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out; last value: ${JSON.stringify(value)}`))
      yield* Effect.sleep("10 millis")
    }
  })

/**
 * For tests across restarts: one database for the whole test, and `phase` runs a
 * body against an Orrery built on it that stops (worker and all) when the body ends.
 */
export const withRestarts = <A, E>(
  driver: Driver,
  body: (
    phase: <B, E2, W extends WorkflowDefinition<any>>(
      options: Omit<OrreryOptions<W>, "schema"> & { readonly services?: Layer.Layer<any, never, never> },
      effect: Effect.Effect<B, E2, any>
    ) => Effect.Effect<B, E2>
  ) => Effect.Effect<A, E, any>
): Promise<A> => {
  const schema = freshSchema()
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const database = yield* Layer.build(databaseLayer(driver, schema))
        return yield* body((options, effect) => {
          const orrery = orreryLayer({ ...options, schema }).pipe(
            Layer.provide(Layer.succeedContext(database)),
            Layer.provide(options.services ?? Layer.empty),
            Layer.orDie
          ) as Layer.Layer<any, never, never>
          return Effect.scoped(effect.pipe(Effect.provide(orrery))) as Effect.Effect<any, any>
        })
      })
    ) as Effect.Effect<A, E, never>
  )
}

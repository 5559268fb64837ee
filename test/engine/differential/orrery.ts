/**
 * An Orrery for the differential runs: the engine without a worker, reloading
 * every instance from the database on every input (`cacheSize: 0`), with the
 * `Database` service left in reach of the test body (it claims tasks the way a
 * worker does). One per machine and driver, on a fresh schema.
 */
import { Effect, Layer } from "effect"
import { orreryLayer, type WorkflowDefinition } from "../../../src/engine/index.js"
import { databaseLayer, type Driver, freshSchema } from "../../support/drivers.js"

export const withEngine = <A, E>(driver: Driver, workflows: ReadonlyArray<WorkflowDefinition<any>>, body: Effect.Effect<A, E, any>): Promise<A> => {
  const schema = freshSchema()
  const orrery = orreryLayer({ schema, workflows, worker: false, cacheSize: 0 }).pipe(
    Layer.provideMerge(databaseLayer(driver, schema)),
    Layer.orDie
  ) as Layer.Layer<any, never, never>
  return Effect.runPromise(Effect.scoped(body.pipe(Effect.provide(orrery))) as Effect.Effect<A, E, never>)
}

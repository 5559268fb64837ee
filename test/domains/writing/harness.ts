/**
 * The writing and back-office suites' Orrery: like test/support/engine.ts's
 * `withOrrery`, but the Database stays in the body's context (read models are
 * queried through it), and a bare Fastify app can carry a domain's routes.
 */
import { Context, Effect, Layer } from "effect"
import { answerRefusals } from "../../../src/http/errors.js"
import Fastify, { type FastifyInstance } from "fastify"
import type { DomainRoutesContext } from "../../../src/domain.js"
import { type Engine, type OrreryOptions, orreryLayer, type WorkflowDefinition } from "../../../src/engine/index.js"
import { Database } from "../../../src/log/index.js"
import { type Projection, type Projections, projectionsLayer } from "../../../src/projections/projection.js"
import { databaseLayer, type Driver, freshSchema } from "../../support/drivers.js"

export interface DomainOptions<W extends WorkflowDefinition<any>> extends Omit<OrreryOptions<W>, "schema"> {
  readonly services?: Layer.Layer<any, never, never>
  readonly projections?: ReadonlyArray<Projection>
}

export const withDomains = <A, E, W extends WorkflowDefinition<any>>(
  driver: Driver,
  options: DomainOptions<W>,
  body: (schema: string) => Effect.Effect<A, E, any>
): Promise<A> => {
  const schema = freshSchema()
  const orrery = projectionsLayer(options.projections ?? [], schema).pipe(
    Layer.provideMerge(orreryLayer({ ...options, schema })),
    Layer.provideMerge(databaseLayer(driver, schema)),
    Layer.provide(options.services ?? Layer.empty),
    Layer.orDie
  ) as Layer.Layer<any, never, never>
  return Effect.runPromise(Effect.scoped(body(schema).pipe(Effect.provide(orrery))) as Effect.Effect<A, E, never>)
}

/** A bare Fastify app with these domains' routes, reading the test's database. */
export const routesApp = (schema: string, ...routes: ReadonlyArray<(app: FastifyInstance, context: DomainRoutesContext) => Promise<void>>) =>
  Effect.gen(function*() {
    const db = yield* Database
    const services = yield* Effect.context<Engine | Projections>()
    const context: DomainRoutesContext = {
      db,
      schema,
      run: (effect) => Effect.runPromise(Effect.provideContext(effect, services as Context.Context<any>))
    }
    const app = Fastify()
    answerRefusals(app)
    for (const route of routes) void app.register(async (scope) => route(scope, context))
    yield* Effect.promise(() => app.ready())
    yield* Effect.addFinalizer(() => Effect.promise(() => app.close()))
    return app
  })

/** GET through `inject`, JSON back. */
export const get = (app: FastifyInstance, url: string) =>
  Effect.promise(async () => {
    const response = await app.inject({ method: "GET", url })
    return { status: response.statusCode, body: response.json() as any }
  })

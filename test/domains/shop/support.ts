/** Shared by the shop tests: running domains through the engine and reading what they wrote. */
import { Context, Effect, Layer, Result } from "effect"
import type { AnyStateMachine } from "xstate"
import { answerRefusals } from "../../../src/http/errors.js"
import Fastify, { type FastifyInstance } from "fastify"
import type { Domain } from "../../../src/domain.js"
import { Engine, type HistoryEntry, replay, streamOf } from "../../../src/engine/index.js"
import { Database, EventLog } from "../../../src/log/index.js"
import { Projections } from "../../../src/projections/projection.js"
import { orreryLayer } from "../../../src/engine/index.js"
import { projectionsLayer } from "../../../src/projections/projection.js"
import { domainServicesLayer } from "../../../src/orrery/application.js"
import { databaseLayer, type Driver, freshSchema } from "../../support/drivers.js"
import { until } from "../../support/engine.js"

export const domainEvents = (history: ReadonlyArray<HistoryEntry>) => history.filter((entry) => entry.kind === "domain")
export const domainTypes = (history: ReadonlyArray<HistoryEntry>) => domainEvents(history).map((entry) => entry.type)
export const dataOf = (history: ReadonlyArray<HistoryEntry>, type: string) => domainEvents(history).find((entry) => entry.type === type)?.data as any

/** Waits until the instance is in `state`; dies when it ends anywhere else first. A child may not exist yet: it is waited for. */
export const reachState = (type: string, id: string, state: string, timeoutMs = 20_000) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const read = engine.get(type, id).pipe(Effect.catchTag("InstanceNotFound", () => Effect.succeed(undefined)))
    const view = yield* until(read, (v) => v !== undefined && (v.state === state || v.status !== "running"), timeoutMs)
    if (view === undefined || view.state !== state) {
      return yield* Effect.die(new Error(`${type} ${id} ended in ${JSON.stringify(view?.state)} (${view?.status}), not ${state}: ${JSON.stringify(view?.failure ?? null)}`))
    }
    return view
  })

export const history = (type: string, id: string) => Engine.use((engine) => engine.history(type, id))

/**
 * Waits until every projection has applied every event of its types in the
 * log. `Projections.caughtUp` alone can return early on a Postgres server with
 * other open transactions (see ENGINE_BUG_caught_up_early.md): this also
 * counts the events applied against the events there are.
 */
export const caughtUp = (schema: string) =>
  Effect.gen(function*() {
    const projections = yield* Projections
    yield* projections.caughtUp
    for (const projection of projections.all) {
      const counts = rows(
        `select (select count(*) from ${schema}.events where type in (select jsonb_array_elements_text($1::text::jsonb))) as total,
           (select applied from ${schema}.projection_checkpoints where projection = $2) as applied`,
        [JSON.stringify(projection.types), projection.name]
      )
      yield* until(counts, ([row]) => Number(row!.total) === Number(row!.applied))
    }
  })

/**
 * Runs `body` against an Orrery with the domains' workflows, services and
 * projections on `driver` — `withOrrery` (test/support/engine.ts), except that
 * the body can also reach the `Database`, to read the read models' and the
 * services' tables. `services` replaces the domains' services (their
 * migrations are still applied).
 */
export const withDomains = <A, E>(
  driver: Driver,
  domains: ReadonlyArray<Domain>,
  body: (schema: string) => Effect.Effect<A, E, any>,
  options: { readonly services?: Domain["services"] } = {}
): Promise<A> => {
  const schema = freshSchema()
  const orrery = projectionsLayer(domains.flatMap((domain) => domain.projections), schema).pipe(
    Layer.provideMerge(
      orreryLayer({
        schema,
        workflows: domains.flatMap((domain) => domain.workflows),
        // Activities that never answer (tok_timeout) must not hold the shutdown for long.
        worker: { drainMs: 200 }
      })
    ),
    // The domains' services over the same database: their migrations applied in this schema first.
    Layer.provideMerge(
      domainServicesLayer(
        options.services === undefined ? domains : domains.map((domain, index) => ({ ...domain, services: index === 0 ? options.services! : (Layer.empty as unknown as Domain["services"]) })),
        schema
      )
    ),
    Layer.provideMerge(databaseLayer(driver, schema)),
    Layer.orDie
  ) as Layer.Layer<any, never, never>
  return Effect.runPromise(Effect.scoped(body(schema).pipe(Effect.provide(orrery))) as Effect.Effect<A, E, never>)
}

/** A bare Fastify app with the domain's routes, reading this test's database and schema. */
export const appWith = (domain: Domain, schema: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const context = yield* Effect.context<Engine | Projections>()
    const app: FastifyInstance = Fastify()
    answerRefusals(app)
    yield* Effect.promise(() =>
      domain.routes!(app, { db, schema, run: (effect) => Effect.runPromise(Effect.provideContext(effect, context as Context.Context<Engine | Projections>)) })
    )
    yield* Effect.promise(() => app.ready())
    yield* Effect.addFinalizer(() => Effect.promise(() => app.close()))
    return app
  })

export const inject = (app: FastifyInstance, url: string) =>
  Effect.promise(() => app.inject({ method: "GET", url })).pipe(Effect.map((response) => ({ status: response.statusCode, body: response.json() as any })))

/** Every row of a read-model table, in a stable order. */
export const rows = (sql: string, params: ReadonlyArray<unknown> = []) => Database.use((db) => Effect.promise(() => db.query(sql, params)))

/** Replays an instance's recorded inputs through `machine` (the states and domain events must come out the same); the final state. */
export const replays = (type: string, id: string, machine: AnyStateMachine) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const events = yield* log.readStream(streamOf(type, id))
    const replayed = replay(events, machine)
    if (Result.isFailure(replayed)) return yield* Effect.die(replayed.failure)
    return replayed.success.snapshot?.value
  })

/**
 * Runs `body` with the domains' services alone (no engine) over a fresh schema
 * of `driver`, their migrations applied: for testing a service's operations
 * directly. The body can reach the `Database` to read the services' tables.
 */
export const withServices = <A, E>(driver: Driver, domains: ReadonlyArray<Domain>, body: (schema: string) => Effect.Effect<A, E, any>): Promise<A> => {
  const schema = freshSchema()
  const layer = domainServicesLayer(domains, schema).pipe(Layer.provideMerge(databaseLayer(driver, schema)), Layer.orDie) as Layer.Layer<any, never, never>
  return Effect.runPromise(Effect.scoped(body(schema).pipe(Effect.provide(layer))) as Effect.Effect<A, E, never>)
}

/**
 * The read models that run while a size's figures are taken: the shipped
 * domains' projections and the engine's transition heat, each a durable
 * subscription applying its events in transactions of its own, as `orrery
 * start` runs them in a deployment.
 *
 * After a fill they start at the log's head, as read models that kept up with
 * the load would stand: catching up on the copies (a million instances' rows)
 * is a cost of its own, measured by the subscription catch-up figure, not the
 * steady cost a deployment pays on every append and step.
 */
import { Effect } from "effect"
import { applicationProjections } from "../../src/orrery/application.js"
import { Database, EventLog } from "../../src/log/index.js"
import { type Projection, projectionsLayer, subscriptionOf } from "../../src/projections/projection.js"
import type { Domain } from "../../src/domain.js"

export interface ReadModelFigures {
  /** How many read models ran. */
  readonly running: number
  /** Events they applied while the figures were taken (the transition heat applies every step's input). */
  readonly applied: number
}

/**
 * Moves each read model's subscription to the log's head, creating it where it has none, and forgets its
 * checkpoint (a later size's fill copied rows past it), so that it starts again from its subscription's.
 */
const placeAtHead = (projections: ReadonlyArray<Projection>, schema: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const head = yield* EventLog.use((log) => log.headCursor)
    const names = JSON.stringify(projections.map((projection) => projection.name))
    yield* Effect.promise(async () => {
      const [checkpoints] = await db.query<{ found: boolean }>(`select to_regclass($1) is not null as found`, [`${schema}.projection_checkpoints`])
      if (checkpoints!.found) await db.query(`delete from ${schema}.projection_checkpoints where projection in (select jsonb_array_elements_text($1::text::jsonb))`, [names])
    })
    for (const projection of projections) {
      yield* Effect.promise(() =>
        db.query(
          `insert into ${schema}.subscriptions (name, transaction_id, position) values ($1, $2::text::xid8, $3)
           on conflict (name) do update set transaction_id = excluded.transaction_id, position = excluded.position`,
          [subscriptionOf(projection), head.transactionId, head.position]
        )
      )
    }
  })

/** Events applied by every read model since its checkpoint was placed (each counts them in its checkpoint's row). */
const appliedSoFar = (schema: string) =>
  Effect.flatMap(Database, (db) =>
    Effect.promise(() => db.query<{ n: number }>(`select coalesce(sum(applied), 0)::int as n from ${schema}.projection_checkpoints`))).pipe(Effect.map(([row]) => row!.n))

/**
 * Runs `figures` with the application's read models running from the log's head, and answers how many
 * events they applied meanwhile.
 *
 * @example
 * const { figures, readModels } = yield* withReadModels(domains, schema, measure(options))
 */
export const withReadModels = <A, E, R>(domains: ReadonlyArray<Domain>, schema: string, figures: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const projections = applicationProjections(domains)
    yield* placeAtHead(projections, schema)
    return yield* Effect.gen(function*() {
      const before = yield* appliedSoFar(schema)
      const measured = yield* figures
      const applied = (yield* appliedSoFar(schema)) - before
      return { figures: measured, readModels: { running: projections.length, applied } satisfies ReadModelFigures }
    }).pipe(Effect.provide(projectionsLayer(projections, schema)))
  })

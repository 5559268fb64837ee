/**
 * What a domain folder (machines/<name>, sagas/<name>) gives Orrery: its
 * workflows, its read models, the deterministic in-process services its
 * activities use by default (an application swaps them by providing other
 * Layers), the HTTP routes of its read side, and a demo.
 */
import type { Effect, Layer } from "effect"
import type { FastifyInstance } from "fastify"
import type { Engine, WorkflowDefinition } from "./engine/index.js"
import type { Queryable } from "./log/index.js"
import type { Projection, Projections } from "./projections/projection.js"

export interface DomainRoutesContext {
  /** For read-model queries; never write through it. */
  readonly db: Queryable
  /** The Postgres schema the read models' tables live in. */
  readonly schema: string
  /** Runs an Effect with the application's services. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Engine | Projections>) => Promise<A>
}

export interface Domain {
  readonly name: string
  readonly workflows: ReadonlyArray<WorkflowDefinition<any>>
  readonly projections: ReadonlyArray<Projection>
  /** May need the `Database` (state kept beside the log); nothing else. */
  readonly services: Layer.Layer<any, never, any>
  /** Registers its routes on the server (a Fastify plugin body). */
  readonly routes?: (app: FastifyInstance, context: DomainRoutesContext) => Promise<void>
  /** Starts a few instances that run to their ends (the demo). */
  readonly demo?: Effect.Effect<void, unknown, Engine>
}

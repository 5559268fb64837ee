/**
 * # Orrery
 *
 * Durable workflows that are ordinary XState machines, recorded in a Postgres
 * event log. This entry point is what a project writes its workflows with:
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { setup } from "xstate"
 * import { activityLogic, defineActivity, defineConfig, defineEvent, defineWorkflow } from "orrery"
 *
 * // 1. The domain events the machine emits, each with a schema.
 * export const Welcomed = defineEvent("signup.welcomed", Schema.Struct({ email: Schema.String }))
 *
 * // 2. The machine: pure XState; activities are named actors, timers are `after`.
 * const machine = setup({
 *   types: {} as { context: { email: string }; input: { email: string }; events: { type: "CONFIRM"; code: string } },
 *   actors: { sendWelcome: activityLogic<{ email: string }, { messageId: string }>() },
 *   delays: { confirmWindow: 24 * 3_600_000 }
 * }).createMachine({
 *   context: ({ input }) => ({ email: input.email }),
 *   initial: "waiting",
 *   states: {
 *     waiting: { on: { CONFIRM: "welcoming" }, after: { confirmWindow: "expired" } },
 *     welcoming: { invoke: { id: "welcome", src: "sendWelcome", input: ({ context }) => ({ email: context.email }), onDone: "done" } },
 *     done: { type: "final" },
 *     expired: { type: "final" }
 *   }
 * })
 *
 * // 3. The workflow: the machine, its schemas, and the Effect programs behind its activities.
 * export const signupWorkflow = defineWorkflow({
 *   type: "signup", version: 1, kind: "saga", machine,
 *   events: { input: Schema.Struct({ email: Schema.String }), accepts: { CONFIRM: Schema.Struct({ code: Schema.String }) }, emits: [Welcomed] },
 *   activities: { sendWelcome: defineActivity({ run: (input: { email: string }, run) => Effect.succeed({ messageId: run.idempotencyKey }) }) }
 * })
 *
 * // 4. orrery.config.ts: what `orrery start` serves.
 * export default defineConfig({ workflows: [signupWorkflow] })
 * ```
 *
 * Then drive it with `orrery/client` (over HTTP) or `createOrrery` (in this
 * process), test it with `orrery/testing`, and mount its API in your own
 * Fastify app with `orrery/fastify`. `docs/` has the guides.
 *
 * @module
 */

// -- Declaring workflows --------------------------------------------------------------
export {
  activityLogic,
  defineActivity,
  defineWorkflow,
  type AcceptedEvent,
  type ActivityDefinition,
  type ActivityRun,
  type AnyWorkflow,
  type WorkflowContext,
  type WorkflowDefinition,
  type WorkflowEvent,
  type WorkflowEvents,
  type WorkflowInput,
  type WorkflowOutput,
  type WorkflowRequirements,
  type WorkflowTypeName,
  type WorkflowTypes
} from "./engine/workflow.js"
export { defineEvent, type EventMetadata, type EventType, type NewEvent, type PayloadSchema, type RecordedEvent } from "./log/index.js"
export { describeError, errorMessage, errorTag } from "./kit/activity-errors.js"

// -- A project's configuration and its settings ----------------------------------------
export { defineConfig, defineDomain, type Domain, type DomainInspector, type DomainOptions, type DomainRoutes, type DomainRoutesContext, type InspectorPage, type OrreryConfig } from "./domain.js"
export { HttpError, httpError, invalidField, type ErrorBody, type RequestPart } from "./http/errors.js"
export { parseDuration } from "./kit/duration.js"
export { durationSetting, integerSetting, readSettings, refuseSetting, SettingError, textSetting, type Settings } from "./kit/settings.js"

// -- Running it in your own process ----------------------------------------------------
export { createOrrery, type CreateOrreryOptions, type DatabaseChoice, type Orrery } from "./orrery/create-orrery.js"
export { domainServicesLayer, type ApplicationServices } from "./orrery/application.js"

// -- Read models ------------------------------------------------------------------------
export { defineProjection, Projections, type Projection } from "./projections/projection.js"

// -- What callers see: views and typed errors -------------------------------------------
export type { HistoryEntry, InstanceReplay, InstanceView, ListFilter, PendingTask, StateCount } from "./engine/views.js"
export type { InstanceStatus, ParentLink } from "./engine/store.js"
export type { ReplayedStep } from "./engine/replay.js"
export {
  DeterminismError,
  DuplicateWorkflow,
  EventNotAccepted,
  InstanceBusy,
  InstanceExists,
  InstanceFinal,
  InstanceNotFound,
  MalformedTask,
  NothingToRetry,
  WorkflowNotFound
} from "./engine/errors.js"
export { IntegrityError, InvalidCursor, InvalidEvent, StoreUnavailable, VersionConflict } from "./log/index.js"
export { CircuitOpen, type CircuitBreakerOptions, type CircuitState, type CircuitView } from "./activities/circuit-breaker.js"
export { ResultTimeout, WorkflowCancelled, WorkflowFailed } from "./client/errors.js"
export type { CallOptions, InstancePage, OrreryClient, ResultOptions, StartedHandle, StartOptions, WorkflowHandle, WorkflowView } from "./client/types.js"

// -- Replaying a history in your own tests ----------------------------------------------
export { replay, replaySteps } from "./engine/replay.js"

// -- Checking an installation (what `orrery doctor` and GET /doctor report) --------------
export { checkup, type Check, type CheckLevel, type Checkup } from "./orrery/checkup.js"

// -- For Effect users: the engine as services and Layers --------------------------------
export { Engine, OrrerySchema, orreryLayer, type OrreryOptions } from "./engine/index.js"
export { Database, layerPglite, layerPostgres, type DatabaseShape, type Migration, type PgliteOptions, type PostgresOptions, type Queryable } from "./log/index.js"

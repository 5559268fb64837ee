/**
 * `orrery/client`: a typed HTTP client for an Orrery server. It needs nothing
 * but `fetch`, so it runs in any service (Node 20+, Deno, Bun, workers) and in
 * browsers; it never loads the engine, a database driver or Fastify.
 *
 * Typing. Give the client your workflow definitions as a type (`import type`
 * keeps them out of your bundle) and every type name, start input and event is
 * checked at compile time; or pass a definition itself to `start`:
 *
 * ```ts
 * import { createClient } from "orrery/client"
 * import type { workflows } from "./orrery.config.js"   // an array (or union) of defineWorkflow(...) results
 *
 * const client = createClient<typeof workflows>({ url: "http://127.0.0.1:7311", token: process.env.ORRERY_TOKEN })
 * const signup = await client.start("signup", { email: "a@example.com" }, { id: "s-1", idempotencyKey: "k-1" })
 * await signup.send({ type: "CONFIRM", code: "123456" })
 * const view = await signup.get()                         // { id, type, status, state, context, streamVersion, createdAt, … }
 * const output = await signup.result({ timeout: "30s" })  // waits (server-side) for a final state
 * const again = client.handle("signup", "s-1")            // send / get / result / cancel / retry / history / pending / replay
 * const page = await client.list({ type: "signup", status: "running" })
 * ```
 *
 * Errors. What the engine refuses arrives as the engine's own class, the same
 * one `orrery` exports (`InstanceNotFound`, `EventNotAccepted`, `InstanceFinal`,
 * `InvalidEvent`, …) with its fields; `httpStatus(error)` tells the status.
 * `result()` rejects with `WorkflowFailed`, `WorkflowCancelled` or
 * `ResultTimeout`. Anything else is an `OrreryHttpError` (401, 403, 429, a
 * refused request shape, a server fault: `status`, `error`, `message`,
 * `details`) or `OrreryUnreachable` (no answer at all). Every one has a `_tag`.
 *
 * ```ts
 * try {
 *   await again.send({ type: "CONFIRM", code: "000000" })
 * } catch (error) {
 *   if (error instanceof EventNotAccepted) console.log(error.state, error.accepted)
 *   else if (error instanceof OrreryHttpError && error.status === 401) console.log("check ORRERY_TOKEN")
 *   else throw error
 * }
 * ```
 *
 * Times come back as `Date`s, as they do in-process.
 */
export { createClient, type ClientOptions, type HttpClient, type LogEvent, type LogPage, type LogPageOptions, type MachineGraph, type MachineHeat, type MachineSummary, type Readiness, type VersionComparison } from "./client/http.js"
export type { Check, CheckLevel, Checkup } from "./orrery/checkup.js"
export type {
  CallOptions,
  InstancePage,
  OrreryClient,
  ReplayStepView,
  ReplayView,
  ResultOptions,
  StartOptions,
  StartedHandle,
  WorkflowHandle,
  WorkflowNamed,
  WorkflowsOf,
  WorkflowView
} from "./client/types.js"
export { ResultTimeout, WorkflowCancelled, WorkflowFailed } from "./client/errors.js"
export { OrreryHttpError, OrreryUnreachable, httpStatus, type ClientError, type EngineRefusal } from "./client/http-errors.js"
export {
  DeterminismError,
  EventNotAccepted,
  InstanceBusy,
  InstanceExists,
  InstanceFinal,
  InstanceNotFound,
  NothingToRetry,
  WorkflowNotFound
} from "./engine/errors.js"
export { IntegrityError, InvalidCursor, InvalidEvent, StoreUnavailable } from "./log/errors.js"
export type { HistoryEntry, InstanceView, ListFilter, PendingTask, StateCount } from "./engine/views.js"
export type { MachineVersionGraph, StateNodeGraph, TransitionGraph } from "./http/routes/machine-graph.js"
export type { WorkflowContext, WorkflowEvent, WorkflowInput, WorkflowOutput, WorkflowTypeName } from "./engine/workflow.js"

/**
 * The HTTP client: `OrreryClient` over the API with plain `fetch`, plus what
 * the CLI and dashboards read besides instances (the machine catalogue, the
 * census of states, readiness, the global log, metrics). No Node module is
 * imported anywhere below this file: it runs in browsers, Deno, Bun and
 * workers as well as Node.
 */
import type { Checkup } from "../orrery/checkup.js"
import type { StateCount } from "../engine/views.js"
import type { AnyWorkflow } from "../engine/workflow.js"
import type { VersionDiff } from "../http/routes/machine-diff.js"
import type { MachineVersionGraph } from "../http/routes/machine-graph.js"
import type { Heat, HeatWindow } from "../projections/transition-heat.js"
import { parseDuration } from "../kit/duration.js"
// Error classes are loaded on first use (they stand on effect's Schema, slow to load for a short-lived caller).
const resultErrors = () => import("./errors.js")
import { type Send, type TransportOptions, makeTransport, pathOf } from "./transport.js"
import type { CallOptions, InstancePage, OrreryClient, ResultOptions, StartOptions, StartedHandle, WorkflowHandle, WorkflowView } from "./types.js"
import { toHistoryEntry, toPendingTask, toReplay, toView } from "./views.js"

export type ClientOptions = TransportOptions

/** A workflow type in the catalogue. */
export interface MachineSummary {
  readonly type: string
  readonly kind: "aggregate" | "saga"
  readonly versions: ReadonlyArray<number>
  readonly newestVersion: number
}

/** A workflow type's machine as a graph (states and transitions), per registered version. */
export interface MachineGraph {
  readonly type: string
  readonly versions: ReadonlyArray<MachineVersionGraph>
}

/** Two versions of a machine compared, and the running instances of `from` standing in states `to` removed. */
export interface VersionComparison extends VersionDiff {
  readonly type: string
  readonly from: number
  readonly to: number
  /** One row per removed state: how many running instances on `from` stand in it, and a few of their ids. */
  readonly stranded: ReadonlyArray<{ readonly state: string; readonly count: number; readonly instances: ReadonlyArray<string> }>
}

/** How often each transition of a type was taken over a window (`GET /machines/{type}/heat`). */
export interface MachineHeat extends Heat {
  readonly type: string
  readonly window: HeatWindow
}

/** What `GET /health/ready` says: ready with the migrations applied, or why not. */
export type Readiness =
  | { readonly ready: true; readonly migrations: { readonly log: number; readonly engine: number } }
  | { readonly ready: false; readonly reason: string; readonly details?: unknown }

/** One event of the global log. */
export interface LogEvent {
  readonly position: number
  readonly streamId: string
  readonly streamVersion: number
  readonly eventId: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
  readonly metadata: Readonly<Record<string, unknown>>
  readonly time: Date
}

/** A page of the global log; pass `next` back as `after` to read on. */
export interface LogPage {
  readonly items: ReadonlyArray<LogEvent>
  readonly next: string
}

export interface LogPageOptions {
  /** The `next` of the previous page (default: the start of the log). */
  readonly after?: string
  /** 1-1000 (default 100). */
  readonly limit?: number
  /** Only events of these types. */
  readonly types?: ReadonlyArray<string>
}

/**
 * `OrreryClient` over HTTP, and what else the API tells a client: the
 * catalogue of workflow types, how many instances stand in each state,
 * readiness, the global log and the metrics.
 *
 * @example
 * ```ts
 * const client = createClient({ url: "http://127.0.0.1:7311", token })
 * for (const { type } of await client.machines()) {
 *   const running = (await client.census(type)).filter((row) => row.status === "running")
 *   console.log(type, running.reduce((sum, row) => sum + row.count, 0))
 * }
 * const health = await client.ready()
 * if (!health.ready) console.log(`not ready: ${health.reason}`)
 * ```
 */
export interface HttpClient<W = AnyWorkflow> extends OrreryClient<W> {
  /** The base URL the client talks to. */
  readonly url: string
  /** Every registered workflow type, by name. */
  machines(): Promise<ReadonlyArray<MachineSummary>>
  /** A workflow type's machine as a graph, per registered version; `WorkflowNotFound` for an unknown type. */
  machine(type: string): Promise<MachineGraph>
  /** How many instances of a type stand in each state, by version and status. */
  census(type: string): Promise<ReadonlyArray<StateCount>>
  /**
   * What changed from one registered version of a machine to another, and the running instances
   * on `from` standing in states `to` no longer has; `WorkflowNotFound` for an unknown type or version.
   *
   * @example
   * ```ts
   * const { states, stranded } = await client.compare("order", 1, 2)
   * console.log(states.removed.map((state) => state.path), stranded.filter((row) => row.count > 0))
   * ```
   */
  compare(type: string, from: number, to: number): Promise<VersionComparison>
  /**
   * How often each transition of a type was taken over the last hour (the default), day or
   * the whole log, one row per source, event and target; `WorkflowNotFound` for an unknown type.
   *
   * @example
   * const { transitions } = await client.heat("order", "day")
   * const paid = transitions.find((t) => t.event === "PAY")?.count ?? 0
   */
  heat(type: string, window?: HeatWindow): Promise<MachineHeat>
  /** Whether the server can serve: its database answers and carries the migrations it needs. Never rejects for "not ready". */
  ready(): Promise<Readiness>
  /** The global event log, a page at a time. */
  events(options?: LogPageOptions): Promise<LogPage>
  /** The Prometheus metrics, as text. */
  metrics(): Promise<string>
  /** The installation's checkup, as `orrery doctor` prints it; reads every history, so not a probe to poll. */
  doctor(): Promise<Checkup>
}

/** The most one request asks the server to wait for a result; longer waits are chained (the server caps each wait too). */
const longPollMs = 30_000

const timeoutOf = (timeout: number | string | undefined): number => {
  if (timeout === undefined) return 30_000
  const ms = typeof timeout === "number" ? timeout : parseDuration(timeout)
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`result timeout must be milliseconds or a duration like "30s", "5m" or "1h", got ${JSON.stringify(timeout)}`)
  }
  return ms
}

/** The start input and options, the idempotency key and correlation id as the API takes them. */
const callHeaders = (options: CallOptions & { readonly idempotencyKey?: string }) => ({
  "x-correlation-id": options.correlationId,
  "idempotency-key": options.idempotencyKey
})

/** What `result()` gives for a final instance: its output, or the failure as a typed error. */
const outcomeOf = async (view: WorkflowView<any>): Promise<unknown> => {
  if (view.status === "done") return view.output
  if (view.status === "cancelled") {
    const reason = (view.failure as { reason?: unknown } | undefined)?.reason
    throw new (await resultErrors()).WorkflowCancelled({ workflowType: view.type, instanceId: view.id, reason: typeof reason === "string" ? reason : "" })
  }
  throw new (await resultErrors()).WorkflowFailed({ workflowType: view.type, instanceId: view.id, failure: view.failure ?? null })
}

const makeHandle = (send: Send, type: string, id: string): WorkflowHandle<any> => {
  const path = `/workflows${pathOf(type, id)}`
  return {
    type,
    id,
    send: async (event, options = {}) => toView((await send({ method: "POST", path: `${path}/events`, body: event, headers: callHeaders(options) })).body),
    get: async () => toView((await send({ method: "GET", path })).body),
    result: async (options: ResultOptions = {}) => {
      const timeoutMs = timeoutOf(options.timeout)
      const deadline = Date.now() + timeoutMs
      while (true) {
        const left = Math.max(0, Math.ceil(deadline - Date.now()))
        const answer = await send({ method: "GET", path: `${path}/result`, query: { timeout: `${Math.min(left, longPollMs)}ms` } })
        const view = toView<any>(answer.body)
        if (view.status !== "running") return outcomeOf(view)
        if (Date.now() >= deadline) throw new (await resultErrors()).ResultTimeout({ workflowType: type, instanceId: id, timeoutMs })
      }
    },
    cancel: async (reason, options = {}) =>
      toView((await send({ method: "POST", path: `${path}/cancel`, body: reason === undefined ? {} : { reason }, headers: callHeaders(options) })).body),
    retry: async (options = {}) => toView((await send({ method: "POST", path: `${path}/retry`, headers: callHeaders(options) })).body),
    verify: async () => toView((await send({ method: "POST", path: `${path}/verify` })).body),
    history: async () => ((await send({ method: "GET", path: `${path}/history` })).body.items as ReadonlyArray<any>).map(toHistoryEntry),
    pending: async () => ((await send({ method: "GET", path: `${path}/pending` })).body.items as ReadonlyArray<any>).map(toPendingTask),
    replay: async (options = {}) => toReplay((await send({ method: "GET", path: `${path}/replay`, query: { version: options.version } })).body)
  }
}

const typeOf = (workflow: string | AnyWorkflow): string => (typeof workflow === "string" ? workflow : workflow.type)

/**
 * A typed client for an Orrery server, over HTTP with plain `fetch` (no Node
 * module needed: it runs in browsers too). Made as `createClient<typeof
 * workflows>`, workflow type names, start inputs and events are checked at
 * compile time; `client.start(definition, input)` checks the input with no type
 * parameter at all. The server's refusals arrive as the engine's own typed
 * errors (`InstanceNotFound`, `EventNotAccepted`, …; `httpStatus(error)` gives
 * the status); anything else as `OrreryHttpError` or `OrreryUnreachable`.
 *
 * @example
 * ```ts
 * import { createClient } from "orrery/client"
 * import type { workflows } from "./orrery.config.js"
 *
 * const client = createClient<typeof workflows>({ url: "http://127.0.0.1:7311", token: process.env.ORRERY_TOKEN })
 * const signup = await client.start("signup", { email: "a@example.com" }, { id: "s-1", idempotencyKey: "k-1" })
 * await signup.send({ type: "CONFIRM", code: "123456" })
 * const output = await signup.result({ timeout: "30s" })
 * const page = await client.list({ type: "signup", status: "running" })
 * ```
 */
export const createClient = <W = AnyWorkflow>(options: ClientOptions): HttpClient<W> => {
  const { base, send } = makeTransport(options)

  const start = async (workflow: string | AnyWorkflow, input: unknown, startOptions: StartOptions = {}): Promise<StartedHandle<any>> => {
    const type = typeOf(workflow)
    const answer = await send({
      method: "POST",
      path: `/workflows${pathOf(type)}`,
      body: { input, ...(startOptions.id === undefined ? {} : { id: startOptions.id }) },
      headers: callHeaders(startOptions)
    })
    const instance = toView<any>(answer.body)
    return { ...makeHandle(send, instance.type, instance.id), created: answer.status === 201, instance }
  }

  return {
    url: base,
    start: start as HttpClient<W>["start"],
    handle: ((workflow: string | AnyWorkflow, id: string) => makeHandle(send, typeOf(workflow), id)) as HttpClient<W>["handle"],
    list: async (filter = {}): Promise<InstancePage> => {
      const { body } = await send({ method: "GET", path: "/workflows", query: { ...filter } })
      return { items: (body.items as ReadonlyArray<any>).map((item) => toView(item)), nextCursor: body.nextCursor ?? null }
    },
    machines: async () => (await send({ method: "GET", path: "/machines" })).body.items,
    machine: async (type) => (await send({ method: "GET", path: `/machines${pathOf(type)}` })).body,
    census: async (type) => (await send({ method: "GET", path: `/machines${pathOf(type)}/states` })).body.items,
    compare: async (type, from, to) => (await send({ method: "GET", path: `/machines${pathOf(type)}/compare`, query: { from, to } })).body,
    heat: async (type, window) => (await send({ method: "GET", path: `/machines${pathOf(type)}/heat`, query: { window } })).body,
    ready: async () => {
      try {
        const { body } = await send({ method: "GET", path: "/health/ready" })
        return { ready: true, migrations: body.migrations }
      } catch (error) {
        if (error instanceof (await import("./http-errors.js")).OrreryHttpError && error.status === 503) {
          return { ready: false, reason: error.message, ...(error.details === undefined ? {} : { details: error.details }) }
        }
        throw error
      }
    },
    events: async (page = {}) => {
      const { body } = await send({
        method: "GET",
        path: "/events",
        query: { after: page.after, limit: page.limit, type: page.types === undefined ? undefined : page.types.join(",") }
      })
      return { items: (body.items as ReadonlyArray<any>).map((event) => ({ ...event, time: new Date(event.time) })), next: body.next }
    },
    metrics: async () => (await send<string>({ method: "GET", path: "/metrics", text: true })).body,
    doctor: async () => (await send({ method: "GET", path: "/doctor" })).body
  }
}

/**
 * What /metrics reports. Request latencies are observed as requests finish.
 * Engine activity — inputs handled, activities by outcome, retries, timers and
 * how late they fired — is counted from the event log itself: each scrape reads
 * the log from where the previous one stopped (from its head when the server
 * started), so the counters cover every process writing to this database, and
 * cost nothing between scrapes. Gauges (circuits, the task queue, parked
 * events, this process's worker) are read at scrape time, and so are the
 * per-worker counts: every worker keeps its totals in the workers table, so
 * an API process with no worker of its own reports all of them.
 */
import { Clock, Effect, Option } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { CircuitBreaker, Engine, EngineRuntime, Worker } from "../../engine/index.js"
import { Database, EventLog, type LogCursor, type ReadAllResult, type RecordedEvent } from "../../log/index.js"
import type { Runner } from "../runner.js"
import { makeHistogram, makeSeries, renderFamilies } from "./prometheus.js"

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const latenessBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
/** Events read from the log per scrape, at most: a scrape after a long silence catches up over several. */
const maxEventsPerScrape = 50_000
const page = 5_000

export interface Metrics {
  readonly observeRequest: (method: string, route: string, status: number, seconds: number) => void
  readonly render: () => Promise<string>
  /** Open SSE streams, kept by the stream route. */
  readonly streams: { open: number }
}

export const makeMetrics = async (run: Runner): Promise<Metrics> => {
  const requests = makeHistogram("orrery_http_request_duration_seconds", "HTTP request latency by method, route template and status", latencyBuckets)
  const inputs = makeSeries("orrery_inputs_total", "Inputs handled (one transaction each), by input type; counted from the log since this server started", "counter")
  const logEvents = makeSeries("orrery_log_events_total", "Events appended to the log since this server started, by kind (input, domain, record)", "counter")
  const activities = makeSeries("orrery_activities_total", "Activity runs that ended, by activity and outcome (completed, failed)", "counter")
  const attemptFailures = makeSeries("orrery_activity_attempt_failures_total", "Failed activity attempts (each is retried unless it was the last), by activity", "counter")
  const manualRetries = makeSeries("orrery_workflow_retries_total", "Failed activities re-run through retry, by workflow type", "counter")
  const timerLateness = makeHistogram("orrery_timer_lateness_seconds", "How long after its due time each timer fired", latenessBuckets)
  const tailErrors = makeSeries("orrery_metrics_log_read_errors_total", "Failures reading the log for these metrics", "counter")
  const circuits = makeSeries("orrery_circuit_state", "Circuit breaker state per dependency, 1 for the current state; shared by every worker on the database", "gauge")
  const circuitTransitions = makeSeries("orrery_circuit_transitions_total", "Circuit breaker state changes per dependency, by the state moved to (open, half_open, closed); from the circuits table", "counter")
  const nextDue = makeSeries("orrery_tasks_next_due_seconds", "Seconds until the next unclaimed task (activity, timer, message) is due; 0 means one is due and waiting now", "gauge")
  const inHand = makeSeries("orrery_worker_tasks_in_hand", "Tasks leased to this process's worker right now", "gauge")
  const workerTasks = makeSeries("orrery_worker_tasks_total", "Tasks each worker ran, by kind (activity, timer, message, start) and outcome (completed, failed, done, error); as of the worker's last beat, from the workers table", "counter")
  const workerUp = makeSeries("orrery_worker_up", "1 for a worker that beat lately and has not stopped, 0 for one known but gone", "gauge")
  const tasks = makeSeries("orrery_tasks", "Tasks of every instance by kind and state: scheduled (not yet due), due (unclaimed), late (due over a second ago, unclaimed), leased (a worker holds it)", "gauge")
  const lag = makeSeries("orrery_subscription_lag_events", "Positions the log's head is past each subscription's checkpoint", "gauge")
  const parked = makeSeries("orrery_subscription_parked_events", "Events parked by a failing subscription, by subscription", "gauge")
  const head = makeSeries("orrery_log_head_position", "Global position of the newest event in the log", "gauge")
  const databaseUp = makeSeries("orrery_database_up", "1 when the database answered this scrape", "gauge")
  const sse = makeSeries("orrery_http_streams_open", "Server-Sent Event streams open now", "gauge")
  const memory = makeSeries("process_resident_memory_bytes", "Resident memory of this process", "gauge")
  const uptime = makeSeries("process_uptime_seconds", "Seconds since this process started", "gauge")
  const loopDelay = makeSeries("nodejs_eventloop_delay_p99_seconds", "99th percentile of the event loop's delay since the previous scrape", "gauge")
  const streams = { open: 0 }
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()

  const count = (event: RecordedEvent) => {
    const kind = String(event.metadata.kind ?? "domain")
    logEvents.inc({ kind })
    if (kind === "input") inputs.inc({ type: event.type })
    const data = event.data as Record<string, unknown>
    switch (event.type) {
      case "activity.completed":
        return activities.inc({ activity: String(data.src), outcome: "completed" })
      case "activity.failed":
        return activities.inc({ activity: String(data.src), outcome: "failed" })
      case "activity.attempt_failed":
        return attemptFailures.inc({ activity: String(data.src) })
      case "workflow.retried":
        return manualRetries.inc({ workflow: event.streamId.slice(0, event.streamId.indexOf("-")) })
      case "timer.fired": {
        const late = (Date.parse(String(data.firedAt)) - Date.parse(String(data.dueAt))) / 1000
        if (Number.isFinite(late)) timerLateness.observe({}, Math.max(0, late))
        return
      }
    }
  }

  const headNow = await run(EventLog.use((log) => log.headCursor))
  let cursor: LogCursor | undefined = headNow._tag === "Success" ? headNow.value : undefined

  /** Reads what the log gained since the last scrape; at the first success after a failed start, begins at the head. */
  const tail = Effect.gen(function*() {
    const log = yield* EventLog
    if (cursor === undefined) {
      cursor = yield* log.headCursor
      return
    }
    let read = 0
    while (read < maxEventsPerScrape) {
      const batch: ReadAllResult = yield* log.readAll({ after: cursor, limit: page })
      batch.events.forEach(count)
      cursor = batch.next
      read += batch.events.length + batch.broken.length
      if (batch.events.length + batch.broken.length < page) break
    }
  })

  const gauges = Effect.gen(function*() {
    const db = yield* Database
    const log = yield* EventLog
    const runtime = yield* EngineRuntime
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const [due] = yield* Effect.tryPromise(() => db.query<{ wait_ms: number | null }>(runtime.statements.nextDue, [now]))
    nextDue.reset()
    if (due?.wait_ms !== null && due?.wait_ms !== undefined) nextDue.set({}, due.wait_ms / 1000)
    parked.reset()
    for (const event of yield* log.listParked()) parked.inc({ subscription: event.subscription })
    tasks.reset()
    const engine = yield* Engine
    for (const count of yield* engine.taskCounts) {
      for (const state of ["scheduled", "due", "late", "leased"] as const) tasks.set({ kind: count.kind, state }, count[state])
    }
    workerTasks.reset()
    workerUp.reset()
    for (const worker of yield* engine.workers) {
      workerUp.set({ worker: worker.id }, worker.up ? 1 : 0)
      for (const [key, value] of Object.entries(worker.counts)) {
        const [kind = key, outcome = ""] = key.split(":")
        workerTasks.set({ worker: worker.id, kind, outcome }, value)
      }
    }
    lag.reset()
    for (const subscription of yield* log.subscriptionLag) lag.set({ subscription: subscription.name }, subscription.behind)
    head.set({}, (yield* log.headCursor).position)
  })

  let scraping: Promise<unknown> = Promise.resolve()
  const render = async () => {
    // One scrape at a time: the log cursor is shared.
    const previous = scraping
    let done!: () => void
    scraping = new Promise<void>((resolve) => (done = resolve))
    await previous
    try {
      const tailed = await run(tail)
      if (tailed._tag === "Failure") tailErrors.inc()
      const read = await run(gauges)
      databaseUp.set({}, read._tag === "Success" && tailed._tag === "Success" ? 1 : 0)
      const local = await run(
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker
          const worker = yield* Effect.serviceOption(Worker)
          return { circuits: yield* breaker.states, inHand: Option.map(worker, (w) => w.inHand()) }
        })
      )
      circuits.reset()
      circuitTransitions.reset()
      inHand.reset()
      if (local._tag === "Success") {
        for (const { dependency, state, transitions } of local.value.circuits) {
          for (const candidate of ["closed", "open", "half_open"] as const) {
            circuits.set({ dependency, state: candidate }, candidate === state ? 1 : 0)
            circuitTransitions.set({ dependency, to: candidate }, transitions[candidate] ?? 0)
          }
        }
        if (Option.isSome(local.value.inHand)) inHand.set({}, local.value.inHand.value)
      }
      sse.set({}, streams.open)
      memory.set({}, process.memoryUsage.rss())
      uptime.set({}, Math.round(process.uptime()))
      loopDelay.set({}, delay.percentile(99) / 1e9)
      delay.reset()
      return renderFamilies([
        requests,
        inputs,
        logEvents,
        activities,
        attemptFailures,
        manualRetries,
        timerLateness,
        tailErrors,
        circuits,
        circuitTransitions,
        nextDue,
        tasks,
        inHand,
        workerTasks,
        workerUp,
        lag,
        parked,
        head,
        databaseUp,
        sse,
        memory,
        uptime,
        loopDelay
      ])
    } finally {
      done()
    }
  }

  return {
    observeRequest: (method, route, status, seconds) => requests.observe({ method, route, status }, seconds),
    render,
    streams
  }
}

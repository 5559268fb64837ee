/**
 * A check of an installation on its database, as `orrery doctor` prints it and
 * `GET /doctor` answers it: the database answers and carries the migrations
 * this code needs, every stream of the log reads back with its hash chain
 * intact and its payloads decoding, every history as long as its instance row
 * says, no task waits unclaimed (is a
 * worker running?), no read model has parked events. It writes nothing but the
 * `corrupted` mark on an instance whose history it finds broken, as any read
 * that meets the break does; what it finds is data, so one report serves the
 * CLI (on the database or through a server) and the HTTP API alike.
 */
import { Effect } from "effect"
import { Engine, EngineRuntime, engineMigrations, type InstanceKey, streamOf, WorkflowRegistry } from "../engine/index.js"
import { type BrokenEvent, currentVersion, Database, EventLog, logMigrations, type Migration } from "../log/index.js"
import { rebuildsUnderway } from "../projections/projection.js"

/** `ok` is fine, `warn` wants a look, `fail` is a problem (the check fails). */
export type CheckLevel = "ok" | "warn" | "fail"

export interface Check {
  readonly level: CheckLevel
  /** What was checked: `database`, `migrations`, a workflow type, `history`, `tasks`, `read models`. */
  readonly subject: string
  readonly message: string
}

export interface Checkup {
  readonly checks: ReadonlyArray<Check>
  /** How many checks are `fail`; 0 means healthy. */
  readonly problems: number
}

const statuses = ["running", "done", "failed", "cancelled"] as const

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`

/** Rows (or instances) a page of the history walks reads. */
const walkPage = 5_000

/**
 * Runs every check. `migrations` are the ones this code needs (default: the
 * log's and the engine's); a database error that stops a check is the effect's
 * failure, anything the data says is a check.
 *
 * @example
 * ```ts
 * const report = yield* checkup()
 * for (const check of report.checks) console.log(check.level, `${check.subject}: ${check.message}`)
 * ```
 */
export const checkup = (migrations: ReadonlyArray<Migration> = [...logMigrations, ...engineMigrations]) =>
  Effect.gen(function*() {
    const db = yield* Database
    const engine = yield* Engine
    const log = yield* EventLog
    const registry = yield* WorkflowRegistry
    const runtime = yield* EngineRuntime
    const { schema } = runtime
    const checks: Array<Check> = []
    const check = (level: CheckLevel, subject: string, message: string) => checks.push({ level, subject, message })

    check("ok", "database", `${db.driver} at ${db.location}`)
    for (const component of [...new Set(migrations.map((migration) => migration.component))]) {
      const needed = Math.max(...migrations.filter((migration) => migration.component === component).map((migration) => migration.version))
      const applied = yield* Effect.tryPromise(() => currentVersion(db, schema, component)).pipe(Effect.result)
      if (applied._tag === "Failure") check("fail", "migrations", `${component}: cannot be read (${String(applied.failure.cause)})`)
      else if (applied.success >= needed) check("ok", "migrations", `${component} ${applied.success}`)
      else check("fail", "migrations", `${component} ${applied.success}, this release needs ${needed} (run orrery migrate)`)
    }

    const types = [...new Set(registry.all.map((definition) => definition.type))].sort()
    for (const type of types) {
      const byStatus = new Map<string, number>()
      for (const row of yield* engine.census(type)) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + row.count)
      const failed = byStatus.get("failed") ?? 0
      const summary = statuses.filter((status) => byStatus.has(status)).map((status) => `${byStatus.get(status)} ${status}`).join(", ")
      check(failed > 0 ? "warn" : "ok", type, `${summary === "" ? "no instances" : summary}${failed > 0 ? ` (orrery list --type ${type} --status failed)` : ""}`)
    }

    // Every history, as two walks in pages rather than a read per instance (43 s a million events
    // that way): every stream's rows against their hash chain, then every instance row against its
    // log's head. What they find is read again through the instance's history, which names where it
    // breaks and marks the instance, as any read that meets the break does.
    const { events, streams, broken: brokenRows } = yield* log.checkStreams({ limit: walkPage })
    const brokenStreams = new Map<string, BrokenEvent>()
    for (const row of brokenRows) if (!brokenStreams.has(row.streamId)) brokenStreams.set(row.streamId, row)
    let instances = 0
    const owners = new Map<string, InstanceKey>()
    let key: InstanceKey | undefined
    do {
      const page = yield* runtime.instancesAheadOfLog(key, walkPage)
      instances += page.instances
      for (const ahead of page.ahead) owners.set(streamOf(ahead.workflowType, ahead.instanceId), ahead)
      key = page.next
    } while (key !== undefined)
    // The instance a broken stream is the history of: the longest registered type it begins with whose instance exists.
    const longestFirst = [...types].sort((a, b) => b.length - a.length)
    for (const stream of brokenStreams.keys()) {
      if (owners.has(stream)) continue
      for (const workflowType of longestFirst.filter((type) => stream.startsWith(`${type}-`))) {
        const instanceId = stream.slice(workflowType.length + 1)
        const found = yield* engine.get(workflowType, instanceId).pipe(Effect.result)
        if (found._tag === "Success" || found.failure._tag !== "InstanceNotFound") {
          owners.set(stream, { workflowType, instanceId })
          break
        }
      }
    }
    const broken: Array<Check> = []
    for (const [stream, found] of brokenStreams) {
      if (!owners.has(stream)) broken.push({ level: "fail", subject: `stream ${stream}`, message: found.error.message })
    }
    for (const { workflowType, instanceId } of owners.values()) {
      const read = yield* engine.history(workflowType, instanceId).pipe(Effect.result)
      if (read._tag === "Success") continue
      const advice = read.failure._tag === "IntegrityError" ? `; it refuses inputs until the rows are restored and it is verified (orrery verify ${workflowType} ${instanceId})` : ""
      broken.push({ level: "fail", subject: `history of ${workflowType}/${instanceId}`, message: `${read.failure.message}${advice}` })
    }
    if (broken.length === 0) {
      check("ok", "history", `${plural(events, "event")} in ${plural(streams, "stream")} read back, hash chains intact; ${plural(instances, "instance")} checked against them`)
    } else checks.push(...broken.sort((a, b) => a.subject.localeCompare(b.subject)))

    const tasks = yield* engine.taskCounts
    const late = tasks.reduce((sum, row) => sum + row.late, 0)
    const leased = tasks.reduce((sum, row) => sum + row.leased, 0)
    const scheduled = tasks.reduce((sum, row) => sum + row.scheduled, 0)
    if (late > 0) check("warn", "tasks", `${late} due over a second ago and unclaimed — is a worker running? (orrery start or orrery worker)`)
    else check("ok", "tasks", `${scheduled} scheduled, ${leased} held by workers, none late`)

    const parked = yield* log.listParked()
    if (parked.length > 0) {
      const subscriptions = [...new Set(parked.map((event) => event.subscription))].join(", ")
      check("fail", "read models", `${plural(parked.length, "parked event")} (${subscriptions}); fix the cause, then re-drive them`)
    } else check("ok", "read models", "no parked events")
    // A rebuild owns its read model until it completes; one that failed or was stopped leaves the live subscriptions aside.
    for (const row of yield* rebuildsUnderway(db, schema)) {
      check("warn", "read models", `${row.projection} is being rebuilt (last page at ${row.since.toISOString()}); if no rebuild runs, run orrery projections rebuild ${row.projection} again`)
    }

    return { checks, problems: checks.filter((c) => c.level === "fail").length } satisfies Checkup
  })

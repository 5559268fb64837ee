/**
 * A check of an installation on its database, as `orrery doctor` prints it and
 * `GET /doctor` answers it: the database answers and carries the migrations
 * this code needs, every instance's history reads back with its hash chain
 * intact and as long as its instance row says, no task waits unclaimed (is a
 * worker running?), no read model has parked events. It writes nothing but the
 * `corrupted` mark on an instance whose history it finds broken, as any read
 * that meets the break does; what it finds is data, so one report serves the
 * CLI (on the database or through a server) and the HTTP API alike.
 */
import { Effect } from "effect"
import { currentVersion, Database, EventLog, fromDriver, logMigrations, type Migration } from "../log/index.js"
import { Engine } from "./engine.js"
import { EngineRuntime } from "./runtime.js"
import { WorkflowRegistry } from "./registry.js"
import { engineMigrations } from "./store.js"

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
    const { schema } = yield* EngineRuntime
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

    let instances = 0
    let entries = 0
    const broken: Array<Check> = []
    for (const type of [...new Set(registry.all.map((definition) => definition.type))].sort()) {
      const byStatus = new Map<string, number>()
      for (const row of yield* engine.census(type)) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + row.count)
      const failed = byStatus.get("failed") ?? 0
      const summary = statuses.filter((status) => byStatus.has(status)).map((status) => `${byStatus.get(status)} ${status}`).join(", ")
      check(failed > 0 ? "warn" : "ok", type, `${summary === "" ? "no instances" : summary}${failed > 0 ? ` (orrery list --type ${type} --status failed)` : ""}`)
      let cursor: string | undefined
      do {
        const page = yield* engine.list({ type, limit: 200, ...(cursor === undefined ? {} : { cursor }) })
        for (const item of page.items) {
          instances++
          const read = yield* engine.history(type, item.id).pipe(Effect.result)
          if (read._tag === "Failure") {
            const advice = read.failure._tag === "IntegrityError" ? `; it refuses inputs until the rows are restored and it is verified (orrery verify ${type} ${item.id})` : ""
            broken.push({ level: "fail", subject: `history of ${type}/${item.id}`, message: `${read.failure.message}${advice}` })
            continue
          }
          entries += read.success.length
        }
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
    }
    if (broken.length === 0) check("ok", "history", `${entries} entries of ${instances} instances read back, hash chains intact`)
    else checks.push(...broken)

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
    const rebuilding = yield* fromDriver(db, async () => {
      const [table] = await db.query<{ found: boolean }>("select to_regclass($1) is not null as found", [`${schema}.projection_checkpoints`])
      if (!table!.found) return []
      return db.query<{ projection: string; since: Date }>(
        `select projection, updated_at as since from ${schema}.projection_checkpoints where rebuilding order by projection`
      )
    })
    for (const row of rebuilding) {
      check("warn", "read models", `${row.projection} is being rebuilt (last page at ${new Date(row.since).toISOString()}); if no rebuild runs, run orrery projections rebuild ${row.projection} again`)
    }

    return { checks, problems: checks.filter((c) => c.level === "fail").length } satisfies Checkup
  })

/**
 * `orrery doctor`: checks an installation on its database — it answers and is
 * migrated, every instance's history reads back with its hash chain intact, no
 * task waits unclaimed (a worker is running), no read model has parked events.
 * Problems fail it (exit 1).
 */
import { Effect } from "effect"
import { Engine, WorkflowRegistry } from "../engine/index.js"
import { currentVersion, Database, EventLog, type Migration } from "../log/index.js"
import { CommandFailed, type Say } from "./output.js"

const statuses = ["running", "done", "failed", "cancelled"] as const

const failed = (error: { readonly message: string }) => new CommandFailed({ message: error.message })

export const doctor = (say: Say, migrations: ReadonlyArray<Migration>, schema: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const engine = yield* Engine
    const log = yield* EventLog
    const registry = yield* WorkflowRegistry
    const problems: Array<string> = []
    const ok = (line: string) => say(`ok    ${line}`)
    const warn = (line: string) => say(`warn  ${line}`)
    const bad = (line: string) => {
      problems.push(line)
      say(`FAIL  ${line}`)
    }

    ok(`database: ${db.driver} at ${db.location}`)
    for (const component of [...new Set(migrations.map((migration) => migration.component))]) {
      const applied = yield* Effect.tryPromise({ try: () => currentVersion(db, schema, component), catch: (error) => failed({ message: `cannot read the migrations: ${String(error)}` }) })
      const needed = Math.max(...migrations.filter((migration) => migration.component === component).map((migration) => migration.version))
      if (applied >= needed) ok(`migrations: ${component} ${applied}`)
      else bad(`migrations: ${component} ${applied}, this release needs ${needed} (run orrery migrate)`)
    }

    let instances = 0
    let entries = 0
    const broken: Array<string> = []
    for (const type of [...new Set(registry.all.map((definition) => definition.type))].sort()) {
      const counts = yield* engine.census(type).pipe(Effect.mapError(failed))
      const byStatus = new Map<string, number>()
      for (const row of counts) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + row.count)
      const failedCount = byStatus.get("failed") ?? 0
      const summary = statuses.filter((status) => byStatus.has(status)).map((status) => `${byStatus.get(status)} ${status}`).join(", ")
      ;(failedCount > 0 ? warn : ok)(`${type}: ${summary === "" ? "no instances" : summary}${failedCount > 0 ? ` (orrery list --type ${type} --status failed)` : ""}`)
      let cursor: string | undefined
      do {
        const page = yield* engine.list({ type, limit: 200, ...(cursor === undefined ? {} : { cursor }) }).pipe(Effect.mapError(failed))
        for (const item of page.items) {
          instances++
          const read = yield* engine.history(type, item.id).pipe(Effect.result)
          if (read._tag === "Success") entries += read.success.length
          else broken.push(`${type}/${item.id}: ${read.failure.message}`)
        }
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
    }
    if (broken.length === 0) ok(`history: ${entries} entries of ${instances} instances read back, hash chains intact`)
    else for (const line of broken) bad(`history of ${line}`)

    const tasks = yield* engine.taskCounts.pipe(Effect.mapError(failed))
    const late = tasks.reduce((sum, row) => sum + row.late, 0)
    const leased = tasks.reduce((sum, row) => sum + row.leased, 0)
    const scheduled = tasks.reduce((sum, row) => sum + row.scheduled, 0)
    if (late > 0) warn(`tasks: ${late} due over a second ago and unclaimed — is a worker running? (orrery start or orrery worker)`)
    else ok(`tasks: ${scheduled} scheduled, ${leased} held by workers, none late`)

    const parked = yield* log.listParked().pipe(Effect.mapError(failed))
    if (parked.length > 0) bad(`read models: ${parked.length} parked events (${[...new Set(parked.map((event) => event.subscription))].join(", ")}); fix the cause, then re-drive them`)
    else ok("read models: no parked events")

    if (problems.length > 0) return yield* Effect.fail(new CommandFailed({ message: `${problems.length} problem${problems.length === 1 ? "" : "s"} found` }))
    say("no problems found")
  })

/**
 * The debugging commands: list, show, history, replay (against the instance's
 * own machine, another registered version, or a changed machine loaded from a
 * file — before deploying it), export, retry, cancel and doctor. Each is an
 * Effect over the engine's public API, printing lines for people or JSON with
 * `--json`; a refusal is a CommandFailed with one line.
 */
import { Effect, Schema } from "effect"
import { pathToFileURL } from "node:url"
import { resolve } from "node:path"
import { readFile, writeFile } from "node:fs/promises"
import {
  Engine,
  type HistoryEntry,
  type InstanceReplay,
  type InstanceView,
  type ReplayedSteps,
  WorkflowRegistry,
  type WorkflowDefinition,
  replaySteps
} from "../engine/index.js"
import type { RecordedEvent } from "../log/index.js"
import { currentVersion, Database, EventLog } from "../log/index.js"
import { allMigrations, schema } from "./app.js"

export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  message: Schema.String
}) {}

export type Say = (line: string) => void

/** Engine and log errors carry a message a person can act on; so does every refusal here. */
const failed = (error: { readonly message: string }) => new CommandFailed({ message: error.message })

const json = (value: unknown) => JSON.stringify(value, null, 2)

/** `{"a":{"b":"c"}}` → `a.b.c`; parallel regions joined with ", ". */
export const stateText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value === null || typeof value !== "object") return String(value)
  return Object.entries(value).map(([key, inner]) => (typeof inner === "string" ? `${key}.${inner}` : `${key}.{${stateText(inner)}}`)).join(", ")
}

const time = (value: Date | string) => new Date(value).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")

/** Columns padded to their widest cell. */
const columns = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = rows[0]?.map((_, index) => Math.max(...rows.map((row) => row[index]?.length ?? 0))) ?? []
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join("  ").trimEnd())
}

const short = (value: unknown, width = 100) => {
  const text = JSON.stringify(value) ?? ""
  return text.length > width ? `${text.slice(0, width - 1)}…` : text
}

// -- list / show / history -------------------------------------------------------------

export interface ListOptions {
  readonly type?: string
  readonly status?: string
  readonly state?: string
  readonly limit?: string
  readonly cursor?: string
  readonly json?: boolean
}

const statuses = ["running", "done", "failed", "cancelled"] as const

export const list = (options: ListOptions, say: Say) =>
  Effect.gen(function*() {
    const limit = options.limit === undefined ? 50 : Number(options.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return yield* new CommandFailed({ message: `--limit must be a whole number from 1 to 500, got ${JSON.stringify(options.limit)}` })
    if (options.status !== undefined && !(statuses as ReadonlyArray<string>).includes(options.status)) {
      return yield* new CommandFailed({ message: `--status must be one of ${statuses.join(", ")}, got ${JSON.stringify(options.status)}` })
    }
    const engine = yield* Engine
    const page = yield* engine
      .list({
        ...(options.type === undefined ? {} : { type: options.type }),
        ...(options.status === undefined ? {} : { status: options.status as (typeof statuses)[number] }),
        ...(options.state === undefined ? {} : { state: options.state }),
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
        limit
      })
      .pipe(Effect.mapError(failed))
    if (options.json === true) return say(json(page))
    if (page.items.length === 0) return say("no instances")
    for (const line of columns([
      ["TYPE", "ID", "VERSION", "STATUS", "STATE", "UPDATED"],
      ...page.items.map((item) => [item.type, item.id, String(item.machineVersion), item.status, stateText(item.state), time(item.updatedAt)])
    ])) say(line)
    if (page.nextCursor !== null) say(`more: --cursor ${page.nextCursor}`)
  })

const describeInstance = (instance: InstanceView, say: Say) => {
  say(`${instance.type}/${instance.id}: ${instance.status} in ${stateText(instance.state)}`)
  say(`  version ${instance.machineVersion}, ${instance.streamVersion} history entries, started ${time(instance.createdAt)}, updated ${time(instance.updatedAt)}`)
  if (instance.parent !== undefined && instance.parent !== null) say(`  child of ${instance.parent.workflowType}/${instance.parent.instanceId}`)
  for (const child of Object.values(instance.children ?? {})) say(`  child ${child.workflowType}/${child.instanceId}`)
  if (instance.failure !== undefined && instance.failure !== null) say(`  failure: ${short(instance.failure, 300)}`)
  if (instance.output !== undefined) say(`  output: ${short(instance.output, 300)}`)
  say(`  context: ${json(instance.context).split("\n").join("\n  ")}`)
}

export const show = (workflowType: string, instanceId: string, options: { readonly json?: boolean }, say: Say) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const instance = yield* engine.get(workflowType, instanceId).pipe(Effect.mapError(failed))
    const pending = yield* engine.pending(workflowType, instanceId).pipe(Effect.mapError(failed))
    if (options.json === true) return say(json({ instance, pending }))
    describeInstance(instance, say)
    if (pending.length === 0) return say(instance.status === "running" ? "  waiting on: nothing scheduled (an event from a client)" : "  waiting on: nothing")
    say("  waiting on:")
    for (const task of pending) {
      const what = (task.payload as { src?: string } | null)?.src ?? task.key
      const holder = task.lockedBy === null ? "nobody holds it" : `held by ${task.lockedBy} until ${time(task.leasedUntil!)}`
      say(`    ${task.kind} ${what}: due ${time(task.dueAt)}, ${holder}${task.attempts > 0 ? `, ${task.attempts} attempts so far` : ""}`)
    }
  })

const historyLines = (entries: ReadonlyArray<HistoryEntry>) =>
  columns(
    entries.map((entry) => [
      `#${entry.streamVersion}`,
      entry.kind,
      entry.type,
      entry.kind === "input" && entry.metadata.state !== undefined ? `→ ${stateText(entry.metadata.state)}` : "",
      time(entry.time),
      short(entry.data)
    ])
  )

export const history = (workflowType: string, instanceId: string, options: { readonly json?: boolean }, say: Say) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const entries = yield* engine.history(workflowType, instanceId).pipe(Effect.mapError(failed))
    if (options.json === true) return say(json(entries))
    for (const line of historyLines(entries)) say(line)
  })

// -- replay -----------------------------------------------------------------------------

const isDefinition = (value: unknown): value is WorkflowDefinition<any> =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { type?: unknown }).type === "string" &&
  typeof (value as { version?: unknown }).version === "number" &&
  typeof (value as { machine?: { transition?: unknown } }).machine?.transition === "function"

/** Every workflow definition a module exports: alone, in an array, or as a domain's `workflows`. */
const definitionsIn = (exports: Record<string, unknown>): ReadonlyArray<WorkflowDefinition<any>> =>
  Object.values(exports).flatMap((value) => {
    if (isDefinition(value)) return [value]
    if (Array.isArray(value)) return value.filter(isDefinition)
    const workflows = (value as { workflows?: unknown } | null)?.workflows
    return Array.isArray(workflows) ? workflows.filter(isDefinition) : []
  })

/** The changed machine to replay against: the newest definition of `workflowType` the file exports (or `version`). */
export const loadDefinition = (file: string, workflowType: string, version: number | undefined) =>
  Effect.gen(function*() {
    const exports = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(resolve(file)).href) as Promise<Record<string, unknown>>,
      catch: (error) => new CommandFailed({ message: `cannot load ${file}: ${error instanceof Error ? error.message : String(error)}` })
    })
    const all = definitionsIn(exports)
    const matching = all.filter((definition) => definition.type === workflowType && (version === undefined || definition.version === version)).sort((a, b) => b.version - a.version)
    if (matching[0] === undefined) {
      const found = all.map((definition) => `${definition.type}@${definition.version}`).join(", ")
      return yield* new CommandFailed({
        message: `${file} exports no ${workflowType}${version === undefined ? "" : ` version ${version}`} workflow (defineWorkflow); it exports ${found === "" ? "none" : found}`
      })
    }
    return matching[0]
  })

export interface ReplayOptions {
  /** A registered version to replay against. */
  readonly version?: string
  /** A module exporting the changed definition. */
  readonly against?: string
  readonly json?: boolean
}

const parseVersion = (text: string | undefined) =>
  text === undefined
    ? Effect.succeed(undefined)
    : /^[1-9]\d{0,8}$/.test(text)
      ? Effect.succeed(Number(text))
      : Effect.fail(new CommandFailed({ message: `--version must be a whole number from 1, got ${JSON.stringify(text)}` }))

const against = (replayed: InstanceReplay, definition: WorkflowDefinition<any> | undefined, file: string | undefined) =>
  definition === undefined ? `version ${replayed.machineVersion}${replayed.machineVersion === replayed.recordedVersion ? " (its own)" : ""}` : `${definition.type}@${definition.version} from ${file}`

/** One instance's replay, step by step (or as JSON); a departure fails with one line. */
const report = (label: string, replayed: ReplayedSteps, target: string, asJson: boolean, say: Say) => {
  if (asJson) say(json(replayed))
  else {
    for (const line of columns(
      replayed.steps.map((step) => [
        `step ${step.step}`,
        `#${step.input.streamVersion}`,
        step.input.type,
        `→ ${stateText(step.state)}`,
        step.emitted.length === 0 ? "" : `emits ${step.emitted.map((event) => event.type).join(", ")}`
      ])
    )) say(line)
  }
  if (replayed.divergence !== null) return Effect.fail(new CommandFailed({ message: `${label} departs from its history against ${target}: ${replayed.divergence.message}` }))
  if (!asJson) say(`${label}: ${replayed.steps.length} steps replay as recorded against ${target}`)
  return Effect.void
}

/**
 * Replays one instance step by step, or every instance of a type; a departure
 * from the recorded history fails the command (exit 1), so that a changed
 * machine can be checked against what production recorded before it ships.
 */
export const replay = (workflowType: string, instanceId: string | undefined, options: ReplayOptions, say: Say) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const version = yield* parseVersion(options.version)
    if (version !== undefined && options.against === undefined) {
      const registry = yield* WorkflowRegistry
      yield* registry.version(workflowType, version).pipe(Effect.mapError(failed))
    }
    const definition = options.against === undefined ? undefined : yield* loadDefinition(options.against, workflowType, version)
    const replayOne = (id: string) =>
      engine
        .replay(workflowType, id, { ...(definition === undefined ? {} : { definition }), ...(version === undefined || definition !== undefined ? {} : { version }) })
        .pipe(Effect.mapError(failed))

    if (instanceId !== undefined) {
      const replayed = yield* replayOne(instanceId)
      return yield* report(`${workflowType}/${instanceId}`, replayed, against(replayed, definition, options.against), options.json === true, say)
    }

    // Every instance of the type, page by page.
    let cursor: string | undefined
    let checked = 0
    const departed: Array<string> = []
    do {
      const page = yield* engine.list({ type: workflowType, limit: 200, ...(cursor === undefined ? {} : { cursor }) }).pipe(Effect.mapError(failed))
      for (const item of page.items) {
        const replayed = yield* replayOne(item.id)
        checked++
        if (replayed.divergence !== null) {
          departed.push(item.id)
          say(`${workflowType}/${item.id}: departs at step ${replayed.divergence.step}: ${replayed.divergence.message}`)
        } else if (options.json !== true) {
          say(`${workflowType}/${item.id}: ${replayed.steps.length} steps as recorded`)
        }
      }
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    const target = definition === undefined ? (version === undefined ? "each one's own version" : `version ${version}`) : `${definition.type}@${definition.version} from ${options.against}`
    if (departed.length > 0) {
      return yield* new CommandFailed({ message: `${departed.length} of ${checked} ${workflowType} instances depart from their history against ${target}` })
    }
    say(`all ${checked} ${workflowType} instances replay as recorded against ${target}`)
  })

// -- export -----------------------------------------------------------------------------

/** An instance's history as JSON lines: a header, then every entry in order. */
export const exportHistory = (workflowType: string, instanceId: string, options: { readonly out?: string }, say: Say) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const instance = yield* engine.get(workflowType, instanceId).pipe(Effect.mapError(failed))
    const entries = yield* engine.history(workflowType, instanceId).pipe(Effect.mapError(failed))
    const header = { orrery: "history", workflowType, instanceId, machineVersion: instance.machineVersion, status: instance.status, exportedAt: new Date().toISOString() }
    const lines = [header, ...entries].map((line) => JSON.stringify(line))
    if (options.out === undefined) return lines.forEach(say)
    yield* Effect.tryPromise({
      try: () => writeFile(options.out!, `${lines.join("\n")}\n`, { flag: "wx" }),
      catch: (error) => new CommandFailed({ message: `cannot write ${options.out}: ${(error as NodeJS.ErrnoException).code === "EEXIST" ? "it exists (choose another name)" : String(error)}` })
    })
    say(`exported ${entries.length} entries of ${workflowType}/${instanceId} to ${options.out}`)
  })

// -- replay from an export ---------------------------------------------------------------

interface ExportHeader {
  readonly orrery: "history"
  readonly workflowType: string
  readonly instanceId: string
  readonly machineVersion: number
}

/** An export's lines back as the header and the recorded events; a line that is not one names itself. */
const readExport = (file: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (error) => new CommandFailed({ message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error)}` })
    })
    const lines = text.split("\n").filter((line) => line.trim() !== "")
    const parsed: Array<Record<string, unknown>> = []
    for (const [index, line] of lines.entries()) {
      try {
        const value: unknown = JSON.parse(line)
        if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object")
        parsed.push(value as Record<string, unknown>)
      } catch (error) {
        return yield* new CommandFailed({ message: `${file} line ${index + 1} is not a JSON object: ${error instanceof Error ? error.message : String(error)}` })
      }
    }
    const [header, ...entries] = parsed
    if (header?.orrery !== "history" || typeof header.workflowType !== "string" || typeof header.instanceId !== "string" || typeof header.machineVersion !== "number") {
      return yield* new CommandFailed({ message: `${file} is not an export of orrery export (its first line names the workflow type, instance and version)` })
    }
    const events: Array<RecordedEvent> = []
    for (const [index, entry] of entries.entries()) {
      const { eventId, position, streamVersion, type, metadata, time } = entry
      if (typeof eventId !== "string" || typeof position !== "number" || typeof streamVersion !== "number" || typeof type !== "string" || metadata === null || typeof metadata !== "object" || typeof time !== "string") {
        return yield* new CommandFailed({ message: `${file} line ${index + 2} is not a history entry (eventId, position, streamVersion, type, data, metadata, time)` })
      }
      events.push({
        position,
        transactionId: "0",
        streamId: `${header.workflowType}-${header.instanceId}`,
        streamVersion,
        eventId,
        type,
        schemaVersion: 1,
        data: entry.data,
        metadata: metadata as RecordedEvent["metadata"],
        recordedAt: new Date(time)
      })
    }
    return { header: header as unknown as ExportHeader, events }
  })

/**
 * Replays an exported history without a database: through the changed machine
 * in `--against`, else the shipped definition of the version it ran on.
 */
export const replayFile = (file: string, options: ReplayOptions, shipped: ReadonlyArray<WorkflowDefinition<any>>, say: Say) =>
  Effect.gen(function*() {
    const { header, events } = yield* readExport(file)
    const version = yield* parseVersion(options.version)
    const definition =
      options.against !== undefined
        ? yield* loadDefinition(options.against, header.workflowType, version)
        : shipped.find((candidate) => candidate.type === header.workflowType && candidate.version === (version ?? header.machineVersion))
    if (definition === undefined) {
      return yield* new CommandFailed({ message: `no ${header.workflowType} version ${version ?? header.machineVersion} is shipped here; name the machine with --against <module>` })
    }
    const types = new Set(shipped.map((candidate) => candidate.type))
    const replayed = replaySteps(events, definition.machine, {
      invocables: { isActivity: (src) => src in definition.activities, isWorkflow: (src) => types.has(src) }
    })
    const target = options.against === undefined ? `version ${definition.version}` : `${definition.type}@${definition.version} from ${options.against}`
    return yield* report(`${header.workflowType}/${header.instanceId} (from ${file})`, replayed, target, options.json === true, say)
  })

// -- retry / cancel -----------------------------------------------------------------------

const callOptions = { actor: "cli" }

export const retry = (workflowType: string, instanceId: string, say: Say) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const instance = yield* engine.retry(workflowType, instanceId, callOptions).pipe(Effect.mapError(failed))
    say(`${workflowType}/${instanceId}: retrying in ${stateText(instance.state)}; a worker runs it`)
  })

export const cancel = (workflowType: string, instanceId: string, options: { readonly reason?: string }, say: Say) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const reason = options.reason ?? "cancelled from the command line"
    const instance = yield* engine.cancel(workflowType, instanceId, reason, callOptions).pipe(Effect.mapError(failed))
    say(`${workflowType}/${instanceId}: ${instance.status} in ${stateText(instance.state)} (${reason})`)
  })

// -- doctor -------------------------------------------------------------------------------

/**
 * Checks an installation: the database answers and is migrated, every instance's
 * history reads back with its hash chain intact, no task waits unclaimed (a
 * worker is running), no read model has parked events. Problems fail it.
 */
export const doctor = (say: Say) =>
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
    for (const component of [...new Set(allMigrations.map((migration) => migration.component))]) {
      const applied = yield* Effect.tryPromise({ try: () => currentVersion(db, schema, component), catch: (error) => failed({ message: `cannot read the migrations: ${String(error)}` }) })
      const needed = Math.max(...allMigrations.filter((migration) => migration.component === component).map((migration) => migration.version))
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

    if (problems.length > 0) return yield* new CommandFailed({ message: `${problems.length} problem${problems.length === 1 ? "" : "s"} found` })
    say("no problems found")
  })

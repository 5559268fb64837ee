/**
 * The commands that read and act on instances: list, show, history, replay
 * (against the instance's own machine, another registered version, or a
 * changed machine loaded from a file — before deploying it), export, send,
 * retry, cancel and doctor. Each works on an `OrreryClient`, so the same lines (or,
 * with `--json`, the same JSON) come out whether it talks to a running server
 * or to the database in this process. A refusal is one line.
 */
import { readFile, writeFile } from "node:fs/promises"
import type { CallOptions, ReplayView } from "../client/types.js"
import type { HistoryEntry } from "../engine/views.js"
import type { WorkflowDefinition } from "../engine/workflow.js"
import type { RecordedEvent } from "../log/index.js"
import { parseDuration } from "../kit/duration.js"
import { BadUsage, CommandFailed, type Say } from "./output.js"
import { importModule } from "./project.js"
import type { Source } from "./source.js"

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
  /** A duration (`15m`): instances that last moved longer ago than that. */
  readonly idle?: string
  readonly idPrefix?: string
  readonly limit?: string
  readonly cursor?: string
  readonly json?: boolean
}

const statuses = ["running", "done", "failed", "cancelled"] as const

/**
 * The list's numbers and choices read from its options, or the refusal of one: the command checks
 * them before it opens the database, so that a mistyped filter is answered at once.
 *
 * @example
 * const { limit, idleMs } = checkListOptions({ status: "running", idle: "15m" }) // 50, 900000
 */
export const checkListOptions = (options: ListOptions) => {
  const limit = options.limit === undefined ? 50 : Number(options.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CommandFailed({ message: `--limit must be a whole number from 1 to 500, got ${JSON.stringify(options.limit)}` })
  if (options.status !== undefined && !(statuses as ReadonlyArray<string>).includes(options.status)) {
    throw new CommandFailed({ message: `--status must be one of ${statuses.join(", ")}, got ${JSON.stringify(options.status)}` })
  }
  const idleMs = options.idle === undefined ? undefined : (parseDuration(options.idle) ?? null)
  if (idleMs === null) throw new CommandFailed({ message: `--idle must be a duration such as 30s, 15m or 2h, got ${JSON.stringify(options.idle)}` })
  return { limit, idleMs }
}

export const list = async ({ client }: Source, options: ListOptions, say: Say) => {
  const { limit, idleMs } = checkListOptions(options)
  const page = await client.list({
    ...(options.type === undefined ? {} : { type: options.type }),
    ...(options.status === undefined ? {} : { status: options.status as (typeof statuses)[number] }),
    ...(options.state === undefined ? {} : { state: options.state }),
    ...(idleMs === undefined ? {} : { updatedBefore: new Date(Date.now() - idleMs).toISOString() }),
    ...(options.idPrefix === undefined ? {} : { idPrefix: options.idPrefix }),
    ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
    limit
  })
  if (options.json === true) return say(json(page))
  if (page.items.length === 0) return say("no instances")
  for (const line of columns([
    ["TYPE", "ID", "VERSION", "STATUS", "STATE", "UPDATED"],
    ...page.items.map((item) => [item.type, item.id, String(item.machineVersion), item.status, stateText(item.state), time(item.updatedAt)])
  ])) say(line)
  if (page.nextCursor !== null) say(`more: --cursor ${page.nextCursor}`)
}

export const show = async ({ client }: Source, workflowType: string, instanceId: string, options: { readonly json?: boolean }, say: Say) => {
  const handle = client.handle(workflowType, instanceId)
  const instance = await handle.get()
  const pending = await handle.pending()
  if (options.json === true) return say(json({ instance, pending }))
  say(`${instance.type}/${instance.id}: ${instance.status} in ${stateText(instance.state)}`)
  say(`  version ${instance.machineVersion}, ${instance.streamVersion} history entries, started ${time(instance.createdAt)}, updated ${time(instance.updatedAt)}`)
  if (instance.parent !== undefined && instance.parent !== null) say(`  child of ${instance.parent.workflowType}/${instance.parent.instanceId}`)
  for (const child of Object.values(instance.children ?? {})) say(`  child ${child.workflowType}/${child.instanceId}`)
  if (instance.failure !== undefined && instance.failure !== null) say(`  failure: ${short(instance.failure, 300)}`)
  if (instance.output !== undefined) say(`  output: ${short(instance.output, 300)}`)
  say(`  context: ${json(instance.context).split("\n").join("\n  ")}`)
  if (pending.length === 0) return say(instance.status === "running" ? "  waiting on: nothing scheduled (an event from a client)" : "  waiting on: nothing")
  say("  waiting on:")
  for (const task of pending) {
    const what = (task.payload as { src?: string } | null)?.src ?? task.key
    const holder = task.lockedBy === null ? "nobody holds it" : `held by ${task.lockedBy} until ${time(task.leasedUntil!)}`
    const attempts = task.attempts > 0 ? `, ${task.attempts} attempts so far` : ""
    if (task.waitingFor !== undefined) say(`    ${task.kind} ${what}: waiting for the ${task.waitingFor.circuit} circuit, trial at ${time(task.waitingFor.trialAt)}${attempts}`)
    else say(`    ${task.kind} ${what}: due ${time(task.dueAt)}, ${holder}${attempts}`)
  }
}

export const history = async ({ client }: Source, workflowType: string, instanceId: string, options: { readonly json?: boolean }, say: Say) => {
  const entries = await client.handle(workflowType, instanceId).history()
  if (options.json === true) return say(json(entries))
  for (const line of columns(
    entries.map((entry) => [
      `#${entry.streamVersion}`,
      entry.kind,
      entry.type,
      entry.kind === "input" && entry.metadata.state !== undefined ? `→ ${stateText(entry.metadata.state)}` : "",
      time(entry.time),
      entry.worker === undefined ? "" : `by ${entry.worker}`,
      short(entry.data)
    ])
  )) say(line)
}

// -- replay -----------------------------------------------------------------------------

const isDefinition = (value: unknown): value is WorkflowDefinition<any> =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { type?: unknown }).type === "string" &&
  typeof (value as { version?: unknown }).version === "number" &&
  typeof (value as { machine?: { transition?: unknown } }).machine?.transition === "function"

/** Every workflow definition a module exports: alone, in an array, or as a domain's (or config's) `workflows`. */
const definitionsIn = (exports: Record<string, unknown>): ReadonlyArray<WorkflowDefinition<any>> =>
  Object.values(exports).flatMap((value) => {
    if (isDefinition(value)) return [value]
    if (Array.isArray(value)) return value.filter(isDefinition)
    const workflows = (value as { workflows?: unknown } | null)?.workflows
    return Array.isArray(workflows) ? workflows.filter(isDefinition) : []
  })

/** The changed machine to replay against: the newest definition of `workflowType` the file exports (or `version`). */
export const loadDefinition = async (file: string, workflowType: string, version: number | undefined) => {
  let exports: Record<string, unknown>
  try {
    exports = await importModule(file)
  } catch (error) {
    throw new CommandFailed({ message: `cannot load ${file}: ${error instanceof Error ? error.message : String(error)}` })
  }
  const all = definitionsIn(exports)
  const matching = all.filter((definition) => definition.type === workflowType && (version === undefined || definition.version === version)).sort((a, b) => b.version - a.version)
  if (matching[0] === undefined) {
    const found = all.map((definition) => `${definition.type}@${definition.version}`).join(", ")
    throw new CommandFailed({
      message: `${file} exports no ${workflowType}${version === undefined ? "" : ` version ${version}`} workflow (defineWorkflow); it exports ${found === "" ? "none" : found}`
    })
  }
  return matching[0]
}

export interface ReplayOptions {
  /** A registered version to replay against. */
  readonly version?: string
  /** A module exporting the changed definition. */
  readonly against?: string
  readonly json?: boolean
}

const parseVersion = (text: string | undefined) => {
  if (text === undefined) return undefined
  if (/^[1-9]\d{0,8}$/.test(text)) return Number(text)
  throw new CommandFailed({ message: `--version must be a whole number from 1, got ${JSON.stringify(text)}` })
}

/** A history entry as the log recorded it: what the replay folds. */
const recordedOf = (workflowType: string, instanceId: string, entry: HistoryEntry): RecordedEvent => ({
  position: entry.position,
  transactionId: "0",
  streamId: `${workflowType}-${instanceId}`,
  streamVersion: entry.streamVersion,
  eventId: entry.eventId,
  type: entry.type,
  schemaVersion: 1,
  data: entry.data,
  metadata: entry.metadata as RecordedEvent["metadata"],
  recordedAt: new Date(entry.time)
})

/** Folds a history through a definition here (not on the server): how a changed machine is checked. */
const foldLocally = async (
  workflowType: string,
  instanceId: string,
  entries: ReadonlyArray<HistoryEntry>,
  definition: WorkflowDefinition<any>,
  workflowTypes: ReadonlySet<string>,
  recordedVersion: number
): Promise<ReplayView> => {
  // Loaded only here: the engine (Effect, XState) is not needed to read through a server.
  const { replaySteps } = await import("../engine/replay.js")
  const replayed = replaySteps(entries.map((entry) => recordedOf(workflowType, instanceId, entry)), definition.machine, {
    invocables: { isActivity: (src) => src in definition.activities, isWorkflow: (src) => workflowTypes.has(src) }
  })
  const byVersion = new Map(entries.map((entry) => [entry.streamVersion, entry]))
  return {
    recordedVersion,
    machineVersion: definition.version,
    steps: replayed.steps.map((step) => ({ ...step, input: byVersion.get(step.streamVersion) ?? step.input as unknown as HistoryEntry })),
    divergence: replayed.divergence
  }
}

/** One instance's replay, step by step (or as JSON); a departure fails with one line. */
const report = (label: string, replayed: ReplayView, target: string, asJson: boolean, say: Say) => {
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
  if (replayed.divergence !== null) throw new CommandFailed({ message: `${label} departs from its history against ${target}: ${replayed.divergence.message}` })
  if (!asJson) say(`${label}: ${replayed.steps.length} steps replay as recorded against ${target}`)
}

/**
 * Replays one instance step by step, or every instance of a type; a departure
 * from the recorded history fails the command (exit 1), so that a changed
 * machine can be checked against what production recorded before it ships.
 * A registered version replays where the instances live (the server, or the
 * engine here); a changed machine from `--against` is folded here, over the
 * history read from there.
 */
export const replay = async (source: Source, workflowType: string, instanceId: string | undefined, options: ReplayOptions, say: Say) => {
  const { client } = source
  const version = parseVersion(options.version)
  const definition = options.against === undefined ? undefined : await loadDefinition(options.against, workflowType, version)
  const types = definition === undefined ? new Set<string>() : await source.workflowTypes()
  const replayOne = async (id: string): Promise<ReplayView> => {
    const handle = client.handle(workflowType, id)
    if (definition === undefined) return handle.replay(version === undefined ? {} : { version })
    const [instance, entries] = await Promise.all([handle.get(), handle.history()])
    return foldLocally(workflowType, id, entries, definition, types, instance.machineVersion)
  }
  const targetOf = (replayed: ReplayView) =>
    definition === undefined
      ? `version ${replayed.machineVersion}${replayed.machineVersion === replayed.recordedVersion ? " (its own)" : ""}`
      : `${definition.type}@${definition.version} from ${options.against}`

  if (instanceId !== undefined) {
    const replayed = await replayOne(instanceId)
    return report(`${workflowType}/${instanceId}`, replayed, targetOf(replayed), options.json === true, say)
  }

  // Every instance of the type, page by page.
  let cursor: string | undefined
  let checked = 0
  const departed: Array<string> = []
  do {
    const page = await client.list({ type: workflowType, limit: 200, ...(cursor === undefined ? {} : { cursor }) })
    for (const item of page.items) {
      const replayed = await replayOne(item.id)
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
  if (departed.length > 0) throw new CommandFailed({ message: `${departed.length} of ${checked} ${workflowType} instances depart from their history against ${target}` })
  say(`all ${checked} ${workflowType} instances replay as recorded against ${target}`)
}

// -- export -----------------------------------------------------------------------------

/** An instance's history as JSON lines: a header, then every entry in order. */
export const exportHistory = async ({ client }: Source, workflowType: string, instanceId: string, options: { readonly out?: string }, say: Say) => {
  const handle = client.handle(workflowType, instanceId)
  const instance = await handle.get()
  const entries = await handle.history()
  const header = { orrery: "history", workflowType, instanceId, machineVersion: instance.machineVersion, status: instance.status, exportedAt: new Date().toISOString() }
  const lines = [header, ...entries].map((line) => JSON.stringify(line))
  if (options.out === undefined) return lines.forEach(say)
  try {
    await writeFile(options.out, `${lines.join("\n")}\n`, { flag: "wx" })
  } catch (error) {
    throw new CommandFailed({ message: `cannot write ${options.out}: ${(error as NodeJS.ErrnoException).code === "EEXIST" ? "it exists (choose another name)" : String(error)}` })
  }
  say(`exported ${entries.length} entries of ${workflowType}/${instanceId} to ${options.out}`)
}

// -- replay from an export ---------------------------------------------------------------

interface ExportHeader {
  readonly orrery: "history"
  readonly workflowType: string
  readonly instanceId: string
  readonly machineVersion: number
}

/** An export's lines back as the header and its history entries; a line that is not one names itself. */
const readExport = async (file: string) => {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    throw new CommandFailed({ message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error)}` })
  }
  const lines = text.split("\n").filter((line) => line.trim() !== "")
  const parsed: Array<Record<string, unknown>> = []
  for (const [index, line] of lines.entries()) {
    try {
      const value: unknown = JSON.parse(line)
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object")
      parsed.push(value as Record<string, unknown>)
    } catch (error) {
      throw new CommandFailed({ message: `${file} line ${index + 1} is not a JSON object: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
  const [header, ...entries] = parsed
  if (header?.orrery !== "history" || typeof header.workflowType !== "string" || typeof header.instanceId !== "string" || typeof header.machineVersion !== "number") {
    throw new CommandFailed({ message: `${file} is not an export of orrery export (its first line names the workflow type, instance and version)` })
  }
  for (const [index, entry] of entries.entries()) {
    const { eventId, position, streamVersion, type, metadata, time } = entry
    if (typeof eventId !== "string" || typeof position !== "number" || typeof streamVersion !== "number" || typeof type !== "string" || metadata === null || typeof metadata !== "object" || typeof time !== "string") {
      throw new CommandFailed({ message: `${file} line ${index + 2} is not a history entry (eventId, position, streamVersion, type, data, metadata, time)` })
    }
  }
  return { header: header as unknown as ExportHeader, entries: entries as unknown as ReadonlyArray<HistoryEntry> }
}

/**
 * Replays an exported history without a database: through the changed machine
 * in `--against`, else the project's definition of the version it ran on.
 */
export const replayFile = async (file: string, options: ReplayOptions, known: ReadonlyArray<WorkflowDefinition<any>>, say: Say) => {
  const { header, entries } = await readExport(file)
  const version = parseVersion(options.version)
  const definition =
    options.against !== undefined
      ? await loadDefinition(options.against, header.workflowType, version)
      : known.find((candidate) => candidate.type === header.workflowType && candidate.version === (version ?? header.machineVersion))
  if (definition === undefined) {
    throw new CommandFailed({ message: `the project has no ${header.workflowType} version ${version ?? header.machineVersion}; name the machine with --against <module>` })
  }
  const types = new Set([...known, definition].map((candidate) => candidate.type))
  const replayed = await foldLocally(header.workflowType, header.instanceId, entries, definition, types, header.machineVersion)
  const target = options.against === undefined ? `version ${definition.version}` : `${definition.type}@${definition.version} from ${options.against}`
  return report(`${header.workflowType}/${header.instanceId} (from ${file})`, replayed, target, options.json === true, say)
}

// -- send / retry / cancel ------------------------------------------------------------------

/**
 * Recorded as the actor in what retry and cancel write. The in-process client
 * hands its options to the engine as they are; over HTTP the server names the
 * actor itself (the token's name) and ignores this.
 */
const callOptions = { actor: "cli" } as CallOptions

/**
 * The event `send` sends: a JSON object with its `type` (`'{"type":"PAY","method":"card"}'`),
 * or a type name with the rest in `--data` (`PAY --data '{"method":"card"}'`).
 */
export const eventOf = (event: string, data: string | undefined): { readonly type: string; readonly [key: string]: unknown } => {
  const parse = (text: string, what: string) => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw new BadUsage({ message: `${what} is not JSON: ${error instanceof Error ? error.message : String(error)}` })
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new BadUsage({ message: `${what} must be a JSON object` })
    return value as Record<string, unknown>
  }
  if (event.trimStart().startsWith("{")) {
    if (data !== undefined) throw new BadUsage({ message: "give the event as JSON or as a type with --data, not both" })
    const value = parse(event, "the event")
    if (typeof value.type !== "string" || value.type === "") throw new BadUsage({ message: `the event needs a "type", e.g. '{"type":"PAY"}'` })
    return value as { type: string }
  }
  if (!/^[A-Za-z_][\w.:-]*$/.test(event)) throw new BadUsage({ message: `the event must be a type like PAY or a JSON object, got ${JSON.stringify(event)}` })
  const rest = data === undefined ? {} : parse(data, "--data")
  return { ...rest, type: event }
}

export const send = async ({ client }: Source, workflowType: string, instanceId: string, event: { readonly type: string }, options: { readonly json?: boolean }, say: Say) => {
  const instance = await client.handle(workflowType, instanceId).send(event as never)
  if (options.json === true) return say(json(instance))
  say(`${workflowType}/${instanceId}: ${event.type} → ${instance.status} in ${stateText(instance.state)}`)
}

export const retry = async ({ client }: Source, workflowType: string, instanceId: string, say: Say) => {
  const instance = await client.handle(workflowType, instanceId).retry(callOptions)
  say(`${workflowType}/${instanceId}: retrying in ${stateText(instance.state)}; a worker runs it`)
}

export const verify = async ({ client }: Source, workflowType: string, instanceId: string, say: Say) => {
  const instance = await client.handle(workflowType, instanceId).verify()
  say(`${workflowType}/${instanceId}: history whole, ${instance.streamVersion} entries; it takes inputs (${instance.status} in ${stateText(instance.state)})`)
}

export const cancel = async ({ client }: Source, workflowType: string, instanceId: string, options: { readonly reason?: string }, say: Say) => {
  const reason = options.reason ?? "cancelled from the command line"
  const instance = await client.handle(workflowType, instanceId).cancel(reason, callOptions)
  say(`${workflowType}/${instanceId}: ${instance.status} in ${stateText(instance.state)} (${reason})`)
}

// -- doctor ------------------------------------------------------------------------------------

/**
 * Prints the checkup a line a check (`ok`, `warn`, `FAIL`), or as JSON; a
 * failed check fails the command (exit 1) after everything is printed.
 */
export const doctor = async ({ doctor: check }: Source, options: { readonly json?: boolean }, say: Say) => {
  const report = await check()
  if (options.json === true) say(json(report))
  else {
    for (const { level, subject, message } of report.checks) say(`${level === "fail" ? "FAIL" : level.padEnd(4)}  ${subject}: ${message}`)
    if (report.problems === 0) say("no problems found")
  }
  if (report.problems > 0) throw new CommandFailed({ message: `${report.problems} problem${report.problems === 1 ? "" : "s"} found` })
}

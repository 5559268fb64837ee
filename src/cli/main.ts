#!/usr/bin/env node
/**
 * The `orrery` command. Exit codes: 0 done (or stopped by SIGINT/SIGTERM),
 * 1 failed while running (database unreachable, folder locked), 2 bad usage or
 * configuration. Every failure is one line on stderr; a stack only at
 * LOG_LEVEL=debug or trace, and only for bugs.
 */
import { Cause, Effect, Exit, Layer, type LogLevel as EffectLogLevel, Option, References, Result } from "effect"
import {
  type CommandShape,
  type Config,
  type ConfigError,
  type Flags,
  type ParsedArgs,
  type LogLevel,
  type SettingKey,
  databaseLayer,
  loadConfig,
  parseArgs,
  settingKeys,
  settingsHelp
} from "../config.js"
import type { Domain } from "../domain.js"
import { Engine, Worker } from "../engine/index.js"
import { otlpTracingLayer, serveHttp } from "../http/index.js"
import { Database, currentVersion, migrate } from "../log/index.js"
import { Projections } from "../projections/projection.js"
import { allMigrations, applicationLayer, schema, seedDemo } from "./app.js"
import * as debug from "./debug.js"
import { CommandFailed } from "./debug.js"
import { shippedDomains } from "./domains.js"


const say = (line: string) => process.stdout.write(`${line}\n`)
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()
const complain = (text: string) => process.stderr.write(`orrery: ${oneLine(text)}\n`)
/** Two columns, the first padded: help tables. */
const columnsOf = (rows: ReadonlyArray<readonly [string, string]>) => {
  const width = Math.max(...rows.map(([first]) => first.length))
  return rows.map(([first, second]) => `  ${first.padEnd(width)}  ${second}`).join("\n")
}

const versionOf = (db: Database["Service"]) =>
  Effect.tryPromise({
    try: () => currentVersion(db, schema),
    catch: (error) => new CommandFailed({ message: `cannot read the migration version at ${db.location}: ${String(error)}` })
  })

/** The shipped domains; a bad domain setting (a timer duration) is a configuration error. */
const domains = Effect.try({
  try: () => shippedDomains(),
  catch: (error) => new CommandFailed({ message: error instanceof Error ? error.message : String(error) })
})

const application = (config: Pick<Config, "databaseUrl" | "dataDir">, options: { readonly worker: boolean; readonly projections: boolean }) =>
  <A, E, R>(body: (shipped: ReadonlyArray<Domain>) => Effect.Effect<A, E, R>) =>
    Effect.flatMap(domains, (shipped) =>
      Effect.scoped(
        body(shipped).pipe(
          // Spans go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
          Effect.provide(applicationLayer({ config, domains: shipped, ...options }).pipe(Layer.provideMerge(otlpTracingLayer())))
        )
      )
    ) as Effect.Effect<A, E | CommandFailed>

const start = (config: Config) =>
  application(config, { worker: true, projections: true })((shipped) =>
    Effect.gen(function*() {
      const db = yield* Database
      say(`event log: ${db.driver} at ${db.location}, migration version ${yield* versionOf(db)}`)
      say(`workflows: ${shipped.flatMap((domain) => domain.workflows.map((w) => `${w.type}@${w.version}`)).join(", ")}`)
      const server = yield* serveHttp({ host: config.host, port: config.port, tokens: config.tokens, logLevel: config.logLevel, domains: shipped })
      const tokens = config.tokens.map((token) => `${token.name} (${token.role})`).join(", ")
      say(`listening on ${server.url} (API tokens: ${tokens === "" ? "none, loopback only" : tokens}); docs at ${server.url}/docs, inspector at ${server.url}/inspect`)
      if (yield* seedDemo(shipped)) say("an empty database: the demo is starting a few instances of each workflow")
      say("running; stop with Ctrl-C or SIGTERM")
      return yield* Effect.never
    })
  )

const worker = (config: Pick<Config, "databaseUrl" | "dataDir" | "logLevel">) =>
  application(config, { worker: true, projections: false })(() =>
    Effect.gen(function*() {
      const db = yield* Database
      const running = yield* Worker
      say(`worker ${running.id} on ${db.driver} at ${db.location}; stop with Ctrl-C or SIGTERM`)
      return yield* Effect.never
    })
  )

/** Runs every domain's demo to its end, then shows where each instance ended up. */
const demo = (config: Pick<Config, "databaseUrl" | "dataDir" | "logLevel">) =>
  application(config, { worker: true, projections: true })((shipped) =>
    Effect.gen(function*() {
      const db = yield* Database
      say(`demo on ${db.driver} at ${db.location}: ${shipped.map((domain) => domain.name).join(", ")}`)
      yield* Effect.forEach(
        shipped.filter((domain) => domain.demo !== undefined),
        (domain) =>
          domain.demo!.pipe(
            Effect.tap(() => Effect.sync(() => say(`  ${domain.name}: done`))),
            Effect.catchCause((cause) => Effect.sync(() => say(`  ${domain.name}: stopped early: ${oneLine(String(Cause.squash(cause)))}`)))
          ),
        { concurrency: "unbounded", discard: true }
      )
      const engine = yield* Engine
      const { items } = yield* engine.list({ limit: 500 }).pipe(Effect.mapError((error) => new CommandFailed({ message: error.message })))
      const tally = new Map<string, number>()
      for (const item of items) tally.set(`${item.type} ${item.status} ${JSON.stringify(item.state)}`, (tally.get(`${item.type} ${item.status} ${JSON.stringify(item.state)}`) ?? 0) + 1)
      for (const [line, count] of [...tally].sort()) say(`  ${count} × ${line}`)
    })
  )

const rebuildProjection = (config: Pick<Config, "databaseUrl" | "dataDir" | "logLevel">, { positionals: [name] }: Arguments) =>
  application(config, { worker: false, projections: true })(() =>
    Effect.gen(function*() {
      const projections = yield* Projections
      const known = projections.all.map((projection) => projection.name)
      if (name === undefined || !known.includes(name)) {
        return yield* new CommandFailed({ message: `no projection named ${name}; known: ${known.join(", ")}` })
      }
      const rebuilt = yield* projections.rebuild(name).pipe(Effect.mapError((error) => new CommandFailed({ message: error.message })))
      say(`projection ${name}: rebuilt from ${rebuilt.events} events`)
    })
  )

const migrateLog = (config: Pick<Config, "databaseUrl" | "dataDir">) =>
  Effect.gen(function*() {
    const db = yield* Database
    const applied = yield* Effect.tryPromise({
      try: () => migrate(db, schema, allMigrations),
      catch: (error) => new CommandFailed({ message: `migrating ${db.location} failed: ${String(error)}` })
    })
    const current = allMigrations
      .filter((m, i, all) => all.findLastIndex((other) => other.component === m.component) === i)
      .map((m) => `${m.component} ${m.version}`)
      .join(", ")
    say(
      applied.length === 0
        ? `${db.driver} at ${db.location} is up to date: ${current}`
        : `migrated ${db.driver} at ${db.location}: ${applied.map((m) => `${m.component} ${m.version} (${m.name})`).join(", ")}`
    )
  }).pipe(Effect.provide(databaseLayer(config)))

type Program = Effect.Effect<void, { readonly message: string }>

/** A command's arguments and its own options (settings are read into its config). */
type Arguments = Pick<ParsedArgs, "positionals" | "options">

interface Command {
  readonly summary: string
  /** A signal is how it normally ends (exit 0), not an interruption (exit 1). */
  readonly runsUntilStopped: boolean
  readonly keys: ReadonlyArray<SettingKey>
  readonly shape: CommandShape
  /** Reads the command's own settings (flags over env) into its program. */
  readonly prepare: (
    env: NodeJS.ProcessEnv,
    flags: Flags,
    args: Arguments
  ) => Result.Result<{ readonly program: Program; readonly logLevel: LogLevel }, ConfigError>
}

const command = <K extends SettingKey>(
  summary: string,
  runsUntilStopped: boolean,
  keys: ReadonlyArray<K | "logLevel">,
  run: (config: Pick<Config, K | "logLevel">, args: Arguments) => Program,
  shape: CommandShape = {}
): Command => ({
  summary,
  runsUntilStopped,
  keys,
  shape,
  prepare: (env, flags, args) =>
    Result.map(loadConfig(env, flags, keys), (config) => ({ program: run(config, args), logLevel: config.logLevel }))
})

const databaseKeys = ["databaseUrl", "dataDir", "logLevel"] as const

/** A debugging command: the engine without a worker or read models, on the configured database. */
const inspect = (summary: string, shape: CommandShape, body: (args: Arguments) => Effect.Effect<void, CommandFailed, any>) =>
  command(summary, false, databaseKeys, (config, args) => application(config, { worker: false, projections: false })(() => body(args)) as Program, shape)

const asJson = { json: { flag: "--json", help: "print JSON instead of lines" } } as const
const option = (args: Arguments, name: string) => (typeof args.options[name] === "string" ? (args.options[name] as string) : undefined)
const instanceArgs = ["type", "id"] as const

const commands: Record<string, Command> = {
  start: command("run Orrery: the HTTP API, a worker and the read models, until SIGINT or SIGTERM", true, settingKeys, start),
  worker: command("run a worker alone (any number of them may share one Postgres)", true, databaseKeys, worker),
  demo: command("run a few instances of every shipped workflow to their ends, then show them", false, databaseKeys, demo),
  migrate: command("apply the migrations and exit", false, databaseKeys, migrateLog),
  list: inspect(
    "list instances, newest first",
    {
      options: {
        type: { flag: "--type", placeholder: "<type>", help: "only this workflow type" },
        status: { flag: "--status", placeholder: "<status>", help: "running, done, failed or cancelled" },
        state: { flag: "--state", placeholder: "<state>", help: "only instances in this (top-level) state" },
        limit: { flag: "--limit", placeholder: "<n>", help: "at most this many, 1-500 (default 50)" },
        cursor: { flag: "--cursor", placeholder: "<cursor>", help: "the next page, as the previous one printed" },
        ...asJson
      }
    },
    // The options are named as debug.list takes them: strings, and `json` a switch.
    (args) => debug.list(args.options as debug.ListOptions, say)
  ),
  show: inspect("show an instance: status, state, context, and what it waits on", { positionals: instanceArgs, options: asJson }, ({ positionals: [type, id], options }) =>
    debug.show(type!, id!, { json: options.json === true }, say)
  ),
  history: inspect("show an instance's history: inputs and the states they led to, domain events, activity attempts, timers", { positionals: instanceArgs, options: asJson }, ({ positionals: [type, id], options }) =>
    debug.history(type!, id!, { json: options.json === true }, say)
  ),
  replay: command(
    "replay an instance's history (or every instance of a type, or an export) against its machine, another version, or a changed machine in a file; exits 1 where it departs",
    false,
    databaseKeys,
    (config, args) => {
      const [type, id] = args.positionals
      const version = option(args, "version")
      const module = option(args, "against")
      const exported = option(args, "file")
      const options = { ...(version === undefined ? {} : { version }), ...(module === undefined ? {} : { against: module }), json: args.options.json === true }
      // An export replays without a database: it can be checked anywhere, also while `orrery start` holds the data folder.
      if (exported !== undefined) return Effect.flatMap(domains, (shipped) => debug.replayFile(exported, options, shipped.flatMap((domain) => domain.workflows), say))
      return application(config, { worker: false, projections: false })(() => debug.replay(type!, id, options, say)) as Program
    },
    {
      positionals: ["type?", "id?"],
      options: {
        version: { flag: "--version", placeholder: "<n>", help: "a registered version of the type (or, with --against, the version in the file)" },
        against: { flag: "--against", placeholder: "<module>", help: "a JavaScript (or, through tsx, TypeScript) module exporting the changed defineWorkflow" },
        file: { flag: "--file", placeholder: "<export>", help: "replay a history written by orrery export, without a database" },
        ...asJson
      },
      check: ({ positionals, options }) =>
        options.file !== undefined
          ? positionals.length > 0 ? "--file names the instance itself: give no <type> or <id> with it" : undefined
          : positionals.length === 0 ? "missing <type> (or an export with --file)" : undefined
    }
  ),
  export: inspect(
    "write an instance's history as JSON lines (a header, then every entry)",
    { positionals: instanceArgs, options: { out: { flag: "--out", placeholder: "<file>", help: "write to this new file instead of standard output" } } },
    ({ positionals: [type, id], options }) => {
      const out = typeof options.out === "string" ? options.out : undefined
      return debug.exportHistory(type!, id!, out === undefined ? {} : { out }, say)
    }
  ),
  retry: inspect("retry a failed instance's activity (a running worker picks it up)", { positionals: instanceArgs }, ({ positionals: [type, id] }) => debug.retry(type!, id!, say)),
  cancel: inspect(
    "cancel an instance (its children too)",
    { positionals: instanceArgs, options: { reason: { flag: "--reason", placeholder: "<text>", help: "why, recorded in its history" } } },
    ({ positionals: [type, id], options }) => debug.cancel(type!, id!, typeof options.reason === "string" ? { reason: options.reason } : {}, say)
  ),
  doctor: inspect("check the installation: database, migrations, every history's hash chain, late tasks, parked read-model events", {}, () => debug.doctor(say)),
  "projections rebuild": command("drop a read model's rows and rebuild it from the log", false, databaseKeys, rebuildProjection, { positionals: ["name"] })
}

const usageOf = (name: string, command: Command) =>
  [name, ...(command.shape.positionals ?? []).map((arg) => (arg.endsWith("?") ? `[<${arg.slice(0, -1)}>]` : `<${arg}>`))].join(" ")

const topHelp = `orrery: a durable orchestration engine

Usage: orrery <command> [flags]

Commands:
${columnsOf(Object.entries(commands).map(([name, command]) => [usageOf(name, command), command.summary]))}

Run \`orrery <command> --help\` for its flags.`

const commandHelp = (name: string, command: Command) => `Usage: orrery ${usageOf(name, command)} [flags]

${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.
${
  Object.keys(command.shape.options ?? {}).length === 0
    ? ""
    : `\nOptions:\n${columnsOf(Object.values(command.shape.options!).map((spec) => [`${spec.flag}${spec.placeholder === undefined ? "" : ` ${spec.placeholder}`}`, spec.help]))}\n`
}
Flags, each overriding the environment variable beside it (an empty value means unset):
${settingsHelp(command.keys)}${command.keys.includes("tokens") ? "\n\nPrefer ORRERY_TOKENS to --tokens: a flag is visible to every user of the machine (ps)." : ""}`

const effectLevel: Record<LogLevel, EffectLogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal"
}

/** Runs `program` until it ends or a signal stops it; finalizers (closing the database) always run. */
const runCommand = (program: Program, logLevel: LogLevel, runsUntilStopped: boolean) => {
  const stop = new AbortController()
  // Repeats are expected (npm forwards the terminal's SIGINT to us a second time) and must not cut the close short.
  const onSignal = () => stop.abort()
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const fiber = Effect.runFork(program.pipe(Effect.provideService(References.MinimumLogLevel, effectLevel[logLevel])), {
    signal: stop.signal
  })
  fiber.addObserver((exit) => {
    if (Exit.isSuccess(exit)) process.exit(0)
    const error = Cause.findErrorOption(exit.cause)
    if (Cause.hasInterruptsOnly(exit.cause)) {
      if (!runsUntilStopped) complain("interrupted")
      else say("stopped")
      process.exit(runsUntilStopped ? 0 : 1)
    } else if (Option.isSome(error)) {
      complain(error.value.message)
    } else {
      complain(`unexpected failure: ${String(Cause.squash(exit.cause))}${logLevel === "debug" || logLevel === "trace" ? "" : " (LOG_LEVEL=debug shows where)"}`)
      if (logLevel === "debug" || logLevel === "trace") process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
    }
    process.exit(1)
  })
}

const main = (argv: ReadonlyArray<string>) => {
  const [first, second] = argv
  if (first === "-h" || first === "--help" || first === "help") return say(topHelp)
  if (first === undefined) {
    process.stderr.write(`${topHelp}\n`)
    return process.exit(2)
  }
  // Two-word commands (`projections rebuild`) before one-word ones.
  const twoWords = `${first} ${second ?? ""}`
  const name = Object.hasOwn(commands, twoWords) ? twoWords : Object.hasOwn(commands, first) && first !== "projections" ? first : undefined
  if (name === undefined) {
    complain(`unknown command "${first === "projections" ? twoWords.trim() : first}"; run orrery --help`)
    return process.exit(2)
  }
  const chosen = commands[name]!
  const args = parseArgs(argv.slice(name.split(" ").length), chosen.keys, chosen.shape)
  if (args._tag === "Failure") {
    complain(`${args.failure.message}; run orrery ${name} --help`)
    return process.exit(2)
  }
  if (args.success.help) return say(commandHelp(name, chosen))
  const refused = chosen.shape.check?.(args.success)
  if (refused !== undefined) {
    complain(`${refused}; run orrery ${name} --help`)
    return process.exit(2)
  }
  const prepared = chosen.prepare(process.env, args.success.flags, args.success)
  if (prepared._tag === "Failure") {
    complain(prepared.failure.message)
    return process.exit(2)
  }
  runCommand(prepared.success.program, prepared.success.logLevel, chosen.runsUntilStopped)
}

main(process.argv.slice(2))

#!/usr/bin/env node
/**
 * The `orrery` command. Exit codes: 0 done (or stopped by SIGINT/SIGTERM),
 * 1 failed while running (database unreachable, folder locked), 2 bad usage or
 * configuration. Every failure is one line on stderr; a stack only at
 * LOG_LEVEL=debug or trace, and only for bugs.
 */
import { Cause, Effect, Exit, Layer, type LogLevel as EffectLogLevel, Option, References, Result, Schema } from "effect"
import {
  type Config,
  type ConfigError,
  type Flags,
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
import { shippedDomains } from "./domains.js"

class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  message: Schema.String
}) {}

const say = (line: string) => process.stdout.write(`${line}\n`)
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()
const complain = (text: string) => process.stderr.write(`orrery: ${oneLine(text)}\n`)

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

const rebuildProjection = (name: string | undefined) => (config: Pick<Config, "databaseUrl" | "dataDir" | "logLevel">) =>
  application(config, { worker: false, projections: true })(() =>
    Effect.gen(function*() {
      const projections = yield* Projections
      const known = projections.all.map((projection) => projection.name)
      if (name === undefined || !known.includes(name)) {
        return yield* new CommandFailed({ message: `${name === undefined ? "name a projection" : `no projection named ${name}`}; known: ${known.join(", ")}` })
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

interface Command {
  readonly summary: string
  /** A signal is how it normally ends (exit 0), not an interruption (exit 1). */
  readonly runsUntilStopped: boolean
  readonly keys: ReadonlyArray<SettingKey>
  /** Reads the command's own settings (flags over env) into its program. */
  readonly prepare: (
    env: NodeJS.ProcessEnv,
    flags: Flags
  ) => Result.Result<{ readonly program: Program; readonly logLevel: LogLevel }, ConfigError>
}

const command = <K extends SettingKey>(
  summary: string,
  runsUntilStopped: boolean,
  keys: ReadonlyArray<K | "logLevel">,
  run: (config: Pick<Config, K | "logLevel">) => Program
): Command => ({
  summary,
  runsUntilStopped,
  keys,
  prepare: (env, flags) =>
    Result.map(loadConfig(env, flags, keys), (config) => ({ program: run(config), logLevel: config.logLevel }))
})

const commands: Record<string, Command> = {
  start: command("run Orrery: the HTTP API, a worker and the read models, until SIGINT or SIGTERM", true, settingKeys, start),
  worker: command("run a worker alone (any number of them may share one Postgres)", true, ["databaseUrl", "dataDir", "logLevel"], worker),
  demo: command("run a few instances of every shipped workflow to their ends, then show them", false, ["databaseUrl", "dataDir", "logLevel"], demo),
  migrate: command("apply the migrations and exit", false, ["databaseUrl", "dataDir", "logLevel"], migrateLog),
  "projections rebuild": command("drop a read model's rows and rebuild it from the log: orrery projections rebuild <name>", false, ["databaseUrl", "dataDir", "logLevel"], rebuildProjection(undefined))
}

const topHelp = `orrery: a durable orchestration engine

Usage: orrery <command> [flags]

Commands:
${Object.entries(commands).map(([name, command]) => `  ${name.padEnd(8)}  ${command.summary}`).join("\n")}

Run \`orrery <command> --help\` for its flags.`

const commandHelp = (name: string, command: Command) => `Usage: orrery ${name} [flags]

${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.

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
  // `projections rebuild <name>`: a two-word command with a positional argument.
  if (argv[0] === "projections") {
    const [, verb, projection, ...flagArgs] = argv
    if (verb !== "rebuild") {
      complain(`unknown command "projections ${verb ?? ""}"; run orrery --help`)
      return process.exit(2)
    }
    const args = parseArgs(projection?.startsWith("-") === true ? [projection, ...flagArgs] : flagArgs, ["databaseUrl", "dataDir", "logLevel"])
    if (args._tag === "Failure") {
      complain(`${args.failure.message}; run orrery projections rebuild --help`)
      return process.exit(2)
    }
    const rebuild = command(commands["projections rebuild"]!.summary, false, ["databaseUrl", "dataDir", "logLevel"], rebuildProjection(projection?.startsWith("-") === true ? undefined : projection))
    if (args.success.help) return say(commandHelp("projections rebuild", rebuild))
    const prepared = rebuild.prepare(process.env, args.success.flags)
    if (prepared._tag === "Failure") {
      complain(prepared.failure.message)
      return process.exit(2)
    }
    return runCommand(prepared.success.program, prepared.success.logLevel, false)
  }
  const [name, ...rest] = argv
  if (name === "-h" || name === "--help" || name === "help") return say(topHelp)
  if (name === undefined) {
    process.stderr.write(`${topHelp}\n`)
    return process.exit(2)
  }
  const chosen = Object.hasOwn(commands, name) && name !== "projections rebuild" ? commands[name] : undefined
  if (chosen === undefined) {
    complain(`unknown command "${name}"; run orrery --help`)
    return process.exit(2)
  }
  const args = parseArgs(rest, chosen.keys)
  if (args._tag === "Failure") {
    complain(`${args.failure.message}; run orrery ${name} --help`)
    return process.exit(2)
  }
  if (args.success.help) return say(commandHelp(name, chosen))
  const prepared = chosen.prepare(process.env, args.success.flags)
  if (prepared._tag === "Failure") {
    complain(prepared.failure.message)
    return process.exit(2)
  }
  runCommand(prepared.success.program, prepared.success.logLevel, chosen.runsUntilStopped)
}

main(process.argv.slice(2))

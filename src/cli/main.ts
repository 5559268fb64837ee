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
import { Database, EventLog, currentVersion, layer as eventLogLayer, migrate } from "../log/index.js"

/** The EventLog layer's default schema; `migrate` must touch the same one. */
const schema = "orrery"

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

const start = (config: Config) =>
  Effect.gen(function*() {
    const db = yield* Database
    yield* EventLog
    say(`event log: ${db.driver} at ${db.location}, migration version ${yield* versionOf(db)}`)
    const tokens = config.tokens.map((token) => `${token.name} (${token.role})`).join(", ")
    say(`tokens: ${tokens === "" ? "none" : tokens}; log level ${config.logLevel}`)
    say(`not serving yet: the engine and the HTTP server on ${config.host}:${config.port} come in a later version`)
    say("running; stop with Ctrl-C or SIGTERM")
    return yield* Effect.never
  }).pipe(Effect.provide(eventLogLayer({ schema }).pipe(Layer.provideMerge(databaseLayer(config)))))

const migrateLog = (config: Pick<Config, "databaseUrl" | "dataDir">) =>
  Effect.gen(function*() {
    const db = yield* Database
    const applied = yield* Effect.tryPromise({
      try: () => migrate(db, schema),
      catch: (error) => new CommandFailed({ message: `migrating ${db.location} failed: ${String(error)}` })
    })
    const version = yield* versionOf(db)
    say(
      applied.length === 0
        ? `event log: ${db.driver} at ${db.location} is up to date, migration version ${version}`
        : `event log: ${db.driver} at ${db.location}: applied migration ${applied.join(", ")}, now at version ${version}`
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
  start: command("migrate the event log and keep it open until SIGINT or SIGTERM", true, settingKeys, start),
  migrate: command("apply the event log's migrations and exit", false, ["databaseUrl", "dataDir", "logLevel"], migrateLog)
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
  const [name, ...rest] = argv
  if (name === "-h" || name === "--help" || name === "help") return say(topHelp)
  if (name === undefined) {
    process.stderr.write(`${topHelp}\n`)
    return process.exit(2)
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (command === undefined) {
    complain(`unknown command "${name}"; run orrery --help`)
    return process.exit(2)
  }
  const args = parseArgs(rest, command.keys)
  if (args._tag === "Failure") {
    complain(`${args.failure.message}; run orrery ${name} --help`)
    return process.exit(2)
  }
  if (args.success.help) return say(commandHelp(name, command))
  const prepared = command.prepare(process.env, args.success.flags)
  if (prepared._tag === "Failure") {
    complain(prepared.failure.message)
    return process.exit(2)
  }
  runCommand(prepared.success.program, prepared.success.logLevel, command.runsUntilStopped)
}

main(process.argv.slice(2))

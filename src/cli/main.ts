#!/usr/bin/env node
/**
 * The `orrery` command: a table of commands, each loading its implementation
 * only when it runs, so that `orrery --help` (and `orrery <command> --help`,
 * and every usage error) answers without loading Effect, the engine, Fastify
 * or PGlite. Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 failed while
 * running (database unreachable, folder locked, an instance refused), 2 bad
 * usage or configuration (the project's `orrery.config.ts` included). Every
 * failure is one line on stderr; a stack only at LOG_LEVEL=debug or trace, and
 * only for bugs.
 */
import { type CommandShape, type Config, loadConfig, parseArgs, type ParsedArgs, type SettingKey, settingKeys, settingsHelp } from "../settings.js"
import { columnsOf, complain, say } from "./output.js"
import type { Source } from "./source.js"

/** A command's arguments and its own options (settings are read into its config). */
type Arguments = Pick<ParsedArgs, "positionals" | "options">

interface Command {
  readonly summary: string
  readonly keys: ReadonlyArray<SettingKey>
  readonly shape: CommandShape
  /** Loads the implementation and runs it; it exits the process itself. */
  readonly run: (config: Config, args: Arguments) => Promise<void>
}

const option = (args: Arguments, name: string) => (typeof args.options[name] === "string" ? (args.options[name] as string) : undefined)
const asJson = { json: { flag: "--json", help: "print JSON instead of lines" } } as const
const instanceArgs = ["type", "id"] as const

const projectKeys = ["configFile", "databaseUrl", "databasePooler", "dataDir", "logLevel"] as const satisfies ReadonlyArray<SettingKey>
/** The read-and-act commands may also go through a running server. */
const sourceKeys = ["url", ...projectKeys] as const satisfies ReadonlyArray<SettingKey>

const server = () => import("./server.js")

/**
 * A read-and-act command: through a running server's API (`--url`, or the one
 * holding the data folder), else on the database with the project's workflows.
 */
const throughSource = (
  body: (inspect: typeof import("./inspect.js"), source: Source, args: Arguments) => Promise<void>,
  /** Refuses bad arguments (throwing CommandFailed) before the config and the database are loaded. */
  check?: (inspect: typeof import("./inspect.js"), args: Arguments) => void
) =>
  async (config: Config, args: Arguments) => {
    const [{ openSource }, { runTask }, inspect] = await Promise.all([import("./source.js"), import("./run-task.js"), import("./inspect.js")])
    let source: Source | undefined
    await runTask(
      async () => {
        check?.(inspect, args)
        source = await openSource(config, process.env, complain)
        await body(inspect, source, args)
      },
      async () => source?.close(),
      config.logLevel
    )
  }

const commands: Record<string, Command> = {
  start: {
    summary: "run Orrery for the project's workflows: the HTTP API, a worker and the read models, until SIGINT or SIGTERM",
    keys: settingKeys.filter((key) => key !== "url"),
    shape: {
      options: {
        demo: { flag: "--demo", help: "on an empty database, start a few instances of every workflow with a demo" },
        noWorker: { flag: "--no-worker", help: "serve the API only; orrery worker processes run the activities and timers" }
      }
    },
    run: async (config, { options }) => (await server()).start(config, { demo: options.demo === true, noWorker: options.noWorker === true })
  },
  worker: {
    summary: "run a worker alone for the project's workflows (any number of them may share one Postgres)",
    keys: projectKeys,
    shape: {},
    run: async (config) => (await server()).worker(config)
  },
  demo: {
    summary: "run a few instances of every workflow with a demo to their ends, then show them",
    keys: projectKeys,
    shape: {},
    run: async (config) => (await server()).demo(config)
  },
  init: {
    summary: "make a new project in <dir>: package.json, orrery.config.ts, a workflow, its test and a README",
    keys: ["logLevel"],
    shape: {
      positionals: ["dir"],
      options: { orrery: { flag: "--orrery", placeholder: "<spec>", help: "the orrery dependency, e.g. ^0.1.0 or file:/path/orrery-0.1.0.tgz (default: this version)" } }
    },
    run: async (_config, args) => (await import("./init.js")).init(args.positionals[0]!, { orrery: option(args, "orrery") })
  },
  migrate: {
    summary: "apply the migrations (Orrery's and the project's domains') and exit",
    keys: projectKeys,
    shape: {},
    run: async (config) => (await server()).migrateLog(config)
  },
  list: {
    summary: "list instances, newest first",
    keys: sourceKeys,
    shape: {
      options: {
        type: { flag: "--type", placeholder: "<type>", help: "only this workflow type" },
        status: { flag: "--status", placeholder: "<status>", help: "running, done, failed or cancelled" },
        state: { flag: "--state", placeholder: "<state>", help: "only instances in this state: payment, or a nested one, payment.authorizing" },
        idle: { flag: "--idle", placeholder: "<duration>", help: "only instances that have not moved for this long: 30s, 15m, 2h" },
        idPrefix: { flag: "--id-prefix", placeholder: "<text>", help: "only instances whose id begins with this" },
        limit: { flag: "--limit", placeholder: "<n>", help: "at most this many, 1-500 (default 50)" },
        cursor: { flag: "--cursor", placeholder: "<cursor>", help: "the next page, as the previous one printed" },
        ...asJson
      }
    },
    // The options are named as inspect.list takes them: strings, and `json` a switch.
    run: throughSource(
      (inspect, source, args) => inspect.list(source, args.options as import("./inspect.js").ListOptions, say),
      (inspect, args) => inspect.checkListOptions(args.options as import("./inspect.js").ListOptions)
    )
  },
  show: {
    summary: "show an instance: status, state, context, and what it waits on",
    keys: sourceKeys,
    shape: { positionals: instanceArgs, options: asJson },
    run: throughSource((inspect, source, { positionals: [type, id], options }) => inspect.show(source, type!, id!, { json: options.json === true }, say))
  },
  history: {
    summary: "show an instance's history: inputs and the states they led to, domain events, activity attempts, timers",
    keys: sourceKeys,
    shape: { positionals: instanceArgs, options: asJson },
    run: throughSource((inspect, source, { positionals: [type, id], options }) => inspect.history(source, type!, id!, { json: options.json === true }, say))
  },
  replay: {
    summary:
      "replay an instance's history (or every instance of a type, or an export) against its machine, another version, or a changed machine in a file; exits 1 where it departs",
    keys: sourceKeys,
    shape: {
      positionals: ["type?", "id?"],
      options: {
        version: { flag: "--version", placeholder: "<n>", help: "a registered version of the type (or, with --against, the version in the file)" },
        against: { flag: "--against", placeholder: "<module>", help: "a JavaScript or TypeScript module exporting the changed defineWorkflow" },
        file: { flag: "--file", placeholder: "<export>", help: "replay a history written by orrery export, without a database" },
        ...asJson
      },
      check: ({ positionals, options }) =>
        options.file !== undefined
          ? positionals.length > 0 ? "--file names the instance itself: give no <type> or <id> with it" : undefined
          : positionals.length === 0 ? "missing <type> (or an export with --file)" : undefined
    },
    run: async (config, args) => {
      const [type, id] = args.positionals
      const version = option(args, "version")
      const against = option(args, "against")
      const exported = option(args, "file")
      const options = { ...(version === undefined ? {} : { version }), ...(against === undefined ? {} : { against }), json: args.options.json === true }
      if (exported === undefined) return throughSource((inspect, source) => inspect.replay(source, type!, id, options, say))(config, args)
      // An export replays without a database or a server: it can be checked anywhere.
      const [{ runTask }, inspect, { loadProject }] = await Promise.all([import("./run-task.js"), import("./inspect.js"), import("./project.js")])
      await runTask(
        async () => {
          // With --against the machine is named; the project's config only adds the types it may invoke.
          const project = against === undefined ? await loadProject(config.configFile) : await loadProject(config.configFile).catch(() => undefined)
          await inspect.replayFile(exported, options, project?.domains.flatMap((domain) => domain.workflows) ?? [], say)
        },
        async () => {},
        config.logLevel
      )
    }
  },
  export: {
    summary: "write an instance's history as JSON lines (a header, then every entry)",
    keys: sourceKeys,
    shape: { positionals: instanceArgs, options: { out: { flag: "--out", alias: "-o", placeholder: "<file>", help: "write to this new file instead of standard output" } } },
    run: throughSource((inspect, source, args) => {
      const out = option(args, "out")
      return inspect.exportHistory(source, args.positionals[0]!, args.positionals[1]!, out === undefined ? {} : { out }, say)
    })
  },
  send: {
    summary: "send an event to an instance: a JSON object with its type, or a type with --data",
    keys: sourceKeys,
    shape: {
      positionals: ["type", "id", "event"],
      options: { data: { flag: "--data", placeholder: "<json>", help: "the event's fields as a JSON object (with <event> a type like PAY)" }, ...asJson }
    },
    run: throughSource((inspect, source, args) => {
      const [type, id, event] = args.positionals
      return inspect.send(source, type!, id!, inspect.eventOf(event!, option(args, "data")), { json: args.options.json === true }, say)
    })
  },
  retry: {
    summary: "retry a failed instance's activity (a running worker picks it up)",
    keys: sourceKeys,
    shape: { positionals: instanceArgs },
    run: throughSource((inspect, source, { positionals: [type, id] }) => inspect.retry(source, type!, id!, say))
  },
  verify: {
    summary: "read an instance's history back against its hash chain; once repaired, it takes inputs again",
    keys: sourceKeys,
    shape: { positionals: instanceArgs },
    run: throughSource((inspect, source, { positionals: [type, id] }) => inspect.verify(source, type!, id!, say))
  },
  cancel: {
    summary: "cancel an instance (its children too)",
    keys: sourceKeys,
    shape: { positionals: instanceArgs, options: { reason: { flag: "--reason", placeholder: "<text>", help: "why, recorded in its history" } } },
    run: throughSource((inspect, source, args) => {
      const reason = option(args, "reason")
      return inspect.cancel(source, args.positionals[0]!, args.positionals[1]!, reason === undefined ? {} : { reason }, say)
    })
  },
  doctor: {
    summary: "check the installation: migrations, every history's hash chain, late tasks, parked read-model events; exits 1 on a problem",
    keys: sourceKeys,
    shape: { options: asJson },
    run: throughSource((inspect, source, { options }) => inspect.doctor(source, { json: options.json === true }, say))
  },
  "projections rebuild": {
    summary: "drop a read model's rows and rebuild it from the log",
    keys: projectKeys,
    shape: { positionals: ["name"] },
    run: async (config, args) => (await server()).rebuildProjection(config, args.positionals[0]!)
  }
}

const usageOf = (name: string, command: Command) =>
  [name, ...(command.shape.positionals ?? []).map((arg) => (arg.endsWith("?") ? `[<${arg.slice(0, -1)}>]` : `<${arg}>`))].join(" ")

const topHelp = () => `orrery: a durable orchestration engine

Usage: orrery <command> [flags]

Commands:
${columnsOf(Object.entries(commands).map(([name, command]) => [usageOf(name, command), command.summary]))}

The commands serve the project's orrery.config.ts (or --config <file>). list, show, history,
replay, export, send, retry, verify, cancel and doctor go through a running orrery start when one holds the
data folder (or with --url); otherwise they open the database.
Run \`orrery <command> --help\` for its flags.`

const commandHelp = (name: string, command: Command) => `Usage: orrery ${usageOf(name, command)} [flags]

${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.
${
  Object.keys(command.shape.options ?? {}).length === 0
    ? ""
    : `\nOptions:\n${columnsOf(
        Object.values(command.shape.options!).map((spec) => [`${spec.alias === undefined ? "" : `${spec.alias}, `}${spec.flag}${spec.placeholder === undefined ? "" : ` ${spec.placeholder}`}`, spec.help])
      )}\n`
}
Flags, each overriding the environment variable beside it (an empty value means unset):
${settingsHelp(command.keys)}${command.keys.includes("tokens") ? "\n\nPrefer ORRERY_TOKENS to --tokens: a flag is visible to every user of the machine (ps)." : ""}${
  command.keys.includes("url") ? "\n\nOver HTTP the API token is read from ORRERY_TOKEN (never a flag: ps would show it)." : ""
}`

const main = async (argv: ReadonlyArray<string>) => {
  const [first, second] = argv
  if (first === "-h" || first === "--help" || first === "help") return say(topHelp())
  if (first === undefined) {
    process.stderr.write(`${topHelp()}\n`)
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
  const config = loadConfig(process.env, args.success.flags, chosen.keys)
  if (config._tag === "Failure") {
    complain(config.failure.message)
    return process.exit(2)
  }
  // Settings a command does not take stay unset (each command asks only for what it uses).
  await chosen.run(config.success as Config, args.success)
}

void main(process.argv.slice(2))

/**
 * The commands that run Orrery or work on its database directly: start (the
 * HTTP API, a worker unless --no-worker, the read models), worker, demo,
 * migrate and projections rebuild. Each serves the project's config
 * (`orrery.config.ts`; migrate applies its domains' tables too); none seeds a
 * demo unless asked.
 */
import { Cause, Effect, Layer } from "effect"
import { type Config, databaseLayer } from "../config.js"
import type { Domain } from "../domain.js"
import { Engine, Worker } from "../engine/index.js"
import { otlpTracingLayer, serveHttp } from "../http/index.js"
import { currentVersion, Database, migrate } from "../log/index.js"
import { announceUrl } from "../log/lock-file.js"
import { applicationLayer, defaultSchema as schema, neededMigrations } from "../orrery/application.js"
import { Projections } from "../projections/projection.js"
import { CommandFailed, oneLine, say } from "./output.js"
import { loadProject, type Project } from "./project.js"
import { runEffect } from "./run.js"

type DatabaseConfig = Pick<Config, "databaseUrl" | "databasePooler" | "dataDir" | "configFile" | "logLevel">

const versionOf = (db: Database["Service"]) =>
  Effect.tryPromise({
    try: () => currentVersion(db, schema),
    catch: (error) => new CommandFailed({ message: `cannot read the migration version at ${db.location}: ${String(error)}` })
  })

/** The project's config: a ProjectError (exit 2) when it is missing or wrong. */
const project = (configFile: string | undefined) => Effect.tryPromise({ try: () => loadProject(configFile), catch: (error) => error as Error })

/** Runs `body` in the project's application on the configured database. */
const application = (config: DatabaseConfig, options: { readonly worker: boolean; readonly projections: boolean }) =>
  <A, E, R>(body: (project: Project) => Effect.Effect<A, E, R>) =>
    Effect.flatMap(project(config.configFile), (loaded) =>
      Effect.scoped(
        body(loaded).pipe(
          Effect.provide(
            applicationLayer({ domains: loaded.domains, database: databaseLayer(config), worker: options.worker ? {} : false, projections: options.projections }).pipe(
              // Spans go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
              Layer.provideMerge(otlpTracingLayer())
            )
          )
        )
      )
    ) as Effect.Effect<A, unknown>

const workflowList = (domains: ReadonlyArray<Domain>) => domains.flatMap((domain) => domain.workflows.map((w) => `${w.type}@${w.version}`)).join(", ")

/** On an empty database, runs every domain's demo in the background, so that there is something to look at. */
const seedDemo = (domains: ReadonlyArray<Domain>) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const existing = yield* engine.list({ limit: 1 })
    if (existing.items.length > 0) return false
    for (const domain of domains) {
      if (domain.demo === undefined) continue
      yield* domain.demo.pipe(
        Effect.catchCause((cause) => Effect.logWarning(`the ${domain.name} demo stopped: ${String(cause)}`)),
        Effect.forkDetach
      )
    }
    return true
  })

export interface StartOptions {
  /** Seed the demo on an empty database. */
  readonly demo: boolean
  /** Run no worker here: an API-only process (`orrery worker` processes do the work). */
  readonly noWorker: boolean
}

export const start = (config: Config, options: StartOptions) =>
  runEffect(
    application(config, { worker: !options.noWorker, projections: true })(({ domains }) =>
      Effect.gen(function*() {
        const db = yield* Database
        say(`event log: ${db.driver} at ${db.location}, migration version ${yield* versionOf(db)}`)
        say(`workflows: ${workflowList(domains)}`)
        const server = yield* serveHttp({ host: config.host, port: config.port, tokens: config.tokens, logLevel: config.logLevel, domains })
        // The lock names where we listen: the CLI run beside us goes through the API instead of failing on the folder.
        if (db.driver === "pglite") announceUrl(config.dataDir, server.url)
        const tokens = config.tokens.map((token) => `${token.name} (${token.role})`).join(", ")
        say(`listening on ${server.url} (API tokens: ${tokens === "" ? "none, loopback only" : tokens}); docs at ${server.url}/docs, inspector at ${server.url}/inspect`)
        if (options.noWorker) say("no worker in this process (--no-worker): orrery worker processes run the activities and timers")
        if (options.demo && (yield* seedDemo(domains))) say("an empty database: the demo is starting a few instances of each workflow")
        say("running; stop with Ctrl-C or SIGTERM")
        return yield* Effect.never
      })
    ),
    config.logLevel,
    true
  )

export const worker = (config: DatabaseConfig) =>
  runEffect(
    application(config, { worker: true, projections: false })(({ domains }) =>
      Effect.gen(function*() {
        const db = yield* Database
        const running = yield* Worker
        say(`worker ${running.id} on ${db.driver} at ${db.location} for ${workflowList(domains)}; stop with Ctrl-C or SIGTERM`)
        return yield* Effect.never
      })
    ),
    config.logLevel,
    true
  )

/** Runs every domain's demo to its end, then shows where each instance ended up. */
export const demo = (config: DatabaseConfig) =>
  runEffect(
    application(config, { worker: true, projections: true })(({ domains }) =>
      Effect.gen(function*() {
        const db = yield* Database
        const withDemo = domains.filter((domain) => domain.demo !== undefined)
        if (withDemo.length === 0) return yield* Effect.fail(new CommandFailed({ message: "the project's config has no demo (defineConfig({ demo }))" }))
        say(`demo on ${db.driver} at ${db.location}: ${withDemo.map((domain) => domain.name).join(", ")}`)
        yield* Effect.forEach(
          withDemo,
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
    ),
    config.logLevel,
    false
  )

export const rebuildProjection = (config: DatabaseConfig, name: string) =>
  runEffect(
    application(config, { worker: false, projections: true })(() =>
      Effect.gen(function*() {
        const projections = yield* Projections
        const known = projections.all.map((projection) => projection.name)
        if (!known.includes(name)) return yield* Effect.fail(new CommandFailed({ message: `no projection named ${name}; known: ${known.join(", ") || "none"}` }))
        const rebuilt = yield* projections.rebuild(name).pipe(Effect.mapError((error) => new CommandFailed({ message: error.message })))
        say(`projection ${name}: rebuilt from ${rebuilt.events} events`)
      })
    ),
    config.logLevel,
    false
  )

/** Applies the log's and the engine's migrations: no project config needed. */
export const migrateLog = (config: DatabaseConfig) =>
  runEffect(
    Effect.gen(function*() {
      // The project's domains bring their own tables: migrate applies them too, in order after Orrery's.
      const needed = neededMigrations((yield* project(config.configFile)).domains)
      const db = yield* Database
      const applied = yield* Effect.tryPromise({
        try: () => migrate(db, schema, needed),
        catch: (error) => new CommandFailed({ message: `migrating ${db.location} failed: ${String(error)}` })
      })
      const current = needed
        .filter((m, i, all) => all.findLastIndex((other) => other.component === m.component) === i)
        .map((m) => `${m.component} ${m.version}`)
        .join(", ")
      say(
        applied.length === 0
          ? `${db.driver} at ${db.location} is up to date: ${current}`
          : `migrated ${db.driver} at ${db.location}: ${applied.map((m) => `${m.component} ${m.version} (${m.name})`).join(", ")}`
      )
    }).pipe(Effect.provide(databaseLayer(config))),
    config.logLevel,
    false
  )

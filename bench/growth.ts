/**
 * `npm run bench -- growth [--sizes 0,1000000] [--driver postgres|pglite] [--sagas N] [--samples N] [--read-all-cap N] [--timers N] [--no-read-models] [--no-doctor] [--keep]`
 *
 * Do the engine's costs stay flat as the log grows? On a database of its own
 * (Postgres: a new database on DATABASE_URL's server, dropped at the end;
 * PGlite: in memory), it runs the shipped workflows' demos through the engine
 * once (bench/growth/seed.ts), then, for each size in turn, grows the log to
 * exactly that many events by copying the seed's instances under new ids
 * (bench/growth/fill.ts: 90 % finished, the running ones' timers pending;
 * the load rate is a figure), and measures (bench/growth/measure.ts) single
 * appends/s, sagas/s, `get`, `history`, `list`, the census per machine,
 * `readAll` catch-up, a new subscription catching up, timers firing with
 * `--timers` of them in the table (default 50,000) and `doctor` — each beside
 * its value at the first size. The application's read models (the shipped
 * domains' projections and the transition heat) run during the figures, from
 * the log's head, as in a deployment (bench/growth/read-models.ts), unless
 * `--no-read-models`.
 * Size 0 is the seed alone (a few hundred events). `--keep` leaves the Postgres
 * database in place (its URL is printed) to look at the filled log afterwards.
 */
import { Effect, type Layer, References, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { parseArgs } from "node:util"
import postgres from "postgres"
import { Database, layerPglite, layerPostgres, maskUrl } from "../src/log/index.js"
import { threeStepWorkflow } from "./engine/saga.js"
import { growthApplication, growthDomains } from "./growth/app.js"
import { fill, type FillResult, planFill, type Template } from "./growth/fill.js"
import { listFilter, listPage, measure, type SizeFigures } from "./growth/measure.js"
import { napWorkflow } from "./growth/nap.js"
import { plotGrowth } from "./growth/plot.js"
import { type ReadModelFigures, withReadModels } from "./growth/read-models.js"
import { seed } from "./growth/seed.js"
import { type BenchContext, type BenchOutput, formatTable } from "./support.js"

export const description = "costs as the log grows: appends, sagas, get, history, list, census, readAll, a new subscription and doctor at each size, beside size 0"

const schema = "orrery"
const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** What one size's database holds, read back after the fill. */
export interface Contents {
  readonly events: number
  /** Instances of the shipped workflows (the seed's and their copies; not the benchmark's own sagas and naps). */
  readonly instances: number
  readonly finished: number
  readonly timersPending: number
  readonly timersDue: number
}

export interface SizeResult {
  readonly size: number
  /** Events in the log before the fill (the seed's, and those earlier sizes' measurements appended). */
  readonly eventsBefore: number
  /** The fill that grew the log to this size (null: nothing to add). */
  readonly fill: FillResult | null
  readonly contents: Contents
  readonly figures: SizeFigures
  /** The read models that ran during the figures (null: `--no-read-models`). */
  readonly readModels: ReadModelFigures | null
}

const options = (args: ReadonlyArray<string>) => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      sizes: { type: "string", default: "0,1000000" },
      driver: { type: "string", default: "postgres" },
      sagas: { type: "string", default: "1000" },
      samples: { type: "string", default: "300" },
      "read-all-cap": { type: "string", default: "10000000" },
      timers: { type: "string", default: "50000" },
      "no-read-models": { type: "boolean", default: false },
      "no-doctor": { type: "boolean", default: false },
      keep: { type: "boolean", default: false }
    }
  })
  const sizes = values.sizes.split(",").map(Number)
  if (sizes.some((size) => !Number.isInteger(size) || size < 0)) throw new Error(`--sizes takes event counts, e.g. 0,1000000 (got ${values.sizes})`)
  const timers = Number(values.timers)
  if (!Number.isInteger(timers) || timers < 0) throw new Error(`--timers takes a count of naps, e.g. 50000 or 0 for none (got ${values.timers})`)
  if (values.driver !== "postgres" && values.driver !== "pglite") throw new Error(`--driver is postgres or pglite (got ${values.driver})`)
  return {
    sizes: [...sizes].sort((a, b) => a - b),
    driver: values.driver as "postgres" | "pglite",
    sagas: Number(values.sagas),
    samples: Number(values.samples),
    readAllCap: Number(values["read-all-cap"]),
    timers,
    readModels: !values["no-read-models"],
    doctor: !values["no-doctor"],
    keep: values.keep
  }
}

/** A database of its own: a new Postgres database on the server, dropped when the scope closes unless kept; or PGlite in memory. */
const database = (driver: "postgres" | "pglite", keep: boolean): Effect.Effect<{ readonly layer: Layer.Layer<Database, unknown>; readonly location: string }, never, Scope.Scope> =>
  driver === "pglite"
    ? Effect.succeed({ layer: layerPglite(), location: "pglite in memory" })
    : Effect.acquireRelease(
      Effect.promise(async () => {
        const name = `orrery_growth_${randomBytes(4).toString("hex")}`
        const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
        await admin.unsafe(`create database ${name}`)
        const url = new URL(serverUrl)
        url.pathname = `/${name}`
        return { admin, name, url: url.toString() }
      }),
      ({ admin, name }) =>
        Effect.promise(async () => {
          if (!keep) await admin.unsafe(`drop database if exists ${name} with (force)`)
          await admin.end()
        })
    ).pipe(Effect.map(({ url }) => ({ layer: layerPostgres({ url, max: 16 }), location: maskUrl(url) })))

const query = <Row>(text: string, params: ReadonlyArray<unknown> = []) =>
  Effect.flatMap(Database, (db) => Effect.promise(() => db.query<Row>(text, params)))

/** The seed's instances as the fill copies them. */
const templates = query<{ stream: string; finished: boolean; events: number; linked: boolean }>(
  `select workflow_type || '-' || instance_id as stream, status <> 'running' as finished, stream_version as events,
     (parent is not null or children <> '{}'::jsonb) as linked
   from ${schema}.instances order by 1`
).pipe(Effect.map((rows): ReadonlyArray<Template> => rows))

/** What the database holds now. */
export const contents = query<Contents>(
  `select (select count(*)::int from ${schema}.events) as events,
     (select count(*)::int from ${schema}.instances where workflow_type not in ($1, $2)) as instances,
     (select count(*)::int from ${schema}.instances where workflow_type not in ($1, $2) and status <> 'running') as finished,
     (select count(*)::int from ${schema}.tasks where kind = 'timer' and due_at > now()) as "timersPending",
     (select count(*)::int from ${schema}.tasks where kind = 'timer' and due_at <= now()) as "timersDue"`,
  // The benchmark's own workflows, which its measurements start, are not part of the mix.
  [threeStepWorkflow.type, napWorkflow.type]
).pipe(Effect.map((rows) => rows[0]!))

/** Each figure as one number, for the table and the ratios (latencies by their p99). */
const flatten = (figures: SizeFigures): Record<string, number | null> => ({
  "appends/s (8 writers)": figures.appendsPerSecond,
  "sagas/s": figures.sagasPerSecond,
  "WAL bytes/saga": figures.walBytesPerSaga,
  "WAL full pages/saga": figures.walFullPagesPerSaga,
  "get p50 ms": figures.getMs.p50,
  "get p99 ms": figures.getMs.p99,
  "history p50 ms": figures.historyMs.p50,
  "history p99 ms": figures.historyMs.p99,
  [`list ${listFilter.type}/${listFilter.status}/${listFilter.state} p50 ms`]: figures.listMs.p50,
  [`list ${listFilter.type}/${listFilter.status}/${listFilter.state} p99 ms`]: figures.listMs.p99,
  ...Object.fromEntries(Object.entries(figures.censusMs).map(([type, latency]) => [`census ${type} p99 ms`, latency.p99])),
  "timers: 100 due, p99 ms late": figures.timers?.few.p99 ?? null,
  "timers: backlog fired/s": figures.timers?.backlog.firedPerSecond ?? null,
  "readAll events/s": figures.readAll?.eventsPerSecond ?? null,
  "subscription catch-up events/s": figures.subscription?.eventsPerSecond ?? null,
  "doctor s": figures.doctor?.seconds ?? null
})

const listFigure = (name: string) => name.startsWith("list ")

/**
 * The size the list is compared from: the first whose page came back full. The seed holds one open
 * cart, so at size 0 the list answers a page of 1, which is not the work of a page of 50.
 */
const listBase = (results: ReadonlyArray<SizeResult>): SizeResult | undefined =>
  results.find((result) => result.figures.listMs.found >= listPage)

/** Each figure at each size divided by its value at the first size (the list's by its value at `listBase`). */
const ratios = (results: ReadonlyArray<SizeResult>) => {
  const base = flatten(results[0]!.figures)
  const fullPage = listBase(results)
  const listFrom = fullPage === undefined ? undefined : flatten(fullPage.figures)
  return results.map((result) =>
    Object.fromEntries(
      Object.entries(flatten(result.figures)).map(([name, value]) => {
        const comparable = !listFigure(name) || (fullPage !== undefined && result.size >= fullPage.size)
        const from = listFigure(name) ? listFrom?.[name] : base[name]
        return [
          name,
          !comparable || value === null || from === null || from === undefined || from === 0 ? null : Math.round((value / from) * 100) / 100
        ]
      })
    )
  )
}

export const run = async (context: BenchContext): Promise<BenchOutput> => {
  const opts = options(context.args)
  const domains = await growthDomains()
  const program = Effect.gen(function*() {
    const { layer, location } = yield* database(opts.driver, opts.keep)
    context.progress(`database: ${location}${opts.keep && opts.driver === "postgres" ? " (kept after the run)" : ""}`)
    const application = yield* Effect.promise(() => growthApplication(layer, true))
    return yield* Effect.gen(function*() {
      const db = yield* Database
      context.progress("seed: the shipped workflows' demos, run through the engine")
      yield* seed(domains)
      const seedContents = yield* contents
      const seedTemplates = yield* templates
      context.progress(`seed: ${seedContents.events} events, ${seedContents.instances} instances`)
      const results: Array<SizeResult> = []
      let round = 1
      for (const size of opts.sizes) {
        const before = yield* contents
        let filled: FillResult | null = null
        if (size > before.events) {
          const plan = planFill(seedTemplates, size - before.events)
          context.progress(`size ${size}: adding ${plan.events} events`)
          filled = yield* Effect.promise(() => fill(db, schema, seedTemplates, plan, round, context.progress))
          round += plan.finishedRounds + 1
          // As autovacuum would after a load: statistics for the plans, visibility maps set (one statement a
          // call: VACUUM refuses a multi-statement string).
          for (const table of ["events", "instances", "instance_paths", "tasks"]) yield* Effect.promise(() => db.exec(`vacuum analyze ${schema}.${table}`))
          // The load's WAL (gigabytes at 10 M) has the server checkpointing for minutes after it; the figures are
          // of a database at work, not of one still writing its load out: one checkpoint now (Postgres only; a
          // role without the right to it measures as it is).
          if (opts.driver === "postgres") yield* Effect.promise(() => db.exec("checkpoint").catch(() => undefined))
        }
        const now = yield* contents
        context.progress(`size ${size}: ${now.events} events, ${now.instances} instances (${now.finished} finished), ${now.timersPending} timers pending`)
        const measured = measure({
          label: `s${size}`,
          sagas: opts.sagas,
          samples: opts.samples,
          readAllCap: opts.readAllCap,
          timers: opts.timers,
          doctor: opts.doctor,
          schema,
          progress: context.progress
        })
        const { figures, readModels } = opts.readModels
          ? yield* withReadModels(domains, schema, measured)
          : { figures: yield* measured, readModels: null }
        results.push({ size, eventsBefore: before.events, fill: filled, contents: now, figures, readModels })
      }
      return { location, seed: seedContents, results }
    }).pipe(Effect.provide(application))
  })
  // The demos and the worker log to stdout, which carries only the result document: they stay quiet.
  const { location, seed: seedContents, results } = await Effect.runPromise(
    Effect.scoped(program).pipe(Effect.orDie, Effect.provideService(References.MinimumLogLevel, "None")),
    { signal: context.signal }
  )
  const relative = ratios(results)
  const names = Object.keys(flatten(results[0]!.figures))
  const table = [
    formatTable(
      ["figure", ...results.map((r) => `${r.size.toLocaleString("en-US")} events`), ...results.slice(1).map((r) => `÷ size ${results[0]!.size}`)],
      names.map((name) => [
        name,
        ...results.map((r) => flatten(r.figures)[name] ?? "-"),
        ...relative.slice(1).map((ratio) => ratio[name] ?? "-")
      ])
    ),
    "",
    `list: ${results.map((r) => `${r.figures.listMs.found} found at ${r.size.toLocaleString("en-US")}`).join(", ")}; its ratios are ` +
      (listBase(results) === undefined
        ? `not given (no size filled a page of ${listPage})`
        : `÷ its value at ${listBase(results)!.size.toLocaleString("en-US")} events, the first size with a full page of ${listPage}`),
    results[0]!.readModels === null
      ? "read models: none ran (--no-read-models)"
      : `read models: ${results[0]!.readModels.running} ran during the figures, from the log's head; they applied ${results.map((r) => `${r.readModels!.applied.toLocaleString("en-US")} events at ${r.size.toLocaleString("en-US")}`).join(", ")}`,
    ...results.filter((r) => r.fill !== null).map((r) =>
      `fill to ${r.size.toLocaleString("en-US")}: ${r.fill!.events.toLocaleString("en-US")} events in ${r.fill!.seconds} s (${r.fill!.eventsPerSecond.toLocaleString("en-US")} events/s); holds ${r.contents.instances.toLocaleString("en-US")} instances, ${r.contents.finished.toLocaleString("en-US")} finished, ${r.contents.timersPending.toLocaleString("en-US")} timers pending`
    )
  ].join("\n")
  const sized = relative.map((ratio, i) => ({ size: results[i]!.size, ...ratio }))
  return {
    environment: { driver: opts.driver, database: location, options: opts },
    results: { seed: seedContents, sizes: results, ratios: sized },
    table,
    png: await plotGrowth(sized)
  }
}

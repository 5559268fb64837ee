/**
 * What the growth benchmark measures at one size, on the application's own
 * services: single appends/s (8 writers), completed three-step sagas/s (worker
 * in this process), `get` and `history` of random instances, `list` by type,
 * status and state, the census of each machine, `readAll` catching up from the
 * start and a new subscription over the same events, and (unless skipped)
 * `doctor`; and the WAL the sagas wrote. Latencies are of calls made one after
 * another, so that they are the calls' own and not queueing.
 */
import { Deferred, Effect, Schedule } from "effect"
import * as os from "node:os"
import { checkup } from "../../src/orrery/checkup.js"
import { Engine, WorkflowRegistry } from "../../src/engine/index.js"
import { EventReceived } from "../../src/engine/records.js"
import { Database, EventLog, LogCursor } from "../../src/log/index.js"
import { load } from "../support.js"

export interface Latency {
  readonly calls: number
  readonly p50: number
  readonly p99: number
}

export interface SizeFigures {
  readonly appendsPerSecond: number
  readonly sagasPerSecond: number
  /** WAL written while the sagas ran, per saga (the whole database: the worker's claims and polls included). */
  readonly walBytesPerSaga: number
  /**
   * Full-page images in that WAL, per saga (the server's, from pg_stat_wal; null where it has none): the first
   * change to a page after a checkpoint writes the whole 8 kB page, so the bytes depend on where the checkpoint fell.
   */
  readonly walFullPagesPerSaga: number | null
  /** The machine's 1-minute load average when the size's figures were taken: other work moves the rates. */
  readonly loadAverage: number
  readonly getMs: Latency
  readonly historyMs: Latency
  readonly listMs: Latency & { readonly filter: { readonly type: string; readonly status: string; readonly state: string }; readonly found: number }
  /** Per machine type. */
  readonly censusMs: Readonly<Record<string, Latency>>
  /** Null when a transaction open elsewhere on the server held the log's reads back (see `catchUp`). */
  readonly readAll: { readonly events: number; readonly seconds: number; readonly eventsPerSecond: number } | null
  /** A new subscription catching up over the same events as readAll (null when readAll was skipped). */
  readonly subscription: { readonly events: number; readonly seconds: number; readonly eventsPerSecond: number } | null
  /** How long `doctor` took and how many problems it found (every copy's hash chain must verify); null when skipped. */
  /**
   * Timers with `pending` of them in the table: how late 100 fire when made due (ms after their due time), and
   * the rest made due at once: how fast one worker fires them and how late they are (null: `--timers 0`).
   */
  readonly timers: {
    readonly pending: number
    readonly few: { readonly timers: number; readonly p50: number; readonly p99: number }
    readonly backlog: { readonly timers: number; readonly seconds: number; readonly firedPerSecond: number; readonly p50: number; readonly p99: number }
  } | null
  readonly doctor: { readonly seconds: number; readonly problems: number } | null
}

export interface MeasureOptions {
  /** Tells this size's appended streams and sagas from another's. */
  readonly label: string
  readonly sagas: number
  readonly samples: number
  /** Stop the readAll catch-up after this many events (the rate is what counts). */
  readonly readAllCap: number
  readonly doctor: boolean
  /** Naps started for the timer figures (0: none). */
  readonly timers: number
  readonly schema: string
  readonly progress: (line: string) => void
}

/** Sagas run before each size's figures, not counted. */
const warmupSagas = 300

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

/** The filter `list` is measured with: the seed's open cart is a running instance in a state many share. */
export const listFilter = { type: "cart", status: "running", state: "open" } as const
/** One page of the list: what a console asks for. */
export const listPage = 50

/** Times `call` `times` times, one after another. */
const timed = <E, R>(times: number, call: (i: number) => Effect.Effect<unknown, E, R>) =>
  Effect.gen(function*() {
    const ms: Array<number> = []
    for (let i = 0; i < times; i++) {
      const before = performance.now()
      yield* call(i)
      ms.push(performance.now() - before)
    }
    ms.sort((a, b) => a - b)
    const at = (p: number) => round(ms[Math.min(ms.length - 1, Math.floor((ms.length * p) / 100))] ?? 0)
    return { calls: times, p50: at(50), p99: at(99) } satisfies Latency
  })

const query = <Row>(text: string, params: ReadonlyArray<unknown> = []) =>
  Effect.flatMap(Database, (db) => Effect.promise(() => db.query<Row>(text, params)))

/** Appends one event at a time with 8 writers for 5 s (after 1 s of warm-up): appends/s. */
const appends = (label: string) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const versions = new Map<string, number>()
    const result = yield* load({ writers: 8, warmupMs: 1_000, durationMs: 5_000 }, (writer) => {
      const stream = `growth-${label}-${writer}-${Math.floor(Math.random() * 125)}`
      const version = versions.get(stream) ?? 0
      versions.set(stream, version + 1)
      return log.append(stream, version, [EventReceived.make({ event: { type: "TICK", n: version } }, { metadata: { kind: "input" } })]).pipe(Effect.asVoid, Effect.orDie)
    })
    return result.operationsPerSecond
  })

/** Full-page images written to the WAL so far (the whole server's), or null where pg_stat_wal is not kept. */
const fullPageImages = Effect.flatMap(Database, (db) =>
  Effect.promise(() =>
    db.query<{ fpi: number }>("select wal_fpi::float8 as fpi from pg_stat_wal").then(([row]) => row?.fpi ?? null, () => null)
  ))

/** Waits until `count` instances of `type` whose ids start with `prefix` are done. */
const allDone = (schema: string, type: string, prefix: string, count: number) =>
  Effect.gen(function*() {
    while (true) {
      const [row] = yield* query<{ n: number }>(
        `select count(*)::int as n from ${schema}.instances where workflow_type = $1 and starts_with(instance_id, $2) and status = 'done'`,
        [type, prefix]
      )
      if (row!.n >= count) return
      yield* Effect.sleep("20 millis")
    }
  })

/** Starts `count` three-step sagas (32 at a time) and waits until all are done: completed sagas/s. */
const sagas = (label: string, count: number, schema: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => engine.start("three-step", { n: i }, { id: `${label}-${i}` }).pipe(Effect.orDie), {
      concurrency: 32,
      discard: true
    })
    yield* allDone(schema, "three-step", `${label}-`, count)
    return Math.round(count / ((performance.now() - started) / 1000))
  })

/** Whether events are committed behind a transaction still open somewhere on the server (gap-safe reads stop before them). */
const heldBack = (schema: string) =>
  query<{ held: boolean }>(
    `select exists (select 1 from ${schema}.events where transaction_id >= pg_snapshot_xmin(pg_current_snapshot())) as held`
  ).pipe(Effect.map(([row]) => row!.held))

/**
 * Reads the whole log from the start, 1,000 events a page, up to `cap` events: events/s. Null when
 * nothing can be read: a transaction open anywhere on the server (any database) holds back every
 * gap-safe read of the log until it ends, and the figure would be the wait. While the log is being
 * written (the read models applying the timers' steps) it is held back for moments at a time: it
 * waits up to a minute for a moment when nothing is.
 */
const catchUp = (cap: number, schema: string) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const clear = yield* heldBack(schema).pipe(
      Effect.repeat({ while: (held) => held, schedule: Schedule.spaced("100 millis"), times: 600 }),
      Effect.map((held) => !held)
    )
    if (!clear) return null
    const started = performance.now()
    let after = LogCursor.start
    let events = 0
    while (events < cap) {
      const page = yield* log.readAll({ after, limit: 1_000 })
      const read = page.events.length + page.broken.length
      if (read === 0) break
      events += read
      after = page.next
    }
    const seconds = (performance.now() - started) / 1000
    return { events, seconds: round(seconds), eventsPerSecond: Math.round(events / seconds) }
  })

/** Milliseconds between `dueAt` and the step that fired each of `label`'s naps made due then, by percentile. */
const lateness = (schema: string, label: string, dueAt: Date, batch: string) =>
  query<{ p50: number; p99: number; fired: number }>(
    `select percentile_disc(0.5) within group (order by late) as p50, percentile_disc(0.99) within group (order by late) as p99, count(*)::int as fired
     from (select extract(epoch from updated_at - $2::timestamptz)::float8 * 1000 as late from ${schema}.instances
       where workflow_type = 'nap' and starts_with(instance_id, $1) and status = 'done') fired`,
    [`${label}-${batch}-`, dueAt.toISOString()]
  ).pipe(Effect.map(([row]) => ({ p50: round(row!.p50), p99: round(row!.p99), fired: row!.fired })))

/** Brings the timers of `label`'s naps in `batch` forward to now; answers when that was (the database's clock). */
const makeDue = (schema: string, label: string, batch: string) =>
  query<{ due_at: Date }>(
    `update ${schema}.tasks set due_at = now() where kind = 'timer' and workflow_type = 'nap' and starts_with(instance_id, $1) returning due_at`,
    [`${label}-${batch}-`]
  ).pipe(Effect.map((rows) => ({ dueAt: rows[0]?.due_at ?? new Date(), count: rows.length })))

/**
 * Timers firing with `count` of them in the table: starts `count` naps (each a timer an hour ahead),
 * makes 100 of them due and times how late they fire (the others pending: what every claim passes
 * by), then makes the rest due at once and times the backlog's drain — its lateness is mostly
 * queueing, the rate at which one worker fires timers is the figure.
 */
const timers = (label: string, count: number, schema: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const few = Math.min(100, count)
    const naps = Array.from({ length: count }, (_, i) => (i < few ? `${label}-few-${i}` : `${label}-rest-${i}`))
    yield* Effect.forEach(naps, (id) => engine.start("nap", {}, { id }).pipe(Effect.orDie), { concurrency: 64, discard: true })
    // Statistics for the tables the naps just grew (the worker's beat would analyze them within 2 s; done here so
    // that the figure does not depend on when the beat falls). Without them the plans each connection cached while
    // the tables were small stay in use: at size 0 the instance lookups walked a list index over every nap, 40-60 ms
    // each, and the backlog fired 180-220 timers/s.
    yield* Effect.flatMap(Database, (db) =>
      Effect.forEach(["instances", "instance_paths", "tasks", "events"], (table) => Effect.promise(() => db.exec(`analyze ${schema}.${table}`)), { discard: true }))
    const soon = yield* makeDue(schema, label, "few")
    yield* allDone(schema, "nap", `${label}-few-`, soon.count)
    const fewLate = yield* lateness(schema, label, soon.dueAt, "few")
    const started = performance.now()
    const rest = yield* makeDue(schema, label, "rest")
    yield* allDone(schema, "nap", `${label}-rest-`, rest.count)
    const seconds = (performance.now() - started) / 1000
    const restLate = yield* lateness(schema, label, rest.dueAt, "rest")
    return {
      pending: count,
      few: { timers: fewLate.fired, p50: fewLate.p50, p99: fewLate.p99 },
      backlog: { timers: restLate.fired, seconds: round(seconds), firedPerSecond: Math.round(restLate.fired / seconds), p50: restLate.p50, p99: restLate.p99 }
    }
  })

/**
 * A new durable subscription (no checkpoint: from the start of the log) delivering `target` events to
 * a handler that counts them, its checkpoint moving after each batch as a read model's would: events/s.
 */
const subscriptionCatchUp = (label: string, target: number) =>
  Effect.scoped(Effect.gen(function*() {
    const log = yield* EventLog
    const caughtUp = yield* Deferred.make<void>()
    let delivered = 0
    const started = performance.now()
    yield* log.subscribe(`growth-catch-up-${label}`, () =>
      Effect.suspend(() => {
        delivered += 1
        return delivered === target ? Deferred.succeed(caughtUp, undefined) : Effect.void
      }))
    yield* Deferred.await(caughtUp)
    const seconds = (performance.now() - started) / 1000
    return { events: delivered, seconds: round(seconds), eventsPerSecond: Math.round(delivered / seconds) }
  }))

/**
 * Every figure at the log's present size.
 *
 * @example
 * const figures = yield* measure({ label: "s0", sagas: 1_000, samples: 300, readAllCap: 1_000_000, doctor: true, schema, progress })
 */
export const measure = (options: MeasureOptions) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const registry = yield* WorkflowRegistry
    const { label, progress, schema } = options
    // Warm, as the engine benchmark does: the first sagas of a process pay for its JIT, its caches and its prepared statements.
    progress(`${label}: warming up (${warmupSagas} sagas)`)
    yield* sagas(`${label}-warm`, warmupSagas, schema)
    progress(`${label}: appends, 8 writers`)
    const appendsPerSecond = yield* appends(label)
    progress(`${label}: ${options.sagas} three-step sagas`)
    const [walBefore] = yield* query<{ lsn: string }>("select pg_current_wal_insert_lsn()::text as lsn")
    const fullPagesBefore = yield* fullPageImages
    const sagasPerSecond = yield* sagas(label, options.sagas, schema)
    const [wal] = yield* query<{ bytes: number }>("select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8 as bytes", [walBefore!.lsn])
    const walBytesPerSaga = Math.round(wal!.bytes / options.sagas)
    const fullPagesAfter = yield* fullPageImages
    const walFullPagesPerSaga = fullPagesBefore === null || fullPagesAfter === null ? null : round((fullPagesAfter - fullPagesBefore) / options.sagas)
    const sample = yield* query<{ workflow_type: string; instance_id: string }>(
      `select workflow_type, instance_id from ${schema}.instances where workflow_type <> 'three-step' order by random() limit $1`,
      [options.samples]
    )
    progress(`${label}: get and history of ${sample.length} instances`)
    // Warm: the first calls of a kind prepare their statements.
    for (const row of sample.slice(-5)) yield* engine.history(row.workflow_type, row.instance_id).pipe(Effect.orDie)
    const getMs = yield* timed(sample.length, (i) => engine.get(sample[i]!.workflow_type, sample[i]!.instance_id).pipe(Effect.orDie))
    const historyMs = yield* timed(sample.length, (i) => engine.history(sample[i]!.workflow_type, sample[i]!.instance_id).pipe(Effect.orDie))
    progress(`${label}: list and census`)
    let found = 0
    const listed = yield* timed(options.samples, () =>
      engine.list({ ...listFilter, limit: listPage }).pipe(
        Effect.tap((page) => Effect.sync(() => (found = page.items.length))),
        Effect.orDie
      ))
    const censusMs: Record<string, Latency> = {}
    for (const type of [...new Set(registry.all.map((definition) => definition.type))].sort()) {
      censusMs[type] = yield* timed(Math.max(10, Math.floor(options.samples / 10)), () => engine.census(type).pipe(Effect.orDie))
    }
    progress(`${label}: ${options.timers} timers`)
    const timersFired = options.timers === 0 ? null : yield* timers(label, options.timers, schema)
    progress(`${label}: readAll from the start`)
    const readAll = yield* catchUp(options.readAllCap, schema)
    if (readAll === null) progress(`${label}: readAll skipped: a transaction open on the server holds back the log's gap-safe reads`)
    // As many events as readAll read: the same stretch of the log, through a subscription's batches and checkpoints.
    const subscription = readAll === null || readAll.events === 0 ? null : yield* Effect.gen(function*() {
      progress(`${label}: a new subscription catching up from the start`)
      return yield* subscriptionCatchUp(label, readAll.events)
    }).pipe(Effect.orDie)
    let doctor: SizeFigures["doctor"] = null
    if (options.doctor) {
      progress(`${label}: doctor`)
      const before = performance.now()
      const report = yield* checkup().pipe(Effect.orDie)
      doctor = { seconds: round((performance.now() - before) / 1000), problems: report.problems }
      if (report.problems > 0) progress(`${label}: doctor found ${report.problems} problem(s): ${report.checks.filter((c) => c.level === "fail").map((c) => c.message).join("; ")}`)
    }
    return {
      appendsPerSecond,
      sagasPerSecond,
      walBytesPerSaga,
      walFullPagesPerSaga,
      loadAverage: round(os.loadavg()[0]!),
      getMs,
      historyMs,
      listMs: { ...listed, filter: listFilter, found },
      censusMs,
      readAll,
      subscription,
      timers: timersFired,
      doctor
    } satisfies SizeFigures
  })

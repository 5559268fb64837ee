/**
 * `npm run bench -- engine`: the durable engine on real Postgres.
 *
 * - Completed sagas/s and saga latency (start → final) for a three-activity saga
 *   with instant activities, run by 1, 2 and 4 worker processes while this
 *   process starts the sagas (as an HTTP server would), with the CPU each saga
 *   cost: in the clients (this process and the workers) and in the server
 *   (every Postgres process on this machine), so that the figure transfers to
 *   machines with more cores than these two.
 * - Write transactions, statements and WAL per completed saga: from an
 *   in-process run whose database calls are counted, and from
 *   pg_stat_database / pg_current_wal_insert_lsn() deltas.
 * - Replay over a 100,000-input history read back from the log, from the start
 *   and from a snapshot; XState's own `transition()` fold for reference.
 * - The bare log's single-event append rate (8 writers), so the engine's
 *   overhead shows as a ratio.
 */
import { Effect, Layer, Result } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { initialTransition, transition } from "xstate"
import { Engine, orreryLayer, replay } from "../src/engine/index.js"
import { persistSnapshot } from "../src/engine/pure.js"
import { EventReceived, WorkflowStarted } from "../src/engine/records.js"
import { nextStep, startStep } from "../src/engine/step.js"
import { Database, type DatabaseShape, EventLog, layer as logLayer, layerPostgres, type NewEvent } from "../src/log/index.js"
import { counterMachine } from "./engine/counter.js"
import { threeStepWorkflow } from "./engine/saga.js"
import { type BenchContext, type BenchOutput, formatTable, load, postgresPids, processesCpuMicros } from "./support.js"

export const description = "sagas/s, latency and CPU per saga with 1, 2 and 4 worker processes, statements per saga, replay speed, vs the bare log append rate"

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits
const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0

// ---------------------------------------------------------------------------
// Counting what the engine sends to the database

interface Counts {
  statements: number
  transactions: number
}

const counting = (counts: Counts) =>
  Layer.effect(
    Database,
    Effect.map(Database, (db): DatabaseShape => ({
      ...db,
      query: (text, params) => {
        counts.statements++
        // A statement outside a transaction block is a transaction of its own.
        counts.transactions++
        return db.query(text, params)
      },
      transaction: (work) => {
        counts.transactions++
        counts.statements += 2
        return db.transaction((tx) =>
          work({
            query: (text, params) => {
              counts.statements++
              return tx.query(text, params)
            },
            exec: tx.exec
          })
        )
      }
    }))
  )

const serverCounters = (db: DatabaseShape) =>
  Effect.promise(async () => {
    const [row] = await db.query<{ commits: number; wal: string }>(
      "select xact_commit::float8 as commits, pg_current_wal_insert_lsn()::text as wal from pg_stat_database where datname = current_database()"
    )
    return row!
  })

const walBytes = (db: DatabaseShape, from: string, to: string) =>
  Effect.promise(async () => {
    const [row] = await db.query<{ bytes: number }>("select pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::float8 as bytes", [to, from])
    return row!.bytes
  })

// ---------------------------------------------------------------------------
// Sagas

const spawnWorker = (schema: string) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/engine/worker.ts"], {
      env: { ...process.env, DATABASE_URL: url, ORRERY_SCHEMA: schema },
      stdio: ["ignore", "pipe", "inherit"]
    })
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("worker up") && resolve(child))
    child.on("exit", (code) => reject(new Error(`worker exited with ${code}`)))
  })

const stopWorker = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** Starts `count` sagas with `concurrency` callers and waits until all are done; answers rate and latencies. */
const runSagas = (prefix: string, count: number, concurrency: number, schema: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const db = yield* Database
    // Timed on the database's clock, from before the first start to the last saga's final step, so that
    // how often this loop looks does not change the figure: it looks every 100 ms (each look reads every
    // instance, a load that at every 10 ms was a tenth of the server CPU charged to the sagas).
    const [clock] = yield* Effect.promise(() => db.query<{ started: Date }>("select clock_timestamp() as started"))
    yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => engine.start("three-step", { n: i }, { id: `${prefix}-${i}` }),
      { concurrency, discard: true }
    )
    let finished: Date | undefined
    while (true) {
      const [row] = yield* Effect.promise(() =>
        db.query<{ n: number; finished: Date }>(
          `select count(*)::int as n, max(updated_at) as finished from ${schema}.instances where status = 'done' and instance_id like $1`,
          [`${prefix}-%`]
        )
      )
      if (row!.n === count) {
        finished = row!.finished
        break
      }
      yield* Effect.sleep("100 millis")
    }
    const seconds = (new Date(finished).getTime() - new Date(clock!.started).getTime()) / 1000
    const latencies = (yield* Effect.promise(() =>
      db.query<{ ms: number }>(
        `select extract(epoch from (updated_at - created_at)) * 1000 as ms from ${schema}.instances where instance_id like $1 order by 1`,
        [`${prefix}-%`]
      )
    )).map((row) => Number(row.ms))
    return {
      sagas: count,
      seconds: round(seconds, 2),
      sagasPerSecond: Math.round(count / seconds),
      latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) }
    }
  })

const withApi = <A, E>(schema: string, body: Effect.Effect<A, E, Engine | Database | EventLog>, extra: Layer.Layer<never> = Layer.empty) =>
  Effect.scoped(
    body.pipe(
      Effect.provide(
        orreryLayer({ workflows: [threeStepWorkflow], schema, worker: false }).pipe(
          Layer.provideMerge(layerPostgres({ url, max: 16 })),
          Layer.provide(extra),
          Layer.orDie
        )
      )
    )
  )

/**
 * CPU so far, in microseconds: the clients (this process, which starts the sagas and polls, and the
 * worker processes) and the server (every Postgres process here; undefined when Postgres runs elsewhere).
 */
const cpuNow = (workers: ReadonlyArray<ChildProcess>) => {
  const own = process.cpuUsage()
  const children = processesCpuMicros(workers.map((child) => child.pid!))
  const server = postgresPids()
  return {
    client: children === undefined ? undefined : own.user + own.system + children,
    server: server.length === 0 ? undefined : processesCpuMicros(server)
  }
}

const sagasWithWorkers = (workers: number, count: number, progress: (line: string) => void) =>
  Effect.gen(function*() {
    const schema = `orrery_bench_${randomBytes(4).toString("hex")}`
    const children: Array<ChildProcess> = []
    return yield* withApi(
      schema,
      Effect.gen(function*() {
        const db = yield* Database
        for (let i = 0; i < workers; i++) children.push(yield* Effect.promise(() => spawnWorker(schema)))
        progress(`${workers} worker process(es): warming up`)
        yield* runSagas("warm", 300, 32, schema)
        const before = yield* serverCounters(db)
        const cpuBefore = cpuNow(children)
        progress(`${workers} worker process(es): ${count} sagas`)
        const result = yield* runSagas("run", count, 32, schema)
        const cpuAfter = cpuNow(children)
        const after = yield* serverCounters(db)
        const wal = yield* walBytes(db, before.wal, after.wal)
        const perSaga = (from: number | undefined, to: number | undefined) =>
          from === undefined || to === undefined ? null : Math.round((to - from) / count)
        return {
          workers,
          ...result,
          serverCommitsPerSaga: round((after.commits - before.commits) / count, 2),
          walBytesPerSaga: Math.round(wal / count),
          cpuMicrosPerSaga: { client: perSaga(cpuBefore.client, cpuAfter.client), server: perSaga(cpuBefore.server, cpuAfter.server) }
        }
      }).pipe(
        Effect.ensuring(
          Effect.promise(async () => {
            await Promise.all(children.map(stopWorker))
          })
        ),
        Effect.ensuring(Effect.flatMap(Database, (db) => Effect.promise(() => db.exec(`drop schema if exists ${schema} cascade`))))
      )
    )
  })

/** One process, worker included, with every database call counted. */
const statementsPerSaga = (count: number) =>
  Effect.gen(function*() {
    const schema = `orrery_bench_${randomBytes(4).toString("hex")}`
    const counts: Counts = { statements: 0, transactions: 0 }
    const orrery = orreryLayer({ workflows: [threeStepWorkflow], schema, worker: { concurrency: 128 } }).pipe(
      Layer.provideMerge(counting(counts)),
      Layer.provideMerge(layerPostgres({ url, max: 16 })),
      Layer.orDie
    )
    return yield* Effect.scoped(
      Effect.gen(function*() {
        yield* runSagas("warm", 100, 32, schema)
        // The polling loop that waits for completion is the benchmark's, not the engine's: leave it out.
        const engine = yield* Engine
        const before = { ...counts }
        const started = performance.now()
        yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => engine.start("three-step", { n: i }, { id: `count-${i}` }), { concurrency: 32, discard: true })
        const db = yield* Database
        // Polled on a connection of its own, so that only the engine's statements are counted.
        const poller = postgres(url, { max: 1, onnotice: () => {} })
        const running = Effect.promise(() => poller.unsafe(`select count(*)::int as n from ${schema}.instances where status = 'running'`))
        while ((yield* running)[0]!.n > 0) yield* Effect.sleep("20 millis")
        yield* Effect.promise(() => poller.end())
        const seconds = (performance.now() - started) / 1000
        const statements = counts.statements - before.statements
        const transactions = counts.transactions - before.transactions
        yield* Effect.promise(() => db.exec(`drop schema if exists ${schema} cascade`))
        return {
          sagas: count,
          sagasPerSecond: Math.round(count / seconds),
          statementsPerSaga: round(statements / count, 2),
          transactionsPerSaga: round(transactions / count, 2)
        }
      }).pipe(Effect.provide(orrery))
    )
  })

// ---------------------------------------------------------------------------
// Replay

const historySize = 100_000

/** A 100,000-input history of the counter machine, appended to the log in batches, then read back. */
const replaySpeed = (progress: (line: string) => void) =>
  Effect.gen(function*() {
    const schema = `orrery_bench_${randomBytes(4).toString("hex")}`
    return yield* Effect.scoped(
      Effect.gen(function*() {
        const log = yield* EventLog
        const db = yield* Database
        const stream = "counter-bench"
        const invocables = { isActivity: () => false, isWorkflow: () => false }
        // Record what the engine would: each input with the state it led to, and the snapshot at 99,000.
        let step = startStep(counterMachine, {}, invocables)
        let batch: Array<NewEvent> = [WorkflowStarted.make({ workflowType: "counter", instanceId: "bench", machineVersion: 1, input: {} }, { metadata: { kind: "input", state: step.snapshot.value as never } })]
        let version = 0
        let snapshotAt: { streamVersion: number; state: unknown } | undefined
        progress(`replay: recording ${historySize} inputs`)
        for (let i = 1; i < historySize; i++) {
          const event = { type: i % 7 === 0 ? "RESET" : "TICK" }
          step = nextStep(counterMachine, step.snapshot, event, invocables) ?? step
          batch.push(EventReceived.make({ event }, { metadata: { kind: "input", state: step.snapshot.value as never } }))
          if (batch.length === 500 || i === historySize - 1) {
            yield* log.append(stream, version, batch)
            version += batch.length
            batch = []
          }
          if (i === historySize - 1_001) snapshotAt = { streamVersion: version + batch.length, state: persistSnapshot(counterMachine, step.snapshot) }
        }
        const readStart = performance.now()
        const history = yield* log.readStream(stream)
        const readMs = performance.now() - readStart

        const foldStart = performance.now()
        const full = replay(history, counterMachine)
        const foldMs = performance.now() - foldStart
        if (Result.isFailure(full)) throw full.failure

        const tailStart = performance.now()
        const tailHistory = yield* log.readStream(stream, { from: snapshotAt!.streamVersion + 1 })
        const tail = replay(tailHistory, counterMachine, { from: snapshotAt! })
        const tailMs = performance.now() - tailStart
        if (Result.isFailure(tail)) throw tail.failure

        // XState's own transition(): a fresh actor per call.
        const reference = Math.min(historySize, 20_000)
        const refStart = performance.now()
        let [snapshot] = initialTransition(counterMachine, {})
        for (let i = 1; i < reference; i++) [snapshot] = transition(counterMachine, snapshot, { type: i % 7 === 0 ? "RESET" : "TICK" })
        const refMs = performance.now() - refStart

        yield* Effect.promise(() => db.exec(`drop schema if exists ${schema} cascade`))
        return {
          inputs: history.length,
          readMs: Math.round(readMs),
          foldMs: Math.round(foldMs),
          foldInputsPerSecond: Math.round(history.length / (foldMs / 1000)),
          readAndFoldInputsPerSecond: Math.round(history.length / ((readMs + foldMs) / 1000)),
          fromSnapshot: { inputsFolded: tailHistory.length, totalMs: Math.round(tailMs) },
          xstateTransitionInputsPerSecond: Math.round(reference / (refMs / 1000))
        }
      }).pipe(Effect.provide(logLayer({ schema }).pipe(Layer.provideMerge(layerPostgres({ url, max: 4 })), Layer.orDie)))
    )
  })

// ---------------------------------------------------------------------------
// The bare log, for the ratio

const bareLogRate = Effect.gen(function*() {
  const schema = `orrery_bench_${randomBytes(4).toString("hex")}`
  return yield* Effect.scoped(
    Effect.gen(function*() {
      const log = yield* EventLog
      const db = yield* Database
      const versions = new Map<string, number>()
      const result = yield* load({ writers: 8, warmupMs: 1_000, durationMs: 5_000 }, (writer) => {
        const stream = `s-${writer}-${Math.floor(Math.random() * 125)}`
        const version = versions.get(stream) ?? 0
        versions.set(stream, version + 1)
        return log.append(stream, version, [EventReceived.make({ event: { type: "TICK", n: version } }, { metadata: { kind: "input" } })]).pipe(Effect.asVoid, Effect.orDie)
      })
      yield* Effect.promise(() => db.exec(`drop schema if exists ${schema} cascade`))
      return result
    }).pipe(Effect.provide(logLayer({ schema }).pipe(Layer.provideMerge(layerPostgres({ url, max: 16 })), Layer.orDie)))
  )
})

// ---------------------------------------------------------------------------

export const run = async (context: BenchContext): Promise<BenchOutput> => {
  const count = Number(context.args[0] ?? 3_000)
  const program = Effect.gen(function*() {
    context.progress("bare log appends, 8 writers")
    const bare = yield* bareLogRate
    const byWorkers = []
    for (const workers of [1, 2, 4]) byWorkers.push(yield* sagasWithWorkers(workers, count, context.progress))
    context.progress("statements per saga (in-process worker)")
    const counted = yield* statementsPerSaga(Math.min(count, 2_000))
    const replayed = yield* replaySpeed(context.progress)
    return { bare, byWorkers, counted, replayed }
  })
  const { bare, byWorkers, counted, replayed } = await Effect.runPromise(program)
  const stepsPerSaga = 4
  const results = {
    saga: "three-step: start + 3 instant activities = 4 inputs",
    workers: byWorkers,
    inProcess: counted,
    replay: replayed,
    bareLogAppendsPerSecond8Writers: bare.operationsPerSecond,
    engineInputsPerSecondVsBareAppends: byWorkers.map((r) => round((r.sagasPerSecond * stepsPerSaga) / bare.operationsPerSecond, 2)),
    target: { sagasPerSecond: 700, replayInputsPerSecond: 100_000 }
  }
  const table = [
    formatTable(
      ["worker processes", "sagas", "sagas/s", "p50 ms", "p99 ms", "commits/saga", "WAL B/saga", "CPU µs/saga client / server", "inputs/s ÷ bare appends/s"],
      byWorkers.map((r, i) => [r.workers, r.sagas, r.sagasPerSecond, r.latencyMs.p50, r.latencyMs.p99, r.serverCommitsPerSaga, r.walBytesPerSaga,
        `${r.cpuMicrosPerSaga.client ?? "-"} / ${r.cpuMicrosPerSaga.server ?? "-"}`, results.engineInputsPerSecondVsBareAppends[i]!])
    ),
    "",
    `in-process worker: ${counted.sagasPerSecond} sagas/s, ${counted.statementsPerSaga} statements and ${counted.transactionsPerSaga} transactions per saga`,
    `bare log: ${bare.operationsPerSecond} single-event appends/s at 8 writers`,
    `replay of ${replayed.inputs} inputs: read ${replayed.readMs} ms, fold ${replayed.foldMs} ms (${replayed.foldInputsPerSecond} inputs/s; ${replayed.readAndFoldInputsPerSecond} with the read); from a snapshot: ${replayed.fromSnapshot.inputsFolded} inputs in ${replayed.fromSnapshot.totalMs} ms; XState transition(): ${replayed.xstateTransitionInputsPerSecond} inputs/s`
  ].join("\n")
  return { environment: { postgres: url.replace(/:[^:@/]*@/, ":***@") }, results, table }
}

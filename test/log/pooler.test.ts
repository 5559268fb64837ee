/**
 * Orrery through PgBouncer in transaction mode (ORRERY_DATABASE_POOLER=transaction), where
 * every transaction may run on another server connection: migrations taken by two processes
 * at once (a transaction-scoped advisory lock), appends from 8 writers (no statement
 * prepared on one connection and run on the next), another process's appends seen by
 * polling (no LISTEN), and a workflow run to its end by the worker. Postgres only.
 */
import { Context, Effect, Layer } from "effect"
import { createOrrery } from "orrery"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EventLog, type RecordedEvent, layer, layerPostgres } from "../../src/log/index.js"
import { Mailer, signupWorkflow } from "../package/signup.js"
import { drivers, freshSchema, postgresUrl } from "../support/drivers.js"
import { type RunningPooler, hasPgbouncer, startPgbouncer } from "../support/pgbouncer.js"
import { catalog, tick } from "./fixtures.js"

const eventually = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.skipIf(!hasPgbouncer || !drivers.includes("postgres"))("Orrery through PgBouncer in transaction mode", () => {
  let pooler: RunningPooler
  const schemas: Array<string> = []
  const direct = postgres(postgresUrl, { max: 1, onnotice: () => {} })
  beforeAll(async () => {
    pooler = await startPgbouncer()
  }, 90_000)
  afterAll(async () => {
    for (const schema of schemas) await direct.unsafe(`drop schema if exists ${schema} cascade`)
    await direct.end()
    await pooler?.stop()
  })

  /** The log on `schema`, as one process opens it through the pooler. */
  const pooledLog = (schema: string, migrate = true) =>
    Layer.build(layer({ schema, catalog, migrate }).pipe(Layer.provide(layerPostgres({ url: pooler.url, max: 10, transactionPooler: true })), Layer.orDie)).pipe(
      Effect.map((context) => Context.get(context, EventLog))
    )

  it("migrates once when two processes open the same fresh schema together", async () => {
    const schema = freshSchema()
    schemas.push(schema)
    await Effect.runPromise(Effect.scoped(Effect.all([pooledLog(schema), pooledLog(schema)], { concurrency: 2 })))
    const applied = await direct.unsafe(`select component, version, count(*)::int as times from ${schema}.migrations group by component, version`)
    expect(applied.length).toBeGreaterThan(0)
    expect(applied.every((row) => row.times === 1)).toBe(true)
  })

  it("keeps every stream gap-free and chained under 8 writers", async () => {
    const schema = freshSchema()
    schemas.push(schema)
    const streams = Array.from({ length: 10 }, (_, n) => `pooled-${n}`)
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const log = yield* pooledLog(schema)
          yield* Effect.all(
            Array.from({ length: 8 }, (_, writer) =>
              Effect.forEach(Array.from({ length: 50 }, (_, n) => n), (n) => log.append(streams[(writer + n) % streams.length]!, "any", [tick(writer * 1000 + n)]))
            ),
            { concurrency: 8 }
          )
          let total = 0
          for (const stream of streams) {
            // readStream checks each row against the hash chain: a gap or a broken link fails it.
            const events = yield* log.readStream(stream)
            expect(events.map((event) => event.streamVersion)).toEqual(events.map((_, n) => n + 1))
            total += events.length
          }
          expect(total).toBe(400)
        })
      )
    )
  }, 120_000)

  it("sees another process's appends by polling, with no LISTEN through the pooler", async () => {
    const schema = freshSchema()
    schemas.push(schema)
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const reader = yield* pooledLog(schema)
          const received: Array<RecordedEvent> = []
          yield* reader.subscribe("elsewhere", (event) => Effect.sync(() => received.push(event)), { pollInterval: "200 millis" })
          const writer = yield* pooledLog(schema, false)
          yield* writer.append("remote-1", "no_stream", [tick(7), tick(8)])
          yield* Effect.promise(() => eventually(() => received.length === 2, "the other process's events"))
          expect(received.map((event) => (event.data as { n: number }).n)).toEqual([7, 8])
        })
      )
    )
  })

  it("runs a workflow to its end: started, stepped, its activity claimed and recorded by the worker", async () => {
    const schema = freshSchema()
    schemas.push(schema)
    const mailer = Mailer.recording()
    const orrery = await createOrrery({ workflows: [signupWorkflow], services: mailer.layer, database: { url: pooler.url, pooler: "transaction" }, schema })
    try {
      const signups = await Promise.all(Array.from({ length: 6 }, (_, n) => orrery.start("signup", { email: `member-${n}@example.com` }, { id: `s-${n}` })))
      await Promise.all(signups.map((signup) => signup.send({ type: "CONFIRM", code: "123456" })))
      const outputs = await Promise.all(signups.map((signup) => signup.result({ timeout: "60s" })))
      expect(outputs.map((output) => output.status)).toEqual(Array(6).fill("welcomed"))
      expect(new Set([...mailer.sent.values()].map((mail) => mail.to)).size).toBe(6)
      const history = await orrery.handle("signup", "s-0").history()
      expect(history.some((entry) => entry.type === "activity.completed")).toBe(true)
    } finally {
      await orrery.close()
    }
  }, 120_000)
})

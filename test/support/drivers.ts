/**
 * The two drivers every log test runs against. Real Postgres is the server on
 * 127.0.0.1:5432 (or ORRERY_TEST_DATABASE_URL); each test gets a schema of its
 * own, dropped afterwards. PGlite runs in memory from a template image made once
 * per test process (initdb costs seconds, loading the image well under one).
 * Under CI=true a missing Postgres fails the suite instead of skipping it.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect, Layer } from "effect"
import postgres from "postgres"
import { randomBytes } from "node:crypto"
import { Database, EventLog, type EventLogOptions, layer, layerPglite, layerPostgres } from "../../src/log/index.js"

export const postgresUrl = process.env.ORRERY_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

export type Driver = "postgres" | "pglite"

const probePostgres = async (): Promise<boolean> => {
  const sql = postgres(postgresUrl, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {})
  }
}

const postgresUp = await probePostgres()
if (!postgresUp && process.env.CI === "true") {
  throw new Error(`CI=true but Postgres is not reachable at ${postgresUrl}: the log suite must run on both drivers`)
}

/** Drivers to run: both, or PGlite alone on a developer machine without Postgres. */
export const drivers: ReadonlyArray<Driver> = postgresUp ? ["pglite", "postgres"] : ["pglite"]

let template: Promise<Blob> | undefined
const pgliteTemplate = () =>
  (template ??= (async () => {
    const db = await PGlite.create()
    const image = await db.dumpDataDir("none")
    await db.close()
    return image
  })())

export const freshSchema = () => `orrery_t_${randomBytes(6).toString("hex")}`

/** A Database layer for the driver; on Postgres the schema is dropped when the layer closes. */
export const databaseLayer = (driver: Driver, schema: string): Layer.Layer<Database> =>
  driver === "postgres"
    ? Layer.effectDiscard(Effect.void).pipe(
        Layer.provideMerge(
          Layer.effect(
            Database,
            Effect.gen(function*() {
              const db = yield* Database
              yield* Effect.addFinalizer(() =>
                Effect.promise(() => db.exec(`drop schema if exists ${schema} cascade`).catch(() => {}))
              )
              return db
            })
          ).pipe(Layer.provide(layerPostgres({ url: postgresUrl, max: 10 })))
        ),
        Layer.orDie
      )
    : Layer.unwrap(Effect.promise(() => pgliteTemplate()).pipe(Effect.map((image) => layerPglite({ loadDataDir: image })))).pipe(
        Layer.orDie
      )

/** The event log on a fresh schema of the driver, with its database. */
export const logLayer = (driver: Driver, options: EventLogOptions = {}) => {
  const schema = options.schema ?? freshSchema()
  return layer({ ...options, schema }).pipe(Layer.provideMerge(databaseLayer(driver, schema)), Layer.orDie)
}

/** Runs a test body with the log (and its database) of one driver. */
export const withLog = <A, E>(
  driver: Driver,
  body: Effect.Effect<A, E, EventLog | Database>,
  options: EventLogOptions = {}
): Promise<A> => Effect.runPromise(Effect.scoped(body.pipe(Effect.provide(logLayer(driver, options)))))

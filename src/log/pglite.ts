/**
 * The embedded driver: PGlite (Postgres compiled to WASM) in this process,
 * persisted to a folder. One connection; calls queue. PGlite takes no lock on
 * its folder and an unclean stop can corrupt it, so this driver guards the
 * folder with a lock file (its pid, and where it serves: lock-file.ts) and closes with a CHECKPOINT.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Database, type DatabaseShape, type Queryable, StoreUnavailable } from "./database.js"
import { describeHolder, formatLock, isAlive, lockPath, parseLock } from "./lock-file.js"
import { type PreparedQueries, preparedQueries } from "./pglite-prepared.js"

export interface PgliteOptions {
  /** A folder to persist to; omitted → in memory. */
  readonly dataDir?: string
  /** A data folder image (from `dumpDataDir`) to start from: skips initdb, used by tests. */
  readonly loadDataDir?: Blob
}

const parsers = { 20: (value: string) => Number(value) }

/** Queries run as prepared statements (pglite-prepared.ts); scripts of several statements through `exec`. */
const asQueryable = (db: Pick<PGlite, "exec">, prepared: PreparedQueries, inTransaction: boolean): Queryable => ({
  query: async (text, params = []) => (await prepared.query(text, params, inTransaction)) as Array<never>,
  exec: async (text) => {
    await db.exec(text)
  }
})

/**
 * Statements inside a PGlite transaction must not overlap (the connection is
 * one wire protocol session); callers may issue several at once, as they do on
 * postgres.js, so they are chained here.
 */
const serialised = (queryable: Queryable): Queryable => {
  let last: Promise<unknown> = Promise.resolve()
  const chain = <A>(run: () => Promise<A>): Promise<A> => {
    const next = last.then(run, run)
    last = next.catch(() => {})
    return next
  }
  return {
    query: (text, params) => chain(() => queryable.query(text, params)),
    exec: (text) => chain(() => queryable.exec(text))
  }
}

const wrap = (db: PGlite, location: string): DatabaseShape => {
  const prepared = preparedQueries(db)
  return {
    driver: "pglite",
    location,
    ...asQueryable(db, prepared, false),
    transaction: (work) => db.transaction((tx) => work(serialised(asQueryable(tx, prepared, true)))),
    listen: async (channel, onNotify) => {
      const unlisten = await db.listen(channel, onNotify)
      return () => unlisten()
    }
  }
}

/** Takes `<dataDir>.lock`, or says which live process holds it. A lock left by a dead process is taken over. */
const takeLock = (dataDir: string): string | undefined => {
  const file = lockPath(dataDir)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, formatLock({ pid: process.pid }), { flag: "wx" })
      return undefined
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const holder = parseLock(fs.readFileSync(file, "utf8"))
      if (holder !== undefined && holder.pid !== process.pid && isAlive(holder.pid)) {
        return `the data folder ${dataDir} is in use by ${describeHolder(holder)}; stop it or choose another ORRERY_DATA_DIR`
      }
      fs.rmSync(file, { force: true })
    }
  }
  return `could not take the lock ${file}`
}

const releaseLock = (dataDir: string) => {
  const file = lockPath(dataDir)
  try {
    if (parseLock(fs.readFileSync(file, "utf8"))?.pid === process.pid) fs.rmSync(file, { force: true })
  } catch {
    // already gone
  }
}

const closeCleanly = async (db: PGlite) => {
  if (db.closed) return
  await db.exec("checkpoint").catch(() => {})
  await db.close()
}

export const layerPglite = (options: PgliteOptions = {}) => {
  const location = options.dataDir === undefined ? "memory" : path.resolve(options.dataDir)
  return Layer.effect(
    Database,
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          if (options.dataDir !== undefined) {
            const refusal = takeLock(options.dataDir)
            if (refusal !== undefined) throw new Error(refusal)
            fs.mkdirSync(options.dataDir, { recursive: true })
          }
          try {
            const db = await PGlite.create({
              ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
              ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
              parsers
            })
            return db
          } catch (error) {
            if (options.dataDir !== undefined) releaseLock(options.dataDir)
            throw error
          }
        },
        catch: (error) =>
          new StoreUnavailable({
            location,
            message: `cannot open the embedded database at ${location}: ${error instanceof Error ? error.message : String(error)}`
          })
      }),
      (db) =>
        Effect.promise(async () => {
          await closeCleanly(db).catch(() => {})
          if (options.dataDir !== undefined) releaseLock(options.dataDir)
        })
    ).pipe(Effect.map((db) => wrap(db, location)))
  )
}

/** Shared by the durability tests: a database that outlives the processes on it, and reading it afterwards. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import postgres from "postgres"
import { Effect } from "effect"
import { createOrrery, type Orrery } from "../../../src/orrery/create-orrery.js"
import { Database } from "../../../src/log/index.js"
import { durableDomains } from "./domains.js"
import { type Driver, postgresUrl } from "../../support/drivers.js"
import { caughtUp } from "../shop/support.js"
import { checkInvariants, type Figures } from "./invariants.js"

export { durableDomains }

/** Where a test's data lives across processes: a PGlite folder, or a Postgres database of its own (Orrery's default schema in it). */
export interface Place {
  readonly env: Record<string, string>
  readonly choice: { readonly dataDir: string } | { readonly url: string }
  drop(): Promise<void>
}

export const makePlace = async (driver: Driver): Promise<Place> => {
  if (driver === "pglite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-durable-"))
    const dataDir = path.join(dir, "data")
    return { env: { ORRERY_DATA_DIR: dataDir }, choice: { dataDir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) }
  }
  const name = `orrery_durable_${randomBytes(5).toString("hex")}`
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(postgresUrl)
  url.pathname = `/${name}`
  return {
    env: { DATABASE_URL: url.toString() },
    choice: { url: url.toString() },
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {})
      await admin.end({ timeout: 1 })
    }
  }
}

/** Opens the place in this process (no worker), lets the read models catch up, and checks every invariant. */
export const verify = async (place: Place): Promise<Figures> => {
  const orrery: Orrery = await createOrrery({ domains: durableDomains(), database: place.choice, worker: false })
  try {
    await orrery.runtime.runPromise(caughtUp("orrery"))
    const db = await orrery.runtime.runPromise(Database.use((db) => Effect.succeed(db)))
    return await checkInvariants(db, "orrery")
  } finally {
    await orrery.close()
  }
}

export const waitUntil = async <A>(read: () => Promise<A>, done: (value: A) => boolean, timeoutMs: number, what: string, everyMs = 100): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: A | undefined
  for (;;) {
    try {
      last = await read()
      if (done(last)) return last
    } catch {
      // Not there yet (a server restarting): look again.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export const runEffect = <A>(orrery: Orrery, effect: Effect.Effect<A, unknown, any>) => orrery.runtime.runPromise(effect as Effect.Effect<A, unknown, never>)

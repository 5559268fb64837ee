/**
 * Orrery's configuration: the settings (every one an environment variable and
 * a flag, see settings.ts) and the database they choose.
 */
import type { Layer } from "effect"
import { type Database, type StoreUnavailable, layerPglite, layerPostgres } from "./log/index.js"
import type { Config } from "./settings.js"

export * from "./settings.js"

/**
 * The Database for this configuration: the Postgres at DATABASE_URL (through a pooler in
 * transaction mode when ORRERY_DATABASE_POOLER says so), else PGlite in ORRERY_DATA_DIR.
 *
 * @example
 * const database = databaseLayer({ databaseUrl: "postgres://app@127.0.0.1:6432/orrery", databasePooler: "transaction", dataDir: "" })
 */
export const databaseLayer = (config: Pick<Config, "databaseUrl" | "dataDir"> & Partial<Pick<Config, "databasePooler">>): Layer.Layer<Database, StoreUnavailable> =>
  config.databaseUrl !== undefined
    ? layerPostgres({ url: config.databaseUrl, transactionPooler: config.databasePooler === "transaction" })
    : layerPglite({ dataDir: config.dataDir })

/**
 * Orrery's configuration: the settings (every one an environment variable and
 * a flag, see settings.ts) and the database they choose.
 */
import type { Layer } from "effect"
import { type Database, type StoreUnavailable, layerPglite, layerPostgres } from "./log/index.js"
import type { Config } from "./settings.js"

export * from "./settings.js"

/** The Database for this configuration: the Postgres at DATABASE_URL, else PGlite in ORRERY_DATA_DIR. */
export const databaseLayer = (config: Pick<Config, "databaseUrl" | "dataDir">): Layer.Layer<Database, StoreUnavailable> =>
  config.databaseUrl !== undefined ? layerPostgres({ url: config.databaseUrl }) : layerPglite({ dataDir: config.dataDir })

/**
 * The debugging commands as subprocesses on Postgres, every check of them (see
 * ./debugging.ts); a file of its own so that it runs side by side with the
 * PGlite half. Without a reachable Postgres it is skipped on a developer's
 * machine; under CI=true ../support/drivers.ts fails the run instead.
 */
import { it } from "vitest"
import { drivers, postgresUrl } from "../support/drivers.js"
import { debuggingCommands } from "./debugging.js"

if (drivers.includes("postgres")) debuggingCommands("postgres", { everything: true })
else it.skip(`debugging commands on postgres: no Postgres at ${postgresUrl}`)

/**
 * The debugging commands as subprocesses on the embedded default, PGlite, with
 * the checks that do not depend on the database (see ./debugging.ts);
 * debug-postgres.test.ts runs the rest on Postgres, side by side with this file.
 */
import { debuggingCommands } from "./debugging.js"

debuggingCommands("pglite", { driverFree: true })

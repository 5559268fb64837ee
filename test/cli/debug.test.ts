/**
 * The debugging commands as subprocesses on the embedded default, PGlite: the
 * checks whose outcome could depend on the driver (see ./debugging.ts);
 * debug-postgres.test.ts runs all of them on Postgres, side by side with this file.
 */
import { debuggingCommands } from "./debugging.js"

debuggingCommands("pglite", { everything: false })

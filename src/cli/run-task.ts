/**
 * Running a command to its end: exit codes, signals, and one line for any
 * failure. 0 done (or, for `start` and `worker`, stopped by SIGINT/SIGTERM);
 * 1 failed while running; 2 bad usage or configuration (the project's config
 * included). A stack only at LOG_LEVEL=debug or trace, and only for bugs.
 * Without Effect: a command going through a server's API need not load it.
 */
import type { LogLevel } from "../settings.js"
import { complain } from "./output.js"

const verbose = (logLevel: LogLevel) => logLevel === "debug" || logLevel === "trace"

/** Errors meant for people carry a `_tag` (the engine's, the client's, the CLI's); the rest are bugs. */
const isTagged = (error: unknown): error is { readonly _tag: string; readonly message: string } =>
  typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string" && typeof (error as { message?: unknown }).message === "string"

/** The project's config or the command's arguments are wrong: the caller's to fix (exit 2). */
const usageTags = new Set(["ProjectError", "BadUsage"])

/** Prints the failure as one line and exits with its code. */
export const fail = (error: unknown, logLevel: LogLevel, pretty?: string): never => {
  if (isTagged(error)) {
    complain(error.message)
    process.exit(usageTags.has(error._tag) ? 2 : 1)
  }
  complain(`unexpected failure: ${error instanceof Error ? error.message : String(error)}${verbose(logLevel) ? "" : " (LOG_LEVEL=debug shows where)"}`)
  if (verbose(logLevel)) process.stderr.write(`${pretty ?? (error instanceof Error ? error.stack : String(error))}\n`)
  process.exit(1)
}

/**
 * Runs a promise-shaped command; `close` lets go of what it opened (the
 * database) when it ends, fails, or a signal stops it.
 */
export const runTask = async (task: () => Promise<void>, close: () => Promise<void>, logLevel: LogLevel) => {
  let closing: Promise<void> | undefined
  const closeOnce = () => (closing ??= close().catch(() => {}))
  const onSignal = () => {
    void closeOnce().then(() => {
      complain("interrupted")
      process.exit(1)
    })
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  try {
    await task()
  } catch (error) {
    await closeOnce()
    fail(error, logLevel)
  }
  await closeOnce()
  process.exit(0)
}

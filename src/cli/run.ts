/**
 * Running an Effect-shaped command (start, worker, demo, migrate, doctor…) to
 * its end, with the exit codes and one-line failures of run-task.ts; for
 * `start` and `worker`, SIGINT/SIGTERM is how they normally end (exit 0).
 */
import { Cause, Effect, Exit, type LogLevel as EffectLogLevel, Option, References } from "effect"
import type { LogLevel } from "../settings.js"
import { complain, say } from "./output.js"
import { fail } from "./run-task.js"

const effectLevel: Record<LogLevel, EffectLogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal"
}

/** Runs `program` until it ends or a signal stops it; finalizers (closing the database) always run. */
export const runEffect = (program: Effect.Effect<void, unknown>, logLevel: LogLevel, runsUntilStopped: boolean) => {
  const stop = new AbortController()
  // Repeats are expected (npm forwards the terminal's SIGINT to us a second time) and must not cut the close short.
  const onSignal = () => stop.abort()
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const fiber = Effect.runFork(program.pipe(Effect.provideService(References.MinimumLogLevel, effectLevel[logLevel])), { signal: stop.signal })
  fiber.addObserver((exit) => {
    if (Exit.isSuccess(exit)) process.exit(0)
    if (Cause.hasInterruptsOnly(exit.cause)) {
      if (!runsUntilStopped) complain("interrupted")
      else say("stopped")
      process.exit(runsUntilStopped ? 0 : 1)
    }
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isSome(error)) fail(error.value, logLevel, Cause.pretty(exit.cause))
    fail(Cause.squash(exit.cause), logLevel, Cause.pretty(exit.cause))
  })
}

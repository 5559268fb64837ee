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

/**
 * How long a stop may take: the worker's drain (10 s) and the server's close,
 * with room to spare. Past it the process ends anyway — a wait with no limit
 * (a lock, a connection that never answers) must not keep it up for good.
 */
export const shutdownLimitMs = 15_000

/** npm forwards the terminal's SIGINT a second time at once; a repeat this soon is that echo, not a second request. */
const echoMs = 1_000

/**
 * Runs `program` until it ends or a signal stops it; finalizers (closing the
 * database) run, within `shutdownLimitMs`. A second SIGTERM (or a second
 * Ctrl-C) ends the process at once, exit 1.
 */
export const runEffect = (program: Effect.Effect<void, unknown>, logLevel: LogLevel, runsUntilStopped: boolean) => {
  const stop = new AbortController()
  let firstAt: number | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now()
    if (firstAt === undefined) {
      firstAt = now
      if (runsUntilStopped) say(`stopping (${signal} again ends at once)`)
      stop.abort()
      // Unref'd: a stop that finishes in time exits through the observer below, not through this.
      setTimeout(() => {
        complain(`the stop took longer than ${shutdownLimitMs / 1000} s; ending now`)
        process.exit(1)
      }, shutdownLimitMs).unref()
      return
    }
    if (signal === "SIGINT" && now - firstAt < echoMs) return
    complain(`${signal} again: ending now, without finishing the stop`)
    process.exit(1)
  }
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

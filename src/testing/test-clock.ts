/**
 * A clock for tests that runs with real time and can also jump ahead. Orrery
 * reads time through Effect's `Clock`: timers are due at the clock's now plus
 * their delay, workers claim what is due by the clock's now, and every wait
 * (a worker's poll, a retry's backoff) sleeps on the clock. Jumping ahead makes
 * what became due claimable at once and wakes every sleeper whose time has
 * come, so a 24-hour timer fires in milliseconds.
 *
 * Effect's own `TestClock` stops time altogether; that would also stop the
 * database driver's and the worker's ordinary waits, so a test would have to
 * drive every one of them by hand. Here only the jumps are the test's.
 */
import { type Clock, Duration, Effect } from "effect"

export interface JumpingClock extends Clock.Clock {
  /** How far ahead of the wall clock it is, in milliseconds. */
  readonly offsetMs: () => number
  /** Moves it forward to `epochMs` (never back), waking the sleepers now due. */
  readonly jumpTo: (epochMs: number) => void
  /**
   * Holds now where it is until `thaw`: jumps still move it, the wall clock
   * does not. Sleeps keep running in real time (a retry's backoff still ends).
   */
  readonly freeze: () => void
  /** Lets now run with the wall clock again, from where it stands. */
  readonly thaw: () => void
}

interface Sleeper {
  readonly wakeAt: number
  readonly wake: () => void
}

/**
 * @example
 * ```ts
 * const clock = makeJumpingClock()
 * const layer = Layer.succeed(Clock.Clock, clock)
 * clock.jumpTo(clock.currentTimeMillisUnsafe() + 86_400_000)
 * ```
 */
export const makeJumpingClock = (): JumpingClock => {
  let offset = 0
  let frozenAt: number | undefined
  const sleepers = new Set<Sleeper>()
  const now = () => frozenAt ?? Date.now() + offset
  const nanos = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n
  const monotonicOrigin = process.hrtime.bigint()

  const clock: JumpingClock = {
    currentTimeMillisUnsafe: now,
    currentTimeMillis: Effect.sync(now),
    currentTimeNanosUnsafe: () => nanos(now()),
    currentTimeNanos: Effect.sync(() => nanos(now())),
    // Elapsed time (an attempt's duration) is measured as it really passed, plus the jumps.
    monotonicTimeNanosUnsafe: () => process.hrtime.bigint() - monotonicOrigin + nanos(offset),
    monotonicTimeNanos: Effect.sync(() => process.hrtime.bigint() - monotonicOrigin + nanos(offset)),
    sleep: (duration) => {
      const millis = Duration.toMillis(duration)
      if (millis <= 0) return Effect.yieldNow
      if (!Number.isFinite(millis)) return Effect.never
      return Effect.callback<void>((resume) => {
        let handle: ReturnType<typeof setTimeout> | undefined
        // A sleep ends when its time has really passed, or earlier when a jump passes its wake time.
        const realDeadline = Date.now() + millis
        const sleeper: Sleeper = {
          wakeAt: now() + millis,
          wake: () => {
            sleepers.delete(sleeper)
            if (handle !== undefined) clearTimeout(handle)
            resume(Effect.void)
          }
        }
        sleepers.add(sleeper)
        // Node's timers hold at most 2^31-1 ms; a longer sleep re-arms then (a jump usually comes first).
        const arm = () => {
          const left = realDeadline - Date.now()
          if (left <= 0) return sleeper.wake()
          handle = setTimeout(arm, Math.min(left, 2 ** 31 - 1))
        }
        arm()
        return Effect.sync(() => {
          sleepers.delete(sleeper)
          if (handle !== undefined) clearTimeout(handle)
        })
      })
    },
    offsetMs: () => now() - Date.now(),
    jumpTo: (epochMs) => {
      if (frozenAt !== undefined) frozenAt = Math.max(frozenAt, epochMs)
      else offset = Math.max(offset, epochMs - Date.now())
      const current = now()
      for (const sleeper of [...sleepers]) if (sleeper.wakeAt <= current) sleeper.wake()
    },
    freeze: () => {
      frozenAt ??= now()
    },
    thaw: () => {
      if (frozenAt === undefined) return
      offset = frozenAt - Date.now()
      frozenAt = undefined
    }
  }
  return clock
}

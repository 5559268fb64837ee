/**
 * Waking subscribers when something was appended. In this process an append
 * opens every waiting latch at once; across processes (real Postgres only) a
 * NOTIFY is sent after the append — coalesced, outside the append's
 * transaction, so that commits never queue on the notify lock. Notifications
 * are a latency hint: subscribers still poll.
 */
import { Effect, Latch, type Scope } from "effect"
import type { DatabaseShape } from "./database.js"

export interface Wakeups {
  /** Tell every subscriber, here and in other processes, that the log grew. */
  readonly ring: Effect.Effect<void>
  /** A latch opened on every ring; closed again by its owner before each read. */
  readonly register: Effect.Effect<Latch.Latch, never, Scope.Scope>
}

export const Wakeups = {
  make: Effect.fnUntraced(function*(db: DatabaseShape, channel: string) {
    const latches = new Set<Latch.Latch>()
    const openAll = () => {
      for (const latch of latches) latch.openUnsafe()
    }
    let sending = false
    let again = false
    const notifyOthers = () => {
      if (sending) {
        again = true
        return
      }
      sending = true
      db.query("select pg_notify($1, '')", [channel])
        .catch(() => {}) // a lost hint only delays subscribers until their next poll
        // At most one hint per 10 ms: under load the appends that follow share it.
        .then(() => new Promise((resolve) => setTimeout(resolve, 10)))
        .finally(() => {
          sending = false
          if (again) {
            again = false
            notifyOthers()
          }
        })
    }
    let unlisten: (() => Promise<void>) | undefined
    yield* Effect.addFinalizer(() => Effect.promise(() => unlisten?.().catch(() => {}) ?? Promise.resolve()))
    const crossProcess = db.driver === "postgres"

    const startListening = Effect.promise(async () => {
      if (!crossProcess || unlisten !== undefined) return
      unlisten = await db.listen(channel, openAll).catch(() => undefined)
    })

    const wakeups: Wakeups = {
      ring: Effect.sync(() => {
        openAll()
        if (crossProcess) notifyOthers()
      }),
      register: Effect.gen(function*() {
        const latch = yield* Latch.make(false)
        latches.add(latch)
        yield* Effect.addFinalizer(() => Effect.sync(() => latches.delete(latch)))
        yield* startListening
        return latch
      })
    }
    return wakeups
  })
}

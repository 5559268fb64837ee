/**
 * Waking subscribers when something was appended, by the types appended: a
 * subscriber of some types wakes only for an append of one of them, so that
 * read models of rare types do not read the log on every append of a busy
 * one. In this process an append opens the matching latches at once; across
 * processes (real Postgres only) a NOTIFY is sent after the append —
 * coalesced, outside the append's transaction, so that commits never queue on
 * the notify lock — carrying the types appended since the last one.
 * Notifications are a latency hint: subscribers still poll.
 */
import { Effect, Latch, type Scope } from "effect"
import type { DatabaseShape } from "./database.js"

export interface Wakeups {
  /** Tell the subscribers of these types (all of them when none are given), here and in other processes, that the log grew. */
  readonly ring: (types?: ReadonlyArray<string>) => Effect.Effect<void>
  /**
   * Tell the subscribers of these types in this process only. Another process's subscribers see these
   * events at their next poll: a NOTIFY is a commit of its own, which at the engine's step rate cost
   * a third more commits per saga.
   */
  readonly ringHere: (types: ReadonlyArray<string>) => Effect.Effect<void>
  /** A latch opened on every ring of one of `types` (of any type when none are given); closed again by its owner before each read. */
  readonly register: (types?: ReadonlyArray<string>) => Effect.Effect<Latch.Latch, never, Scope.Scope>
}

/**
 * A NOTIFY payload holds under 8,000 bytes. Past this many, the types are not named and every
 * subscriber wakes, as an empty payload (what earlier versions send) says too.
 */
const maxPayloadBytes = 4_000

/** The payload naming `types`, or "" (every type) when they are many or unknown. */
const payloadOf = (types: ReadonlySet<string> | undefined) => {
  if (types === undefined) return ""
  const payload = JSON.stringify([...types])
  return Buffer.byteLength(payload) <= maxPayloadBytes ? payload : ""
}

/** The types a payload names; undefined for every type (an empty payload, or one this version cannot read). */
const typesOf = (payload: string): ReadonlyArray<string> | undefined => {
  if (payload === "") return undefined
  try {
    const parsed: unknown = JSON.parse(payload)
    return Array.isArray(parsed) && parsed.every((type) => typeof type === "string") ? parsed : undefined
  } catch {
    return undefined
  }
}

export const Wakeups = {
  make: Effect.fnUntraced(function*(db: DatabaseShape, channel: string) {
    /** Each waiting subscriber's latch and the types it reads (undefined: all). */
    const latches = new Map<Latch.Latch, ReadonlySet<string> | undefined>()
    const open = (types: ReadonlyArray<string> | undefined) => {
      for (const [latch, reads] of latches) {
        if (types === undefined || reads === undefined || types.some((type) => reads.has(type))) latch.openUnsafe()
      }
    }
    let sending = false
    /** The types appended since the last NOTIFY went out (undefined: every type); null when nothing waits to be sent. */
    let pending: Set<string> | undefined | null = null
    /** Sends what is pending, then, at most every 10 ms, what gathered meanwhile: under load the appends share a hint. */
    const send = () => {
      const payload = payloadOf(pending ?? undefined)
      pending = null
      sending = true
      db.query("select pg_notify($1, $2)", [channel, payload])
        .catch(() => {}) // a lost hint only delays subscribers until their next poll
        .then(() => new Promise((resolve) => setTimeout(resolve, 10)))
        .finally(() => {
          sending = false
          if (pending !== null) send()
        })
    }
    const notifyOthers = (types: ReadonlyArray<string> | undefined) => {
      pending = types === undefined || pending === undefined ? undefined : new Set([...(pending ?? []), ...types])
      if (!sending) send()
    }
    let unlisten: (() => Promise<void>) | undefined
    yield* Effect.addFinalizer(() => Effect.promise(() => unlisten?.().catch(() => {}) ?? Promise.resolve()))
    const crossProcess = db.driver === "postgres"

    const startListening = Effect.promise(async () => {
      if (!crossProcess || unlisten !== undefined) return
      unlisten = await db.listen(channel, (payload) => open(typesOf(payload))).catch(() => undefined)
    })

    const wakeups: Wakeups = {
      ring: (types) =>
        Effect.sync(() => {
          open(types)
          if (crossProcess) notifyOthers(types)
        }),
      ringHere: (types) => Effect.sync(() => open(types)),
      register: (types) =>
        Effect.gen(function*() {
          const latch = yield* Latch.make(false)
          latches.set(latch, types === undefined ? undefined : new Set(types))
          yield* Effect.addFinalizer(() => Effect.sync(() => latches.delete(latch)))
          yield* startListening
          return latch
        })
    }
    return wakeups
  })
}

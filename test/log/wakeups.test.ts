/**
 * Wake-ups by type: an append wakes the subscribers of its types (and those of
 * every type), here and, through NOTIFY, in another process's pool; a read
 * model of a rare type sleeps through a busy type's appends.
 */
import { Context, Effect, Latch, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Database } from "../../src/log/index.js"
import { Wakeups } from "../../src/log/wakeups.js"
import { databaseLayer, drivers, freshSchema } from "../support/drivers.js"

const wakeupsOn = (database: Layer.Layer<Database>, channel: string) =>
  Layer.build(database).pipe(Effect.flatMap((context) => Wakeups.make(Context.get(context, Database), channel)))

describe.each(drivers)("wake-ups on %s", (driver) => {
  it("an append wakes the subscribers of its types and of every type, not the others", async () => {
    const schema = freshSchema()
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const wakeups = yield* wakeupsOn(databaseLayer(driver, schema), `orrery_t_${schema}`)
          const rare = yield* wakeups.register(["rare.happened"])
          const busy = yield* wakeups.register(["busy.ticked", "busy.tocked"])
          const everything = yield* wakeups.register()
          yield* wakeups.ring(["busy.ticked"])
          expect([Latch.isOpen(rare), Latch.isOpen(busy), Latch.isOpen(everything)]).toEqual([false, true, true])
          yield* wakeups.ring(["other.thing", "rare.happened"])
          expect(Latch.isOpen(rare)).toBe(true)
          // A ring that names no types (a re-drive) wakes everyone.
          const again = yield* wakeups.register(["rare.happened"])
          yield* wakeups.ring()
          expect(Latch.isOpen(again)).toBe(true)
        })
      )
    )
  })

  if (driver === "postgres") {
    it("across processes, the NOTIFY names the types: a subscriber elsewhere wakes for its own, and for all when they are too many to name", async () => {
      const schema = freshSchema()
      const channel = `orrery_t_${schema}`
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function*() {
            const reader = yield* wakeupsOn(databaseLayer(driver, schema), channel)
            const writer = yield* wakeupsOn(databaseLayer(driver, `${schema}_writer`), channel)
            const rare = yield* reader.register(["rare.happened"])
            const busy = yield* reader.register(["busy.ticked"])
            yield* writer.ring(["busy.ticked"])
            // The notification that opened `busy` named only its type: `rare` slept through it.
            yield* Latch.await(busy).pipe(Effect.timeout("30 seconds"))
            expect(Latch.isOpen(rare)).toBe(false)
            // More types than a NOTIFY payload holds: not named, so every subscriber wakes.
            yield* writer.ring(Array.from({ length: 300 }, (_, i) => `generated.type_number_${i}`))
            yield* Latch.await(rare).pipe(Effect.timeout("30 seconds"))
          })
        )
      )
    })
  }
})

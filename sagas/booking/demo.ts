/** A few bookings run to their ends: confirmed, paid after a declined card, cancelled, refunded, sold out, expired. */
import { Clock, Effect } from "effect"
import { Engine } from "orrery"
import { compareMoney, generateOffers } from "./offers.js"

type EngineService = Engine["Service"]

const ended = new Set(["done", "failed", "cancelled"])

const reach = (engine: EngineService, id: string, states: ReadonlyArray<string>, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const view = yield* engine.get("booking", id)
      if (states.includes(String(view.state)) || ended.has(view.status)) return states.includes(String(view.state))
      yield* Effect.sleep("50 millis")
    }
    yield* Effect.logWarning(`demo: booking ${id} did not reach ${states.join(" or ")} within ${timeoutMs} ms`)
    return false
  })

/**
 * Books flights a month from today. The expired hold is waited for only when
 * the seat hold is a minute or less; otherwise its timer ends it later.
 */
export const makeBookingDemo = (config: { readonly seatHoldMs: number }): Effect.Effect<void, unknown, Engine> =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const now = yield* Clock.currentTimeMillis
    const date = new Date(now + 30 * 86_400_000).toISOString().slice(0, 10)
    // One route per story, so that no story takes another's seats.
    const cheapest = (from: string, to: string, seats: number) =>
      [...generateOffers(from, to, date)].filter((offer) => offer.seats >= seats).sort((a, b) => compareMoney(a.price, b.price))[0] ??
        generateOffers(from, to, date)[0]!
    const back = generateOffers("LON", "PAR", date)
    const small = back.find((offer) => offer.seats < 9) ?? back[0]!
    const send = (id: string, event: unknown) => engine.send("booking", id, event, { actor: "demo" })
    const scenario = (id: string, input: { offerId: string; adults: number; userId: string }, story: Effect.Effect<unknown, unknown>) =>
      Effect.gen(function*() {
        const started = yield* engine.start("booking", { ...input, email: `${input.userId}@example.com` }, { id, actor: "demo" }).pipe(
          Effect.map(({ created }) => created),
          Effect.catchTag("InstanceExists", () => Effect.succeed(false))
        )
        if (started) yield* story
        return started
      })
    const pay = (id: string, paymentToken: string, then: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (!(yield* reach(engine, id, ["awaiting_payment"], 30_000))) return false
        yield* send(id, { type: "PAY", paymentToken })
        return yield* reach(engine, id, then, 30_000)
      })
    const started = yield* Effect.all(
      [
        scenario("demo-booking-confirmed", { offerId: cheapest("PAR", "LON", 2).id, adults: 2, userId: "demo-henri" }, pay("demo-booking-confirmed", "tok_visa", ["confirmed"])),
        scenario("demo-booking-retried", { offerId: cheapest("PAR", "FCO", 1).id, adults: 1, userId: "demo-iris" },
          Effect.gen(function*() {
            // The first card is declined; the hold keeps running; the second card goes through.
            yield* send("demo-booking-retried", { type: "PAY", paymentToken: "tok_declined" }).pipe(Effect.delay("10 millis"), Effect.retry({ times: 100 }))
            yield* pay("demo-booking-retried", "tok_visa", ["confirmed"])
          })),
        scenario("demo-booking-cancelled", { offerId: cheapest("PAR", "BCN", 1).id, adults: 1, userId: "demo-jules" },
          Effect.gen(function*() {
            if (yield* reach(engine, "demo-booking-cancelled", ["awaiting_payment"], 30_000)) {
              yield* send("demo-booking-cancelled", { type: "CANCEL", reason: "plans changed" })
              yield* reach(engine, "demo-booking-cancelled", ["cancelled"], 30_000)
            }
          })),
        scenario("demo-booking-refunded", { offerId: cheapest("LON", "AMS", 1).id, adults: 1, userId: "demo-henri" },
          Effect.gen(function*() {
            if (yield* pay("demo-booking-refunded", "tok_visa", ["confirmed"])) {
              yield* send("demo-booking-refunded", { type: "CANCEL", reason: "trip cancelled" })
              yield* reach(engine, "demo-booking-refunded", ["cancelled"], 30_000)
            }
          })),
        scenario("demo-booking-sold-out", { offerId: small.id, adults: Math.min(9, small.seats + 1), userId: "demo-karim" },
          reach(engine, "demo-booking-sold-out", ["rejected"], 30_000)),
        scenario("demo-booking-expired", { offerId: cheapest("MAD", "LIS", 1).id, adults: 1, userId: "demo-lea" },
          config.seatHoldMs <= 60_000 ? reach(engine, "demo-booking-expired", ["expired"], config.seatHoldMs + 30_000) : Effect.void)
      ],
      { concurrency: "unbounded" }
    )
    yield* Effect.logInfo(
      started.some(Boolean) ? "demo: bookings confirmed, paid after a decline, cancelled, refunded, sold out and expired" : "demo: the demo bookings exist already; left as they are"
    )
  })

/**
 * The seed the growth benchmark copies: real instances of the shipped workflows,
 * run through the engine — every domain's demo to its end (orders delivered,
 * declined, cancelled; bookings confirmed, refunded, expired; a cart checked
 * out and one abandoned; chapters and an ebook generated), then a few left
 * running, each waiting on a timer or an event: an open cart, a booking holding
 * seats, an order shipped and not yet delivered, a chapter just started.
 */
import { Clock, Effect } from "effect"
import { Engine, OrrerySchema } from "../../src/engine/index.js"
import { Database } from "../../src/log/index.js"
import type { Domain } from "../../src/domain.js"
import { generateOffers } from "../../sagas/booking/offers.js"

/** How long each domain's demo may run: the longest story (an abandoned cart) needs its 10 s timer. */
const demoMs = 25_000

/** The chapter started last: a stream of one event, no tasks (see fill.ts). */
export const fillerStream = "chapter-seed-chapter-draft"
const fillerId = "seed-chapter-draft"

const ended = new Set(["done", "failed", "cancelled"])

/** Polls until the instance stands in one of `states` or has ended. */
const reach = (type: string, id: string, states: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    for (let i = 0; i < 1_200; i++) {
      const view = yield* engine.get(type, id)
      if (states.includes(String(view.state)) || ended.has(view.status)) return
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.die(new Error(`seed: ${type} ${id} did not reach ${states.join(" or ")}`))
  })

/** Instances that stay running, each waiting for a timer or an event. */
const leftRunning = Effect.gen(function*() {
  const engine = yield* Engine
  const now = yield* Clock.currentTimeMillis
  const date = new Date(now + 30 * 86_400_000).toISOString().slice(0, 10)
  const offer = generateOffers("OSL", "CPH", date).find((candidate) => candidate.seats >= 2) ?? generateOffers("OSL", "CPH", date)[0]!
  const items = [{ sku: "mug-blue", quantity: 1, unitPrice: "12.50" }]
  yield* engine.start("cart", { customerId: "seed-open" }, { id: "seed-cart-open" })
  yield* engine.send("cart", "seed-cart-open", { type: "ADD_ITEM", sku: "mug-blue", quantity: 2, unitPrice: "12.50" })
  yield* engine.start("booking", { offerId: offer.id, adults: 1, userId: "seed-held", email: "seed-held@example.com" }, { id: "seed-booking-held" })
  yield* engine.start("order", { customerId: "seed-shipped", items, paymentMethod: "tok_visa" }, { id: "seed-order-shipped" })
  // One event and no tasks: the fill's unit, which makes its event count exact.
  yield* engine.start("chapter", { projectId: "seed", chapterIndex: 1 }, { id: fillerId })
  yield* reach("booking", "seed-booking-held", ["awaiting_payment"])
  yield* reach("order", "seed-order-shipped", ["shipped"])
})

/**
 * Runs every domain's demo to its end, then starts the instances left running.
 * Needs an application with a worker in this process.
 */
export const seed = (domains: ReadonlyArray<Domain>) =>
  Effect.gen(function*() {
    // A story that has not ended in time stays as far as it got: a running instance is as good a template.
    yield* Effect.forEach(
      domains,
      (domain) => (domain.demo ?? Effect.void).pipe(Effect.timeout(demoMs), Effect.ignoreCause({ log: false })),
      { concurrency: "unbounded", discard: true }
    )
    yield* leftRunning
    // The templates must hold still while the fill copies them: their timers (a cart's inactivity,
    // a seat hold) move a week ahead, out of this benchmark's time.
    const db = yield* Database
    const { name } = yield* OrrerySchema
    yield* Effect.promise(() => db.query(`update ${name}.tasks set due_at = due_at + interval '7 days' where kind = 'timer'`))
  })

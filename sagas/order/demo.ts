/** A few orders run to their ends, so that the inspector has something to show. */
import { Effect } from "effect"
import { Engine } from "orrery"

type EngineService = Engine["Service"]

const done = new Set(["done", "failed", "cancelled"])

/** Polls until the instance reaches one of `states` (or ends); false when it did not in time. */
export const reach = (engine: EngineService, type: string, id: string, states: ReadonlyArray<string>, timeoutMs = 30_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const view = yield* engine.get(type, id)
      if (states.includes(String(view.state)) || done.has(view.status)) return states.includes(String(view.state))
      yield* Effect.sleep("50 millis")
    }
    yield* Effect.logWarning(`demo: ${type} ${id} did not reach ${states.join(" or ")} within ${timeoutMs} ms`)
    return false
  })

/** Starts an instance unless the demo ran before (then its story is already told): true when it started now. */
export const startOnce = (engine: EngineService, type: string, id: string, input: unknown) =>
  engine.start(type, input, { id, actor: "demo" }).pipe(
    Effect.map(({ created }) => created),
    Effect.catchTag("InstanceExists", () => Effect.succeed(false))
  )

const items = [
  { sku: "mug-blue", quantity: 2, unitPrice: "12.50" },
  { sku: "tee-orrery-m", quantity: 1, unitPrice: "19.99" }
]

export const orderDemo: Effect.Effect<void, unknown, Engine> = Effect.gen(function*() {
  const engine = yield* Engine
  const scenario = (id: string, input: unknown, story: Effect.Effect<unknown, unknown>) =>
    Effect.gen(function*() {
      if (!(yield* startOnce(engine, "order", id, input))) return false
      yield* story
      return true
    })
  const started = yield* Effect.all(
    [
      // Paid, shipped, delivered.
      scenario("demo-order-delivered", { customerId: "demo-alice", items, paymentMethod: "tok_visa" },
        Effect.gen(function*() {
          if (yield* reach(engine, "order", "demo-order-delivered", ["shipped"])) yield* engine.send("order", "demo-order-delivered", { type: "DELIVERED" }, { actor: "demo" })
        })),
      // The card is declined: the reserved stock goes back, the order is cancelled.
      scenario("demo-order-declined", { customerId: "demo-bob", items, paymentMethod: "tok_declined" },
        reach(engine, "order", "demo-order-declined", ["cancelled"])),
      // Nothing left of one SKU: cancelled before any payment.
      scenario("demo-order-out-of-stock", { customerId: "demo-carol", items: [{ sku: "sold-out-lamp", quantity: 1, unitPrice: "49.00" }] },
        reach(engine, "order", "demo-order-out-of-stock", ["cancelled"])),
      // The gateway fails twice, the retries get through.
      scenario("demo-order-flaky", { customerId: "demo-dave", items, paymentMethod: "tok_flaky" },
        Effect.gen(function*() {
          if (yield* reach(engine, "order", "demo-order-flaky", ["shipped"])) yield* engine.send("order", "demo-order-flaky", { type: "DELIVERED" }, { actor: "demo" })
        })),
      // The gateway never answers; the customer gives up first: voided, stock released.
      scenario("demo-order-cancelled", { customerId: "demo-erin", items, paymentMethod: "tok_timeout" },
        Effect.gen(function*() {
          if (yield* reach(engine, "order", "demo-order-cancelled", ["charging"])) {
            yield* engine.send("order", "demo-order-cancelled", { type: "CANCEL", reason: "changed my mind" }, { actor: "demo" })
            yield* reach(engine, "order", "demo-order-cancelled", ["cancelled"])
          }
        }))
    ],
    { concurrency: "unbounded" }
  )
  yield* Effect.logInfo(
    started.some(Boolean) ? "demo: orders delivered, declined, out of stock, retried and cancelled" : "demo: the demo orders exist already; left as they are"
  )
})

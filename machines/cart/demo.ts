/** A cart checked out (its order delivered) and a cart left alone until it is abandoned. */
import { Effect } from "effect"
import { Engine } from "orrery"

type EngineService = Engine["Service"]

const ended = new Set(["done", "failed", "cancelled"])

const reach = (engine: EngineService, type: string, id: string, states: ReadonlyArray<string>, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      // A child saga starts a moment after its parent asks for it.
      const view = yield* engine.get(type, id).pipe(Effect.catchTag("InstanceNotFound", () => Effect.succeed(undefined)))
      if (view === undefined) {
        yield* Effect.sleep("50 millis")
        continue
      }
      if (states.includes(String(view.state)) || ended.has(view.status)) return states.includes(String(view.state))
      yield* Effect.sleep("50 millis")
    }
    yield* Effect.logWarning(`demo: ${type} ${id} did not reach ${states.join(" or ")} within ${timeoutMs} ms`)
    return false
  })

const startOnce = (engine: EngineService, id: string, input: unknown) =>
  engine.start("cart", input, { id, actor: "demo" }).pipe(
    Effect.map(({ created }) => created),
    Effect.catchTag("InstanceExists", () => Effect.succeed(false))
  )

/**
 * Needs the `order` workflow registered beside the cart. The abandoned cart is
 * waited for only when the inactivity timer is a minute or less; otherwise it
 * is abandoned later, by the timer, on its own.
 */
export const makeCartDemo = (config: { readonly inactivityMs: number }): Effect.Effect<void, unknown, Engine> =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const send = (id: string, event: unknown) => engine.send("cart", id, event, { actor: "demo" })
    const ordered = Effect.gen(function*() {
      const id = "demo-cart-ordered"
      if (!(yield* startOnce(engine, id, { customerId: "demo-frank" }))) return false
      yield* send(id, { type: "ADD_ITEM", sku: "mug-blue", quantity: 2, unitPrice: "12.50" })
      yield* send(id, { type: "ADD_ITEM", sku: "poster-orrery", quantity: 1, unitPrice: "8.00" })
      yield* send(id, { type: "ADD_ITEM", sku: "tee-orrery-m", quantity: 1, unitPrice: "19.99" })
      yield* send(id, { type: "REMOVE_ITEM", sku: "poster-orrery" })
      const cart = yield* send(id, { type: "CHECKOUT", customerId: "demo-frank", paymentMethod: "tok_visa" })
      const order = cart.children.order
      if (order === undefined) return true
      if (yield* reach(engine, order.workflowType, order.instanceId, ["shipped"], 30_000)) {
        yield* engine.send(order.workflowType, order.instanceId, { type: "DELIVERED" }, { actor: "demo" })
        yield* reach(engine, "cart", id, ["closed"], 30_000)
      }
      return true
    })
    const abandoned = Effect.gen(function*() {
      const id = "demo-cart-abandoned"
      if (!(yield* startOnce(engine, id, { customerId: "demo-grace" }))) return false
      yield* send(id, { type: "ADD_ITEM", sku: "mug-red", quantity: 1, unitPrice: "12.50" })
      if (config.inactivityMs <= 60_000) yield* reach(engine, "cart", id, ["abandoned"], config.inactivityMs + 30_000)
      return true
    })
    const started = yield* Effect.all([ordered, abandoned], { concurrency: "unbounded" })
    yield* Effect.logInfo(started.some(Boolean) ? "demo: a cart checked out and delivered, a cart abandoned" : "demo: the demo carts exist already; left as they are")
  })

/**
 * A blip at the payment provider does not cancel the shop's queue. Twenty
 * orders paying with `tok_flaky` (each key fails twice, then succeeds) and
 * twenty with `tok_visa`, all at once, with one and with four workers on one
 * database: the payments circuit opens (five failures in a row), every worker
 * sees it, the refused calls wait instead of spending their retry budget, one
 * trial closes it, and all forty orders are paid and shipped — the provider
 * called far fewer times than the budget allows. And an outage longer than
 * the payment window: the orders are cancelled by the machine's own timer
 * (payment_timeout), not by a budget run dry, nothing charged, stock released.
 */
import { Context, Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import type { CircuitBreakerOptions } from "../../../src/activities/circuit-breaker.js"
import { CircuitBreaker, Engine, orreryLayer } from "../../../src/engine/index.js"
import { show } from "../../../src/cli/inspect.js"
import type { Source } from "../../../src/cli/source.js"
import { domainServicesLayer } from "../../../src/orrery/application.js"
import { makeInProcessClient } from "../../../src/orrery/in-process-client.js"
import type { Domain } from "../../../src/domain.js"
import { Inventory, makeInventory, makePayments, makeShipping, orderDomain, Payments, PaymentUnavailable, Shipping } from "../../../sagas/order/index.js"
import { databaseLayer, type Driver, drivers, freshSchema } from "../../support/drivers.js"
import { until } from "../../support/engine.js"
import { rows } from "./support.js"

const items = [{ sku: "mug-blue", quantity: 1, unitPrice: "12.50" }]
/** The order's chargePayment: five attempts in all. */
const attemptsPerOrder = 5

/**
 * `workers` Orrerys (engine, breaker, worker each, as separate processes would have) on one database
 * and schema, running the order domain with `services`; the body gets the first one's services.
 */
const withWorkers = <A>(
  driver: Driver,
  workers: number,
  domain: Domain,
  circuitBreaker: CircuitBreakerOptions,
  body: (schema: string) => Effect.Effect<A, unknown, any>
): Promise<A> => {
  const schema = freshSchema()
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const database = yield* Layer.build(databaseLayer(driver, schema))
        const services = yield* Layer.build(domainServicesLayer([domain], schema).pipe(Layer.provide(Layer.succeedContext(database)), Layer.orDie))
        const below = Context.merge(database, services)
        const orrerys: Array<Context.Context<any>> = []
        for (let i = 0; i < workers; i++) {
          const orrery = orreryLayer({ schema, workflows: domain.workflows, circuitBreaker, worker: { id: `worker-${i + 1}`, drainMs: 200 } })
          orrerys.push(yield* Layer.build(orrery.pipe(Layer.provide(Layer.succeedContext(below)), Layer.orDie) as Layer.Layer<any, never, never>))
        }
        return yield* body(schema).pipe(Effect.provideContext(Context.merge(below, orrerys[0]!)))
      })
    ) as Effect.Effect<A, never, never>
  )
}

/** Waits until every order is final or in `state`, then answers each one's state by id. */
const settled = (ids: ReadonlyArray<string>, state: string, timeoutMs: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const states = Effect.forEach(ids, (id) => Effect.map(engine.get("order", id), (view) => [id, String(view.state)] as const))
    const all = yield* until(states, (pairs) => pairs.every(([, s]) => s === state || s === "cancelled" || s === "delivered"), timeoutMs)
    return Object.fromEntries(all)
  })

describe.each(drivers)("the payments circuit on %s", (driver) => {
  for (const workers of [1, 4]) {
    it(`20 flaky and 20 good cards at once with ${workers} worker${workers === 1 ? "" : "s"}: all 40 paid and shipped, none cancelled, the provider called well within the budget`, async () => {
      const domain = orderDomain({ paymentWindowMs: 120_000 })
      await withWorkers(driver, workers, domain, { failureThreshold: 5, cooldown: "250 millis" }, (schema) =>
        Effect.gen(function*() {
          const engine = yield* Engine
          const started = performance.now()
          const flaky = Array.from({ length: 20 }, (_, i) => `flaky-${i}`)
          const visa = Array.from({ length: 20 }, (_, i) => `visa-${i}`)
          yield* Effect.forEach(flaky, (id) => engine.start("order", { customerId: id, items, paymentMethod: "tok_flaky" }, { id }), { concurrency: "unbounded" })
          yield* Effect.forEach(visa, (id) => engine.start("order", { customerId: id, items, paymentMethod: "tok_visa" }, { id }), { concurrency: "unbounded" })
          const states = yield* settled([...flaky, ...visa], "shipped", 120_000)
          const seconds = (performance.now() - started) / 1000
          expect(Object.entries(states).filter(([, state]) => state !== "shipped")).toEqual([])

          // The provider: one charge per order, and the calls it saw (each flaky key fails twice) far under 5 × 40.
          const [provider] = yield* rows(`select count(*)::int as keys, sum(attempts)::int as calls, count(charge_id)::int as charged, count(refund_id)::int as refunded from ${schema}.test_payments`)
          expect(provider).toMatchObject({ keys: 40, charged: 40, refunded: 0 })
          const calls = (provider as { calls: number }).calls
          expect(calls).toBeGreaterThanOrEqual(80)
          expect(calls).toBeLessThanOrEqual(attemptsPerOrder * 40)

          // Each order's charge took at most its five attempts, and no refusal counted as one.
          const chargedBy = new Set<string>()
          for (const id of [...flaky, ...visa]) {
            const history = yield* engine.history("order", id)
            const completed = history.find((e) => e.type === "activity.completed" && (e.data as { src: string }).src === "chargePayment")!
            if (completed.worker !== undefined) chargedBy.add(completed.worker)
            const charged = completed.data as { attempts: number }
            expect(charged.attempts).toBeLessThanOrEqual(id.startsWith("flaky") ? 3 : attemptsPerOrder)
            expect(history.some((e) => JSON.stringify(e.data).includes("CircuitOpen"))).toBe(false)
          }

          // On Postgres the workers shared the charges between them (on PGlite, with no notifications, one may take them all).
          if (workers === 1) expect(chargedBy.size).toBe(1)
          else if (driver === "postgres") expect(chargedBy.size).toBeGreaterThan(1)
          // The circuit opened (every worker saw it: one row) and closed again.
          const circuit = yield* (yield* CircuitBreaker).state("payments")
          expect(circuit).toMatchObject({ state: "closed", failures: 0 })
          expect(circuit.transitions.open).toBeGreaterThanOrEqual(1)
          expect(circuit.transitions.closed).toBeGreaterThanOrEqual(1)
          console.log(`payments circuit, ${driver}, ${workers} worker(s): 40 orders shipped in ${seconds.toFixed(1)} s; provider calls ${calls} (budget ${attemptsPerOrder * 40}); transitions ${JSON.stringify(circuit.transitions)}`)
        })
      )
    }, 180_000)
  }

  it("an outage longer than the payment window: orders are cancelled by the window's timer, not by a spent budget; nothing charged, stock released", async () => {
    const calls = { charge: 0, refund: 0 }
    let upAt = Number.POSITIVE_INFINITY
    const down = () => Date.now() < upAt
    // The real test gateway, down until `upAt`.
    const payments = Layer.effect(
      Payments,
      Effect.map(makePayments, (gateway) => ({
        charge: (request: Parameters<typeof gateway.charge>[0]) =>
          Effect.suspend(() => (calls.charge++, down() ? Effect.fail(new PaymentUnavailable({ reason: "outage" })) : gateway.charge(request))),
        refund: (request: Parameters<typeof gateway.refund>[0]) =>
          Effect.suspend(() => (calls.refund++, down() ? Effect.die(new PaymentUnavailable({ reason: "outage" })) : gateway.refund(request)))
      }))
    )
    const base = orderDomain({ paymentWindowMs: 1_500 })
    const domain: Domain = { ...base, services: Layer.mergeAll(Layer.effect(Inventory, makeInventory()), payments, Layer.effect(Shipping, makeShipping)) as Domain["services"] }
    await withWorkers(driver, 2, domain, { failureThreshold: 5, cooldown: "400 millis" }, (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        upAt = Date.now() + 4_000
        const ids = Array.from({ length: 10 }, (_, i) => `out-${i}`)
        yield* Effect.forEach(ids, (id) => engine.start("order", { customerId: id, items }, { id }), { concurrency: "unbounded" })
        // While the provider is down the circuit opens and the charges wait for it.
        yield* until((yield* CircuitBreaker).state("payments"), (view) => view.state !== "closed", 20_000)
        const waiting = yield* until(
          Effect.map(Effect.forEach(ids, (id) => engine.pending("order", id)), (tasks) => tasks.flat().filter((task) => task.waitingFor !== undefined)),
          (tasks) => tasks.length > 0,
          20_000
        )
        expect(waiting[0]).toMatchObject({ kind: "activity", payload: { src: "chargePayment" }, waitingFor: { circuit: "payments" } })
        // `orrery show` says so in words.
        const context = yield* Effect.context<Engine>()
        const client = makeInProcessClient((effect) => Effect.runPromise(Effect.provideContext(effect, context) as Effect.Effect<any, any, never>))
        const lines: Array<string> = []
        yield* Effect.promise(async () => {
          for (const id of ids) await show({ client } as Source, "order", id, {}, (line) => void lines.push(line))
        })
        expect(lines.join("\n")).toMatch(/activity chargePayment: waiting for the payments circuit, trial at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/)
        const states = yield* settled(ids, "cancelled", 60_000)
        expect(Object.values(states).every((state) => state === "cancelled")).toBe(true)
        for (const id of ids) {
          const view = yield* engine.get("order", id)
          expect(view.output).toMatchObject({ status: "cancelled", cause: "payment_timeout" })
          const history = yield* engine.history("order", id)
          // The window's timer ended the wait: no charge ran out of attempts.
          expect(history.some((e) => e.type === "timer.fired")).toBe(true)
          expect(history.some((e) => e.type === "activity.failed" && (e.data as { src: string }).src === "chargePayment")).toBe(false)
          expect(history.filter((e) => e.type === "activity.attempt_failed" && (e.data as { src: string }).src === "chargePayment").length).toBeLessThanOrEqual(attemptsPerOrder)
          const cancelled = history.find((e) => e.type === "order.cancelled")!.data
          expect(cancelled).toMatchObject({ cause: "payment_timeout", refunded: false })
          expect(history.some((e) => e.type === "stock.released")).toBe(true)
        }
        // Nothing charged, nothing held: every reservation released.
        const [charged] = yield* rows(`select count(charge_id)::int as charged from ${schema}.test_payments`)
        expect(charged).toEqual({ charged: 0 })
        expect(calls.charge).toBeLessThanOrEqual(attemptsPerOrder * ids.length)
        const pending = yield* Effect.forEach(ids, (id) => engine.pending("order", id))
        expect(pending.flat()).toEqual([])
        console.log(`payments outage, ${driver}: 10 orders cancelled by the payment window; provider calls during and after the outage: ${calls.charge} charges, ${calls.refund} refunds`)
      })
    )
  }, 120_000)
})

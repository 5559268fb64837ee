/** The `order` workflow: the machine, its schemas and the activities behind its invokes. */
import { Effect, Schedule } from "effect"
import { type ActivityRun, defineActivity, defineWorkflow } from "orrery"
import type { OrderConfig } from "./config.js"
import { OrderInput, type StockLine, accepts, orderEvents } from "./events.js"
import { makeOrderMachine } from "./machine.js"
import { Inventory, Payments, Shipping } from "./services.js"

/**
 * Idempotency keys per order and step: stable across retries, restarts and
 * workers, and the same for a step and its compensation (a refund finds the
 * charge by the key the charge used).
 */
export const orderKey = (run: Pick<ActivityRun, "workflowType" | "instanceId">, step: "stock" | "payment" | "shipment") =>
  `${run.workflowType}-${run.instanceId}/${step}`

/** Transient gateway errors: 100 ms, 200 ms, 400 ms, 800 ms — five attempts in all. */
const paymentRetry = Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(4)]) as Schedule.Schedule<unknown, unknown>

export const makeOrderWorkflow = (config: OrderConfig) =>
  defineWorkflow({
    type: "order",
    version: 1,
    kind: "saga",
    machine: makeOrderMachine(config),
    events: { input: OrderInput, accepts, emits: orderEvents },
    activities: {
      reserveStock: defineActivity({
        run: (input: { items: ReadonlyArray<StockLine> }, run) =>
          Inventory.use((inventory) => inventory.reserve(orderKey(run, "stock"), input.items)),
        nonRetryable: ["OutOfStock", "ReservationClosed"]
      }),
      chargePayment: defineActivity({
        run: (input: { amount: string; method: string }, run) =>
          Payments.use((payments) => payments.charge({ key: orderKey(run, "payment"), amount: input.amount, method: input.method })),
        retry: paymentRetry,
        timeout: "10 seconds",
        nonRetryable: ["PaymentDeclined"],
        dependency: "payments"
      }),
      createShipment: defineActivity({
        run: (input: { customerId: string; items: ReadonlyArray<StockLine> }, run) =>
          Effect.gen(function*() {
            const shipping = yield* Shipping
            const inventory = yield* Inventory
            const shipment = yield* shipping.createShipment({ key: orderKey(run, "shipment"), customerId: input.customerId, items: input.items })
            yield* inventory.commit(orderKey(run, "stock"))
            return shipment
          }),
        nonRetryable: ["ShipmentCancelled", "ReservationClosed"],
        dependency: "shipping"
      }),
      cancelShipment: defineActivity({
        run: (_input: unknown, run) => Shipping.use((shipping) => shipping.cancelShipment({ key: orderKey(run, "shipment") })),
        dependency: "shipping"
      }),
      refundPayment: defineActivity({
        run: (_input: unknown, run) => Payments.use((payments) => payments.refund({ key: orderKey(run, "payment") })),
        retry: paymentRetry,
        timeout: "10 seconds",
        dependency: "payments"
      }),
      releaseStock: defineActivity({
        run: (_input: unknown, run) => Inventory.use((inventory) => inventory.release(orderKey(run, "stock")))
      })
    }
  })

/**
 * The order saga: reserve stock → charge payment → create shipment → shipped;
 * DELIVERED → delivered. Every failure before shipment compensates in reverse
 * (cancel the shipment, refund, release the stock) and ends in `cancelled`.
 *
 *   reserving ──ok──▶ charging ──ok──▶ shipping ──ok──▶ shipped ──DELIVERED──▶ delivered
 *      │ out of stock    │ declined/failed   │ CANCEL / failed
 *      ▼                 │ window / CANCEL   ▼
 *   cancelled ◀─ releasing ◀─ refunding ◀─ cancellingShipment
 *
 * Pure: guards, assigns and emits read only the context and the event.
 */
import { assign, emit, setup } from "xstate"
import { activityLogic, errorMessage, errorTag } from "orrery"
import { totalOf } from "../shared/money.js"
import type { CancelCause, OrderInput, OrderLine, StockLine } from "./events.js"
import type { Charge, Refund, Shipment } from "./services.js"

export interface OrderContext {
  readonly customerId: string
  readonly items: ReadonlyArray<OrderLine>
  readonly paymentMethod: string
  readonly total: string
  readonly reservationId: string | null
  readonly chargeId: string | null
  readonly trackingNumber: string | null
  readonly carrier: string | null
  readonly cause: CancelCause | null
  readonly reason: string | null
  readonly refunded: boolean
}

export type OrderEvent = { type: "CANCEL"; reason: string } | { type: "DELIVERED" }

export interface OrderOutput {
  readonly status: "delivered" | "cancelled"
  readonly total: string
  readonly cause: CancelCause | null
  readonly reason: string | null
}

/** The payment method orders use when they name none. */
export const defaultPaymentMethod = "tok_visa"

const stockLines = (items: ReadonlyArray<OrderLine>): Array<StockLine> => items.map(({ sku, quantity }) => ({ sku, quantity }))

export const makeOrderMachine = (config: { readonly paymentWindowMs: number }) =>
  setup({
    types: {} as {
      context: OrderContext
      input: OrderInput
      events: OrderEvent
      output: OrderOutput
    },
    actors: {
      reserveStock: activityLogic<{ items: ReadonlyArray<StockLine> }, { reservationId: string; items: ReadonlyArray<StockLine> }>(),
      chargePayment: activityLogic<{ amount: string; method: string }, Charge>(),
      createShipment: activityLogic<{ customerId: string; items: ReadonlyArray<StockLine> }, Shipment>(),
      cancelShipment: activityLogic<Record<string, never>, { cancelled: boolean }>(),
      refundPayment: activityLogic<Record<string, never>, Refund>(),
      releaseStock: activityLogic<Record<string, never>, { items: ReadonlyArray<StockLine> }>()
    },
    delays: { paymentWindow: config.paymentWindowMs }
  }).createMachine({
    id: "order",
    context: ({ input }) => ({
      customerId: input.customerId,
      items: input.items,
      paymentMethod: input.paymentMethod ?? defaultPaymentMethod,
      total: totalOf(input.items),
      reservationId: null,
      chargeId: null,
      trackingNumber: null,
      carrier: null,
      cause: null,
      reason: null,
      refunded: false
    }),
    entry: emit(({ context }) => ({
      type: "order.created",
      customerId: context.customerId,
      items: context.items,
      total: context.total,
      paymentMethod: context.paymentMethod
    })),
    initial: "reserving",
    states: {
      reserving: {
        invoke: {
          id: "reserveStock",
          src: "reserveStock",
          input: ({ context }) => ({ items: stockLines(context.items) }),
          onDone: {
            target: "charging",
            actions: [
              assign({ reservationId: ({ event }) => event.output.reservationId }),
              emit(({ event }) => ({ type: "order.stock_reserved", reservationId: event.output.reservationId, items: event.output.items }))
            ]
          },
          onError: [
            {
              guard: ({ event }) => errorTag(event.error) === "OutOfStock",
              target: "cancelled",
              actions: [
                assign({ cause: "out_of_stock", reason: ({ event }) => errorMessage(event.error) }),
                emit(({ event }) => ({ type: "order.cancelled", cause: "out_of_stock", reason: errorMessage(event.error), refunded: false }))
              ]
            },
            // Anything else (the reservation was closed under us): give back whatever may be held.
            { target: "releasing", actions: assign({ cause: "out_of_stock", reason: ({ event }) => errorMessage(event.error) }) }
          ]
        },
        on: {
          CANCEL: { target: "releasing", actions: assign({ cause: "customer", reason: ({ event }) => event.reason }) }
        }
      },
      charging: {
        invoke: {
          id: "chargePayment",
          src: "chargePayment",
          input: ({ context }) => ({ amount: context.total, method: context.paymentMethod }),
          onDone: {
            target: "shipping",
            actions: [
              assign({ chargeId: ({ event }) => event.output.chargeId }),
              emit(({ event }) => ({ type: "order.paid", chargeId: event.output.chargeId, amount: event.output.amount }))
            ]
          },
          // Declined, or still failing after its retries: nothing was charged, so only the stock goes back.
          onError: {
            target: "releasing",
            actions: assign({
              cause: ({ event }) => (errorTag(event.error) === "PaymentDeclined" ? "payment_declined" : "payment_failed"),
              reason: ({ event }) => errorMessage(event.error)
            })
          }
        },
        after: {
          // Neither paid nor refused in time: void the payment (it may still land) and give the stock back.
          paymentWindow: {
            target: "refunding",
            actions: assign({ cause: "payment_timeout", reason: "no answer from the payment gateway within the payment window" })
          }
        },
        on: {
          CANCEL: { target: "refunding", actions: assign({ cause: "customer", reason: ({ event }) => event.reason }) }
        }
      },
      shipping: {
        invoke: {
          id: "createShipment",
          src: "createShipment",
          input: ({ context }) => ({ customerId: context.customerId, items: stockLines(context.items) }),
          onDone: {
            target: "shipped",
            actions: [
              assign({ trackingNumber: ({ event }) => event.output.trackingNumber, carrier: ({ event }) => event.output.carrier }),
              emit(({ context, event }) => ({
                type: "order.shipped",
                trackingNumber: event.output.trackingNumber,
                carrier: event.output.carrier,
                items: stockLines(context.items)
              }))
            ]
          },
          onError: {
            target: "cancellingShipment",
            actions: assign({ cause: "shipping_failed", reason: ({ event }) => errorMessage(event.error) })
          }
        },
        on: {
          CANCEL: { target: "cancellingShipment", actions: assign({ cause: "customer", reason: ({ event }) => event.reason }) }
        }
      },
      shipped: {
        on: {
          DELIVERED: {
            target: "delivered",
            actions: emit(({ context }) => ({ type: "order.delivered", trackingNumber: context.trackingNumber ?? "" }))
          }
        }
      },
      delivered: {
        type: "final"
      },
      cancellingShipment: {
        invoke: { id: "cancelShipment", src: "cancelShipment", input: () => ({}), onDone: "refunding" }
      },
      refunding: {
        invoke: {
          id: "refundPayment",
          src: "refundPayment",
          input: () => ({}),
          onDone: [
            {
              guard: ({ event }) => event.output.refunded,
              target: "releasing",
              actions: [
                assign({ refunded: true }),
                emit(({ event }) => ({ type: "payment.refunded", refundId: event.output.refundId ?? "", amount: event.output.amount ?? "0.00" }))
              ]
            },
            { target: "releasing" }
          ]
        }
      },
      releasing: {
        invoke: {
          id: "releaseStock",
          src: "releaseStock",
          input: () => ({}),
          onDone: [
            {
              guard: ({ event }) => event.output.items.length > 0,
              target: "cancelled",
              actions: [
                emit(({ event }) => ({ type: "stock.released", items: event.output.items })),
                emit(({ context }) => ({ type: "order.cancelled", cause: context.cause ?? "customer", reason: context.reason ?? "", refunded: context.refunded }))
              ]
            },
            // Nothing was held any more: no stock movement to report.
            {
              target: "cancelled",
              actions: emit(({ context }) => ({ type: "order.cancelled", cause: context.cause ?? "customer", reason: context.reason ?? "", refunded: context.refunded }))
            }
          ]
        }
      },
      cancelled: {
        type: "final"
      }
    },
    output: ({ context }) => ({
      status: context.cause === null ? "delivered" : "cancelled",
      total: context.total,
      cause: context.cause,
      reason: context.reason
    })
  })

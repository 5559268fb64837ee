/** The order saga's schemas: its input, the events clients send, the domain events it emits. */
import { Schema } from "effect"
import { defineEvent } from "orrery"
import { Money } from "../shared/money.js"

export const Sku = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: "must be 1-64 letters, digits, '.', '_' or '-'" })
)
export const Quantity = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))
const NonEmpty = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))

export const OrderLine = Schema.Struct({ sku: Sku, quantity: Quantity, unitPrice: Money })
export type OrderLine = typeof OrderLine.Type

/** Stock moved for an order: SKU and units, no prices. */
export const StockLine = Schema.Struct({ sku: Sku, quantity: Quantity })
export type StockLine = typeof StockLine.Type

export const OrderInput = Schema.Struct({
  customerId: NonEmpty,
  items: Schema.Array(OrderLine).check(Schema.isMinLength(1), Schema.isMaxLength(100)),
  /** A payment token; test cards: tok_declined, tok_flaky, tok_timeout (default tok_visa). */
  paymentMethod: Schema.optionalKey(NonEmpty)
})
export type OrderInput = typeof OrderInput.Type

export const accepts = {
  /** Before shipment: refund if charged, release the stock, cancel. */
  CANCEL: Schema.Struct({ reason: NonEmpty }),
  /** After shipment: the carrier delivered it. */
  DELIVERED: Schema.Struct({})
}

/** Why an order was cancelled: the customer asked, or a step failed. */
export const CancelCause = Schema.Literals(["customer", "out_of_stock", "payment_declined", "payment_failed", "payment_timeout", "shipping_failed"])
export type CancelCause = typeof CancelCause.Type

export const OrderCreated = defineEvent(
  "order.created",
  Schema.Struct({ customerId: Schema.String, items: Schema.Array(OrderLine), total: Money, paymentMethod: Schema.String })
)
export const OrderStockReserved = defineEvent(
  "order.stock_reserved",
  Schema.Struct({ reservationId: Schema.String, items: Schema.Array(StockLine) })
)
export const OrderPaid = defineEvent("order.paid", Schema.Struct({ chargeId: Schema.String, amount: Money }))
export const OrderShipped = defineEvent(
  "order.shipped",
  Schema.Struct({ trackingNumber: Schema.String, carrier: Schema.String, items: Schema.Array(StockLine) })
)
export const OrderDelivered = defineEvent("order.delivered", Schema.Struct({ trackingNumber: Schema.String }))
export const OrderCancelled = defineEvent(
  "order.cancelled",
  Schema.Struct({ cause: CancelCause, reason: Schema.String, refunded: Schema.Boolean })
)
export const StockReleased = defineEvent("stock.released", Schema.Struct({ items: Schema.Array(StockLine) }))
export const PaymentRefunded = defineEvent("payment.refunded", Schema.Struct({ refundId: Schema.String, amount: Money }))

export const orderEvents = [
  OrderCreated,
  OrderStockReserved,
  OrderPaid,
  OrderShipped,
  OrderDelivered,
  OrderCancelled,
  StockReleased,
  PaymentRefunded
] as const

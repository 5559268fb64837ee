/** The cart's schemas: its input, the events clients send, the domain events it emits. */
import { Schema } from "effect"
import { defineEvent } from "orrery"
import { Money } from "../../sagas/shared/money.js"

export const Sku = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: "must be 1-64 letters, digits, '.', '_' or '-'" })
)
export const Quantity = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))
const NonEmpty = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))

export const CartLine = Schema.Struct({ sku: Sku, quantity: Quantity, unitPrice: Money })
export type CartLine = typeof CartLine.Type

export const CartInput = Schema.Struct({ customerId: Schema.optionalKey(NonEmpty) })
export type CartInput = typeof CartInput.Type

export const accepts = {
  /** Adds units of a SKU (a SKU already in the cart gets the units added and the latest price). */
  ADD_ITEM: CartLine,
  /** Removes a SKU that is in the cart. */
  REMOVE_ITEM: Schema.Struct({ sku: Sku }),
  /** Refused on an empty cart; starts the `order` saga as a child. `paymentMethod` is a payment token (default tok_visa). */
  CHECKOUT: Schema.Struct({ customerId: NonEmpty, paymentMethod: Schema.optionalKey(NonEmpty) })
}

export const CartItemAdded = defineEvent(
  "cart.item.added",
  Schema.Struct({ sku: Schema.String, quantity: Schema.Number, unitPrice: Money, lineQuantity: Schema.Number })
)
export const CartItemRemoved = defineEvent("cart.item.removed", Schema.Struct({ sku: Schema.String, quantity: Schema.Number }))
export const CartCheckedOut = defineEvent(
  "cart.checked_out",
  Schema.Struct({ customerId: Schema.String, items: Schema.Array(CartLine), total: Money })
)
export const CartAbandoned = defineEvent("cart.abandoned", Schema.Struct({ itemCount: Schema.Number, total: Money }))

export const cartEvents = [CartItemAdded, CartItemRemoved, CartCheckedOut, CartAbandoned] as const

/** Event types shared by the log's contract tests. */
import { Schema } from "effect"
import { defineEvent, makeCatalog } from "../../src/log/index.js"

export const ItemAdded = defineEvent(
  "cart.item.added",
  Schema.Struct({ sku: Schema.String, quantity: Schema.Int.check(Schema.isGreaterThan(0)), unitPrice: Schema.String })
)
export const ItemRemoved = defineEvent("cart.item.removed", Schema.Struct({ sku: Schema.String }))
/** A payload whose stored form differs from its typed form: read must decode it back. */
export const CheckedOut = defineEvent(
  "cart.checked_out",
  Schema.Struct({ customerId: Schema.String, at: Schema.DateTimeUtcFromString })
)
export const Ticked = defineEvent("test.ticked", Schema.Struct({ n: Schema.Int }))

export const catalog = makeCatalog([ItemAdded, ItemRemoved, CheckedOut, Ticked])

export const added = (sku: string, quantity = 1) => ItemAdded.make({ sku, quantity, unitPrice: "9.99" })
export const tick = (n: number) => Ticked.make({ n })

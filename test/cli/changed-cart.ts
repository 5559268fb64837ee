/**
 * A changed cart, as a team would write it before deploying: version 2 takes at
 * most 5 units in one ADD_ITEM. `orrery replay cart --against` this file shows
 * which recorded carts it would have refused.
 */
import { defineWorkflow, readSettings } from "orrery"
import { cartSettings } from "../../machines/cart/config.js"
import { makeCartWorkflow } from "../../machines/cart/workflow.js"

const shipped = makeCartWorkflow(readSettings(cartSettings, { env: {} }))

export const cartWithSmallerLines = defineWorkflow({
  ...shipped,
  version: 2,
  machine: shipped.machine.provide({ guards: { fits: ({ event }: { event: { type: string; quantity?: number } }) => event.type === "ADD_ITEM" && (event.quantity ?? 0) <= 5 } })
})

/**
 * The shop's `cart` aggregate as a Domain. Checkout starts the `order` saga
 * (sagas/order) as a child by its type name, so register both.
 *
 * Settings (environment): ORRERY_CART_INACTIVITY (default 24h).
 */
import { Layer } from "effect"
import { type Domain, readSettings } from "orrery"
import { type CartConfig, cartSettings } from "./config.js"
import { makeCartDemo } from "./demo.js"
import { makeCartWorkflow } from "./workflow.js"

export * from "./config.js"
export * from "./events.js"
export { makeCartMachine, type CartContext, type CartEvent } from "./machine.js"
export { makeCartWorkflow } from "./workflow.js"

/** The cart domain; settings not given are read from the environment (see config.ts). */
export const cartDomain = (overrides: Partial<CartConfig> = {}): Domain => {
  const config = readSettings(cartSettings, { given: overrides })
  return {
    name: "cart",
    workflows: [makeCartWorkflow(config)],
    projections: [],
    services: Layer.empty as Layer.Layer<any, never, never>,
    demo: makeCartDemo(config)
  }
}

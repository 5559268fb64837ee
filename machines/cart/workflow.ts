/** The `cart` workflow: the machine and its schemas; it has no activities of its own. */
import { defineWorkflow } from "orrery"
import type { CartConfig } from "./config.js"
import { CartInput, accepts, cartEvents } from "./events.js"
import { makeCartMachine } from "./machine.js"

export const makeCartWorkflow = (config: CartConfig) =>
  defineWorkflow({
    type: "cart",
    version: 1,
    kind: "aggregate",
    machine: makeCartMachine(config),
    events: { input: CartInput, accepts, emits: cartEvents },
    activities: {}
  })

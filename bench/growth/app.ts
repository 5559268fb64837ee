/**
 * The growth benchmark's application: the shipped domains (with short timers, so
 * that their demos end in seconds), the engine benchmark's three-step saga and
 * the nap (bench/growth/nap.ts), on one database — the seed runs the demos
 * through it, the measurements call its engine and log.
 */
import { Layer } from "effect"
import { defineDomain } from "../../src/domain.js"
import type { Database } from "../../src/log/index.js"
import { type ApplicationServices, applicationLayer } from "../../src/orrery/application.js"
import { threeStepWorkflow } from "../engine/saga.js"
import { napWorkflow } from "./nap.js"

/** Timer settings the domains read when they are made: long enough for the demos' stories, short enough to end. */
const demoTimers = { ORRERY_SEAT_HOLD: "5s", ORRERY_PAYMENT_WINDOW: "10s", ORRERY_CART_INACTIVITY: "10s" }

/** The shipped domains, made with the demo's short timers, the three-step saga and the nap (one timer). */
export const growthDomains = async () => {
  for (const [name, value] of Object.entries(demoTimers)) process.env[name] ??= value
  const { shippedDomains } = await import("../../orrery.config.js")
  return [...shippedDomains(), defineDomain("growth-bench", { workflows: [threeStepWorkflow, napWorkflow] })]
}

/** The application over `database`: a worker in this process when `worker` is set, no read models (they would catch up on the whole log). */
export const growthApplication = async (database: Layer.Layer<Database, unknown>, worker: boolean): Promise<Layer.Layer<ApplicationServices, unknown>> =>
  applicationLayer({
    domains: await growthDomains(),
    database,
    worker: worker ? { pollMs: 50, concurrency: 128 } : false,
    projections: false
  })

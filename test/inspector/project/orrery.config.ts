/**
 * A user's project config for the inspector's suites: one workflow of its own, no
 * shipped domain (so no writing domain, no costs). `orrery start --config` serves it.
 */
import { defineConfig } from "orrery"
import { ticketWorkflow } from "./ticket.js"

export default defineConfig({ workflows: [ticketWorkflow] })

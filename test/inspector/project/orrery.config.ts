/**
 * A user's project config for the inspector's suites: two workflows of its own, no
 * shipped domain (so no writing domain, no costs). `orrery start --config` serves it.
 */
import { defineConfig } from "orrery"
import { reminderWorkflow, ticketWorkflow } from "./ticket.js"

export default defineConfig({ workflows: [ticketWorkflow, reminderWorkflow] })

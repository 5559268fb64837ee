// A project of its own for the CLI tests: one workflow, no demo.
import { defineConfig } from "orrery"
import { ticketWorkflow } from "./ticket.js"

export default defineConfig({ workflows: [ticketWorkflow] })

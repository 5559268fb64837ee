import { defineConfig } from "orrery"
import { invoiceWorkflow, Notifier } from "./src/invoice.js"

export default defineConfig({ workflows: [invoiceWorkflow], services: Notifier.inMemory().layer })

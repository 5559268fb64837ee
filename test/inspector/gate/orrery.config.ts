/** The retry test's project: one workflow whose activity fails while its gate file exists. */
import { defineConfig } from "orrery"
import { gateWorkflow } from "./gate.js"

export default defineConfig({ workflows: [gateWorkflow] })

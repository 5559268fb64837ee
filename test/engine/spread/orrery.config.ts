// The worker-spread test's project: one workflow of three short activities in a row.
import { defineConfig } from "orrery"
import { spreadWorkflow } from "./spread.js"

export default defineConfig({ workflows: [spreadWorkflow] })

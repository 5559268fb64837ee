// A project whose one activity never ends: a stop must wait for it (the worker's drain), then give it back.
import { defineConfig } from "orrery"
import { stuckWorkflow } from "./stuck.js"

export default defineConfig({ workflows: [stuckWorkflow] })

/**
 * A user's project with one workflow in two versions, for the version comparison's
 * suites. `GATE_VERSIONS=1` serves version 1 alone: started so first, its instances
 * stay on version 1 when the project is served again with both.
 */
import { defineConfig } from "orrery"
import { gateV1, gateV2 } from "./gate.js"

export default defineConfig({ workflows: process.env.GATE_VERSIONS === "1" ? [gateV1] : [gateV1, gateV2] })

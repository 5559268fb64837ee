/**
 * Differential: for every workflow (the engine's fixtures and every shipped
 * domain), at least 200 event sequences — paths from `xstate/graph` and seeded
 * random walks; all of them for a machine that has fewer — run (a) through
 * XState's own `createActor` with instant stubs for activities and (b) through
 * the durable engine, reloaded from the database before every input
 * (`cacheSize: 0`, no worker). After every step both must agree on: whether the
 * input was taken, status, state value, context, output, the domain events the
 * step emitted, the messages it sent to children and the child workflows it
 * started, and the activities and timers in flight. The helpers are in
 * ./differential/ (workflows.ts lists the machines; samples.ts their payloads
 * and stub results).
 *
 * All sequences run on PGlite, a sample on Postgres. A failure names the
 * machine, the sequence (a walk's seed), the step, and both sides' values.
 * DIFFERENTIAL_SEED=<n> explores other walks; DIFFERENTIAL_ONLY=cart,order
 * runs some machines only; DIFFERENTIAL_WALK=<seed> runs one printed walk.
 */
import { describe, expect, it } from "vitest"
import { drivers } from "../support/drivers.js"
import { generate, randomWalk, type Sequence } from "./differential/generate.js"
import { withEngine } from "./differential/orrery.js"
import { formatFailure, runSequences } from "./differential/run.js"
import { allDefinitions, differentialWorkflows } from "./differential/workflows.js"

const baseSeed = Number(process.env.DIFFERENTIAL_SEED ?? 20_260_611) >>> 0
const only = process.env.DIFFERENTIAL_ONLY?.split(",").map((name) => name.trim())
/** One walk's seed (as printed by a failure): run that walk alone. */
const walk = process.env.DIFFERENTIAL_WALK === undefined ? undefined : Number(process.env.DIFFERENTIAL_WALK) >>> 0
const perMachine = 200
const onPostgres = 24

const workflowTypes = new Set(allDefinitions.map((definition) => definition.type))
const isWorkflowType = (src: string) => workflowTypes.has(src)

const sequencesOf = new Map<string, Promise<{ readonly sequences: Array<Sequence>; readonly exhaustive: boolean }>>()
const sequences = (type: string) => {
  let found = sequencesOf.get(type)
  if (found === undefined) {
    const workflow = differentialWorkflows.find((candidate) => candidate.type === type)!
    found = walk !== undefined
      ? randomWalk(workflow, isWorkflowType, walk, "walk").then((one) => ({ sequences: [one], exhaustive: true }))
      : generate(workflow, isWorkflowType, { total: perMachine, minWalks: 120, maxPaths: 100, baseSeed })
    sequencesOf.set(type, found)
  }
  return found
}

/** Evenly spread over graph paths and walks. */
const sample = <A>(items: ReadonlyArray<A>, count: number): Array<A> =>
  items.length <= count ? [...items] : Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!)

const workflows = differentialWorkflows.filter((workflow) => only === undefined || only.includes(workflow.type))

describe.each(drivers)("differential: XState and the durable engine agree, on %s", (driver) => {
  it.each(workflows.map((workflow) => [workflow.type, workflow] as const))("%s", async (_type, workflow) => {
    const { sequences: all, exhaustive } = await sequences(workflow.type)
    // A machine with fewer sequences than that in all (fragile, relay) runs every one of them.
    if (!exhaustive) expect(all.length).toBeGreaterThanOrEqual(200)
    const chosen = driver === "pglite" ? all : sample(all, onPostgres)
    const failures = await withEngine(
      driver,
      allDefinitions,
      runSequences(workflow, chosen, { driver, concurrency: driver === "postgres" ? 4 : 1, isWorkflowType, prefix: "seq" })
    )
    if (failures.length > 0) {
      const shown = failures.slice(0, 5).map(formatFailure).join("\n\n")
      throw new Error(`${failures.length} of ${chosen.length} sequences differ (base seed ${baseSeed}):\n\n${shown}${failures.length > 5 ? `\n\n… and ${failures.length - 5} more` : ""}`)
    }
  }, 240_000)
})

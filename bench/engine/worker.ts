/** A worker process for the engine benchmark: DATABASE_URL and ORRERY_SCHEMA from the environment. */
import { Effect, Layer } from "effect"
import { orreryLayer } from "../../src/engine/index.js"
import { layerPostgres } from "../../src/log/index.js"
import { threeStepWorkflow } from "./saga.js"

const orrery = orreryLayer({
  workflows: [threeStepWorkflow],
  schema: process.env.ORRERY_SCHEMA!,
  worker: { pollMs: 50, concurrency: 128 },
  log: { migrate: false }
}).pipe(Layer.provide(layerPostgres({ url: process.env.DATABASE_URL!, max: 8 })))

const fiber = Effect.runFork(Layer.launch(orrery))
process.on("SIGTERM", () => fiber.interruptUnsafe())
console.log("worker up")

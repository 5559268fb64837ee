/** A worker process for the relay saga: DATABASE_URL, ORRERY_SCHEMA and SERVICE_URL from the environment. */
import { Effect, Layer } from "effect"
import { orreryLayer } from "../../../src/engine/index.js"
import { layerPostgres } from "../../../src/log/index.js"
import { relayWorkflow } from "./relay.js"

const env = (name: string) => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const orrery = orreryLayer({
  workflows: [relayWorkflow(env("SERVICE_URL"))],
  schema: env("ORRERY_SCHEMA"),
  leaseMs: Number(process.env.LEASE_MS ?? 2_000),
  worker: {
    pollMs: 100,
    drainMs: Number(process.env.DRAIN_MS ?? 10_000),
    ...(process.env.WORKER_ID === undefined ? {} : { id: process.env.WORKER_ID })
  },
  log: { migrate: false }
}).pipe(Layer.provide(layerPostgres({ url: env("DATABASE_URL"), max: 4 })))

const fiber = Effect.runFork(Layer.launch(orrery))
fiber.addObserver(() => process.exit(0))
const stop = () => fiber.interruptUnsafe()
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
console.log("worker up")

/**
 * The server side of `npm run bench -- http`, run as a child process so that
 * the load generator does not share its event loop: Orrery (engine, worker,
 * HTTP server) on real Postgres in the schema it is given, serving a tiny
 * workflow. Prints one JSON line `{ "url": … }` on stdout once listening;
 * SIGTERM closes the server, then the engine.
 *
 * The workflow is the engine benchmark's counter machine: a start and each
 * TICK are one input each, one transaction, no activities or timers — so the
 * figures are the front door plus the engine's write path, not the work of
 * activities.
 */
import { Layer, ManagedRuntime, Redacted, Schema } from "effect"
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import { defineWorkflow, orreryLayer } from "../../src/engine/index.js"
import { type HttpServices, startHttpServer } from "../../src/http/index.js"
import { layerPostgres } from "../../src/log/index.js"
import { projectionsLayer } from "../../src/projections/projection.js"
import { counterMachine } from "../engine/counter.js"

const counter = defineWorkflow({
  type: "counter",
  version: 1,
  kind: "aggregate",
  machine: counterMachine,
  events: { input: Schema.Struct({}), accepts: { TICK: Schema.Struct({}), RESET: Schema.Struct({}) }, emits: [] },
  activities: {}
})

const { values } = parseArgs({ options: { schema: { type: "string" }, "database-url": { type: "string" }, token: { type: "string" }, pool: { type: "string" }, "log-level": { type: "string" } } })
const schema = values.schema!
const layer = projectionsLayer([], schema).pipe(
  Layer.provideMerge(orreryLayer({ workflows: [counter], schema })),
  Layer.provideMerge(layerPostgres({ url: values["database-url"]!, max: Number(values.pool ?? 10) })),
  Layer.orDie
) as Layer.Layer<HttpServices, never, never>
const runtime = ManagedRuntime.make(layer)
// Request logs at info, as in production, written where they cost what writing them costs but fill no disk.
const devNull = fs.openSync("/dev/null", "w")
const server = await startHttpServer(runtime, {
  host: "127.0.0.1",
  port: 0,
  tokens: [{ name: "bench", role: "operate", token: Redacted.make(values.token!) }],
  logLevel: (values["log-level"] ?? "info") as "info",
  logStream: { write: (line) => void fs.writeSync(devNull, line) },
  // On, so that its cost is measured; high enough never to refuse.
  rateLimit: { max: 100_000_000, windowMs: 60_000 }
})
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`)
process.once("SIGTERM", async () => {
  await server.close()
  await runtime.dispose()
  process.exit(0)
})

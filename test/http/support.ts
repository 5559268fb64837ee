/**
 * An Orrery with its HTTP server, on one driver and a fresh schema, for the
 * HTTP suites: the engine (with a worker) behind a ManagedRuntime, the server
 * listening on 127.0.0.1 at a free port, its JSON log lines captured.
 */
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import type { ApiToken } from "../../src/config.js"
import type { WorkflowDefinition } from "../../src/engine/index.js"
import { orreryLayer } from "../../src/engine/index.js"
import { type HttpOptions, type HttpServer, type HttpServices, startHttpServer } from "../../src/http/index.js"
import { Database, type DatabaseShape } from "../../src/log/index.js"
import { projectionsLayer } from "../../src/projections/projection.js"
import { type Driver, databaseLayer, freshSchema } from "../support/drivers.js"

export const readToken = "read-token-0123456789abcdef"
export const operateToken = "operate-token-0123456789abcdef"
export const tokens: ReadonlyArray<ApiToken> = [
  { name: "reader", role: "read", token: Redacted.make(readToken) },
  { name: "operator", role: "operate", token: Redacted.make(operateToken) }
]

export interface TestServer extends HttpServer {
  readonly runtime: ManagedRuntime.ManagedRuntime<HttpServices, never>
  /** Every JSON log line the server wrote. */
  readonly logs: Array<string>
}

export interface RuntimeOptions {
  /** Services the workflows' activities use. */
  readonly layers?: Layer.Layer<any, never, never>
  /** Stands between the engine and the database (to cut it off). */
  readonly wrapDatabase?: (db: DatabaseShape) => DatabaseShape
  /** A tracer for every span, the engine's and the server's. */
  readonly tracing?: Layer.Layer<never>
  /** An existing database and schema, to serve what an earlier runtime wrote (a newer version deployed over an older one's instances). */
  readonly existing?: { readonly database: Layer.Layer<Database>; readonly schema: string }
}

export const orreryRuntime = (driver: Driver, workflows: ReadonlyArray<WorkflowDefinition<any>>, options: RuntimeOptions = {}) => {
  const schema = options.existing?.schema ?? freshSchema()
  const real = options.existing?.database ?? databaseLayer(driver, schema)
  const database = options.wrapDatabase === undefined ? real : Layer.effect(Database, Database.use((db) => Effect.succeed(options.wrapDatabase!(db)))).pipe(Layer.provide(real))
  const layer = projectionsLayer([], schema).pipe(
    Layer.provideMerge(orreryLayer({ workflows, schema, worker: { pollMs: 100 } })),
    Layer.provideMerge(database),
    Layer.provide((options.layers ?? Layer.empty) as Layer.Layer<any, never, never>),
    Layer.provideMerge(options.tracing ?? Layer.empty),
    Layer.orDie
  ) as Layer.Layer<HttpServices, never, never>
  return ManagedRuntime.make(layer)
}

export const startServer = async (
  driver: Driver,
  workflows: ReadonlyArray<WorkflowDefinition<any>>,
  options: Partial<HttpOptions> = {},
  runtimeOptions: RuntimeOptions = {}
): Promise<TestServer> => {
  const runtime = orreryRuntime(driver, workflows, runtimeOptions)
  const logs: Array<string> = []
  const server = await startHttpServer(runtime, {
    host: "127.0.0.1",
    port: 0,
    tokens,
    logLevel: "info",
    logStream: { write: (line) => void logs.push(line) },
    ...options
  })
  return {
    ...server,
    runtime,
    logs,
    close: async () => {
      await server.close()
      await runtime.dispose()
    }
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
export const asOperator = bearer(operateToken)
export const asReader = bearer(readToken)

/** fetch against the live server, JSON in and out. */
export const call = async (server: Pick<HttpServer, "url">, method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}) => {
  const headers: Record<string, string> = { ...options.headers }
  let body: string | undefined = options.raw
  if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers["content-type"] ??= "application/json"
  }
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
  const text = await response.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

export type Transport = "inject" | "live"
export const transports: ReadonlyArray<Transport> = ["inject", "live"]

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string | undefined>
  readonly text: string
  readonly json: any
}

export type Client = (method: string, path: string, options?: { body?: unknown; headers?: Record<string, string>; raw?: string }) => Promise<Answer>

/** The same requests through `fastify.inject` or a real socket. */
export const client = (server: TestServer, transport: Transport, defaults: Record<string, string> = asOperator): Client => async (method, path, options = {}) => {
  const headers: Record<string, string> = { ...defaults, ...options.headers }
  let payload = options.raw
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body)
    headers["content-type"] ??= "application/json"
  }
  if (transport === "live") {
    const answer = await call(server, method, path, { headers, ...(payload === undefined ? {} : { raw: payload }) })
    return { status: answer.status, headers: Object.fromEntries(answer.headers.entries()), text: answer.text, json: answer.json }
  }
  const response = await server.app.inject({ method: method as "GET", url: path, headers, ...(payload === undefined ? {} : { payload }) })
  let json: any
  try {
    json = JSON.parse(response.body)
  } catch {
    json = undefined
  }
  return { status: response.statusCode, headers: response.headers as Record<string, string>, text: response.body, json }
}

/** Polls until `done` holds for the answer (the worker moves instances on its own). */
export const eventually = async (read: () => Promise<Answer>, done: (answer: Answer) => boolean, timeoutMs = 15_000): Promise<Answer> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const answer = await read()
    if (done(answer)) return answer
    if (Date.now() > deadline) throw new Error(`timed out; last answer ${answer.status} ${answer.text}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

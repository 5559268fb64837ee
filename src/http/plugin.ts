/**
 * `orreryPlugin`: Orrery's HTTP API (and its inspector and documentation)
 * mounted in a user's own Fastify app, under a prefix of their choosing.
 *
 * Why a plugin inside a plugin: the plugin is made with fastify-plugin, so
 * that Fastify knows it by name ("orrery": `app.hasPlugin("orrery")`, other
 * plugins' `dependencies`) and checks the Fastify version once. But
 * fastify-plugin breaks encapsulation by design: whatever the plugin's body
 * set would land on the host's context — its error handler, not-found handler,
 * validator compiler, content-type parsers and hooks would replace or join the
 * host's for the host's own routes — and Fastify skips the `prefix` (and
 * `logLevel`) it would apply to an ordinary plugin. So the body only registers
 * one encapsulated child (api.ts) with those register options passed on; the
 * API's settings live there and stop there, and the host's hooks registered
 * before it (its own auth, say) still run for the API's routes. Nothing is
 * decorated on the host, so two instances under two prefixes never collide.
 */
import type { ManagedRuntime } from "effect"
import type { FastifyPluginAsync, RegisterOptions } from "fastify"
import fp from "fastify-plugin"
import type { Domain } from "../domain.js"
import { apiRoutes } from "./api.js"
import { type ApiOptions, InvalidOrreryOptions, resolveApiOptions } from "./options.js"
import { type HttpServices, type Runner, runnerFromRuntime } from "./runner.js"

/**
 * The application the API serves: an Orrery's runtime (what `createOrrery`
 * gives), or a runner over services already built (what `orrery start` has).
 */
export type OrreryApplication =
  | { readonly runtime: ManagedRuntime.ManagedRuntime<HttpServices, unknown>; readonly domains?: ReadonlyArray<Domain> }
  | { readonly run: Runner; readonly domains?: ReadonlyArray<Domain> }

export interface OrreryPluginOptions extends ApiOptions {
  /** What to serve. Its `domains` have their routes served too, unless `domains` is given here. */
  readonly orrery: OrreryApplication
  /**
   * Where the API answers, e.g. "/orrery" (Fastify's own register option). Left
   * out: at the root, where it also answers every unknown route, so the host
   * must not set a not-found handler of its own there.
   */
  readonly prefix?: string
}

const applicationOf = (orrery: OrreryApplication | undefined): { readonly run: Runner; readonly domains: ReadonlyArray<Domain> | undefined } => {
  if (orrery !== undefined && "run" in orrery && typeof orrery.run === "function") return { run: orrery.run, domains: orrery.domains }
  if (orrery !== undefined && "runtime" in orrery && typeof orrery.runtime?.runPromiseExit === "function") {
    return { run: runnerFromRuntime(orrery.runtime), domains: orrery.domains }
  }
  throw new InvalidOrreryOptions({ option: "orrery", message: "orrery: option orrery must be { runtime } (from createOrrery) or { run }" })
}

/** `/orrery/` and `orrery` mean `/orrery`; `/` means the root. */
const normalisePrefix = (prefix: string | undefined) => {
  const trimmed = (prefix ?? "").replace(/\/+$/, "")
  return trimmed === "" ? "" : trimmed.startsWith("/") ? trimmed : `/${trimmed}`
}

const orrery: FastifyPluginAsync<OrreryPluginOptions> = async (app, given) => {
  const { run, domains } = applicationOf(given.orrery)
  const options = resolveApiOptions({ ...given, domains: given.domains ?? domains ?? [] })
  const { logLevel, logSerializers } = given as OrreryPluginOptions & RegisterOptions
  await app.register(apiRoutes, {
    run,
    options,
    prefix: normalisePrefix(given.prefix),
    ...(logLevel === undefined ? {} : { logLevel }),
    ...(logSerializers === undefined ? {} : { logSerializers })
  })
}

/**
 * The Orrery HTTP API as a Fastify 5 plugin: workflows, machines, the event
 * log, health probes, metrics, live streams, the OpenAPI document at
 * `<prefix>/docs` and the inspector at `<prefix>/inspect`, with their own
 * validation, error shape and 404s under the prefix. The host app's hooks
 * registered before it run for its routes too (put your own auth there, and
 * leave `tokens` out). A ManagedRuntime builds its layers on first use, which
 * would then count against Fastify's `pluginTimeout` (10 s): build it first
 * (`await runtime.context()`; `createOrrery` does).
 *
 * @example
 * ```ts
 * import Fastify from "fastify"
 * import { createOrrery } from "orrery"
 * import { orreryPlugin } from "orrery/fastify"
 *
 * const orrery = await createOrrery({ workflows: [signupWorkflow] })
 * const app = Fastify({ logger: true })
 * app.addHook("onRequest", myAuth)
 * await app.register(orreryPlugin, { prefix: "/orrery", orrery, inspector: true })
 * await app.listen({ port: 3000 })
 * // POST /orrery/workflows/signup, GET /orrery/docs, /orrery/inspect
 * ```
 */
export const orreryPlugin = fp(orrery, { fastify: "5.x", name: "orrery" })

/**
 * `orrery/fastify`: Orrery's HTTP API, inspector and documentation as a
 * Fastify 5 plugin for an app of your own (see src/http/plugin.ts).
 */
export { type OrreryApplication, type OrreryPluginOptions, orreryPlugin } from "./http/plugin.js"
export type { ApiOptions, PlainApiToken, RateLimitOptions, StreamOptions } from "./http/options.js"
export { InvalidOrreryOptions } from "./http/options.js"

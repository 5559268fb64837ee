/**
 * Bearer-token auth. Tokens come from the configuration with a role: `read`
 * may call GET routes, `operate` every route. Routes say what they need with
 * `config.access` (default: GET/HEAD read, anything else operate; `public` for
 * the health probes). With no tokens configured every caller is an anonymous
 * operator — the server then listens on loopback only (see server.ts).
 *
 * Candidates are compared against every token by SHA-256 digest with
 * `timingSafeEqual`, without stopping at the first match, so timing reveals
 * neither a token's length nor how much of it was right.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import type { FastifyRequest } from "fastify"
import { Redacted } from "effect"
import type { ApiToken, Role } from "../config.js"
import { httpError } from "./errors.js"

export type Access = "public" | Role

export interface Principal {
  /** The token's name (never the token), or "anonymous" when no tokens are configured. */
  readonly name: string
  readonly role: Role
}

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access
    /** Leave answers unredacted for the read role (the documentation). */
    redact?: boolean
  }
  interface FastifyRequest {
    principal: Principal | undefined
  }
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

const anonymous: Principal = { name: "anonymous", role: "operate" }

export const accessOf = (request: FastifyRequest): Access =>
  request.routeOptions.config?.access ?? (request.method === "GET" || request.method === "HEAD" ? "read" : "operate")

const allows = (role: Role, access: Access) => access === "public" || access === "read" || role === "operate"

/** For the onRequest hook: sets `request.principal`, or throws the 401/403. */
export const makeAuthenticate = (tokens: ReadonlyArray<ApiToken>) => {
  const known = tokens.map((token) => ({ name: token.name, role: token.role, digest: digest(Redacted.value(token.token)) }))

  const identify = (header: string | undefined): Principal | undefined => {
    const match = typeof header === "string" ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null
    if (match === null) return undefined
    const candidate = digest(match[1]!)
    let found: Principal | undefined
    for (const token of known) {
      if (timingSafeEqual(candidate, token.digest) && found === undefined) found = { name: token.name, role: token.role }
    }
    return found
  }

  return (request: FastifyRequest): void => {
    const access = accessOf(request)
    if (known.length === 0) {
      request.principal = anonymous
      return
    }
    const principal = identify(request.headers.authorization)
    request.principal = principal
    if (access === "public") return
    if (principal === undefined) {
      const given = request.headers.authorization !== undefined
      throw httpError(401, "Unauthorized", given ? "the bearer token is not valid" : "a bearer token is required (Authorization: Bearer <token>)", undefined, {
        "www-authenticate": given ? 'Bearer error="invalid_token"' : "Bearer"
      })
    }
    if (!allows(principal.role, access)) {
      throw httpError(403, "Forbidden", `the ${principal.role} role may not call ${request.method} ${request.routeOptions.url ?? request.url.split("?")[0]}`)
    }
  }
}

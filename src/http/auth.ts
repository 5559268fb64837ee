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

/**
 * The two halves of auth, with the rate limit between them: `authenticate`
 * names the caller (a valid token's name, or nobody), `authorize` refuses.
 * Split so that a wrong token counts against its address's limit — guessing
 * tokens is throttled like any other flood.
 */
export const makeAuth = (tokens: ReadonlyArray<ApiToken>) => {
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

  /** Who is calling (undefined: nobody known); the rate limit keys on it before `authorize` refuses anyone. */
  const authenticate = (request: FastifyRequest): void => {
    request.principal = known.length === 0 ? anonymous : identify(request.headers.authorization)
  }

  /** Throws the 401/403 for a caller `authenticate` did not admit to this route. */
  const authorize = (request: FastifyRequest): void => {
    const principal = request.principal
    const access = accessOf(request)
    if (known.length === 0 || access === "public") return
    if (principal === undefined) {
      const given = request.headers.authorization !== undefined
      throw httpError(401, "Unauthorized", given ? "the bearer token is not valid" : "a bearer token is required (Authorization: Bearer <token>)", undefined, {
        "www-authenticate": given ? 'Bearer error="invalid_token"' : "Bearer"
      })
    }
    // No route: the caller is told 404, whatever its role, rather than that it may not call what does not exist.
    if (request.routeOptions.url === undefined) return
    if (!allows(principal.role, access)) {
      throw httpError(403, "Forbidden", `the ${principal.role} role may not call ${request.method} ${request.routeOptions.url}`)
    }
  }

  return { authenticate, authorize }
}

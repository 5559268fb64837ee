/**
 * One JSON request to the Orrery API with plain `fetch`: the bearer token and
 * the caller's headers on every request, a JSON body where there is one, and
 * every answer that is not a success turned into a typed error (see
 * http-errors.ts). Works wherever `fetch` does: Node 20+, Deno, Bun, browsers.
 */
// The error classes stand on effect's Schema, slow to load: fetched on the first refusal, not at start-up.
const errors = () => import("./http-errors.js")

export interface TransportOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7311` (a path prefix is kept: `https://example.com/orrery`). */
  readonly url: string
  /** An API token, sent as `Authorization: Bearer <token>`. */
  readonly token?: string
  /** A `fetch` to use instead of the global one (a test double, a proxy agent, retries). */
  readonly fetch?: typeof fetch
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>
}

export interface Request {
  readonly method: "GET" | "POST"
  /** Starts with `/`; segments already encoded. */
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | undefined>>
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string | undefined>>
  /** Answer the text as it is instead of parsing JSON (`/metrics`). */
  readonly text?: boolean
}

export interface Answer<A> {
  readonly status: number
  readonly body: A
}

export type Send = <A = any>(request: Request) => Promise<Answer<A>>

/** `/workflows/{type}/{id}` with both segments encoded. */
export const pathOf = (...segments: ReadonlyArray<string>) => segments.map((segment) => `/${encodeURIComponent(segment)}`).join("")

export const makeTransport = (options: TransportOptions): { readonly base: string; readonly send: Send } => {
  const base = options.url.replace(/\/+$/, "")
  // Called as a plain function: a browser's fetch refuses to run with another `this`.
  const fetchOf = options.fetch ?? ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => globalThis.fetch(input, init))
  const fixed: Record<string, string> = { accept: "application/json", ...options.headers }
  if (options.token !== undefined) fixed.authorization = `Bearer ${options.token}`

  const send: Send = async (request) => {
    const query = new URLSearchParams()
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) query.set(key, String(value))
    const search = query.toString()
    const url = `${base}${request.path}${search === "" ? "" : `?${search}`}`
    const headers: Record<string, string> = { ...fixed }
    for (const [key, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[key] = value
    if (request.body !== undefined) headers["content-type"] = "application/json"
    let response: Response
    let text: string
    try {
      response = await fetchOf(url, { method: request.method, headers, ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }) })
      text = await response.text()
    } catch (error) {
      throw new (await errors()).OrreryUnreachable({ url, reason: reasonOf(error) })
    }
    if (request.text === true && response.ok) return { status: response.status, body: text as never }
    let body: unknown
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    if (!response.ok) throw (await errors()).errorFromAnswer(response.status, body, base)
    if (body === undefined) {
      throw new (await errors()).OrreryHttpError({ status: response.status, error: "InvalidResponse", message: `${request.method} ${request.path} answered ${response.status} without a JSON body` })
    }
    return { status: response.status, body: body as never }
  }
  return { base, send }
}

/** Node's fetch says only "fetch failed" and puts the cause (ECONNREFUSED, …) beneath it. */
const reasonOf = (error: unknown): string => {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
  const code = typeof cause?.code === "string" ? cause.code : undefined
  const message = error instanceof Error ? error.message : String(error)
  return code !== undefined ? `${message} (${code})` : typeof cause?.message === "string" ? `${message}: ${cause.message}` : message
}

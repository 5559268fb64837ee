// The HTTP API, as the inspector calls it: JSON over fetch with the user's bearer token,
// and the instance stream (Server-Sent Events) read through fetch, because a browser's
// EventSource cannot send an Authorization header.

const tokenKey = "orrery.inspector.token"

/**
 * Where the API answers: this module is served at `<prefix>/inspect/api.js`, so
 * the API is at `<prefix>` ("" at the root, "/orrery" under a host app's prefix).
 */
export const apiBase = new URL("../", import.meta.url).pathname.replace(/\/$/, "")

export const token = {
  get: () => sessionStorage.getItem(tokenKey) ?? "",
  /** @param {string} value */
  set: (value) => (value === "" ? sessionStorage.removeItem(tokenKey) : sessionStorage.setItem(tokenKey, value))
}

/** An answer other than 2xx: the server's `{error, message}`. */
export class ApiError extends Error {
  /** @param {number} status @param {{ error?: string, message?: string, details?: any } | null} body */
  constructor(status, body) {
    super(body?.message ?? `the server answered ${status}`)
    this.status = status
    this.error = body?.error ?? "HttpError"
    /** The error's own fields (an IntegrityError's stream and version). */
    this.details = body?.details
  }
}

const headers = () => {
  const value = token.get()
  /** @type {Record<string, string>} */
  const result = { accept: "application/json" }
  if (value !== "") result.authorization = `Bearer ${value}`
  return result
}

/**
 * @param {string} path the API's path, e.g. `/machines`
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export const getJson = async (path, options = {}) => {
  const response = await fetch(`${apiBase}${path}`, { headers: headers(), signal: options.signal })
  const body = await response.json().catch(() => null)
  if (!response.ok) throw new ApiError(response.status, body)
  return body
}

/**
 * Posts JSON (an operation: needs an operate token when the server asks for one); a refusal
 * is the server's `ApiError`, with its `error`, `message` and `details`.
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export const postJson = async (path, body) => {
  const response = await fetch(`${apiBase}${path}`, {
    method: "POST",
    headers: { ...headers(), "content-type": "application/json" },
    body: JSON.stringify(body ?? {})
  })
  const answer = await response.json().catch(() => null)
  if (!response.ok) throw new ApiError(response.status, answer)
  return answer
}

/** A path with its query; undefined and empty values are left out. @param {string} path @param {Record<string, unknown>} query */
export const withQuery = (path, query) => {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== "") params.set(name, String(value))
  const text = params.toString()
  return text === "" ? path : `${path}?${text}`
}

/** @param {string} part */
export const segment = (part) => encodeURIComponent(part)

/**
 * Follows an instance's stream until it ends (`end`) or `signal` aborts; reconnects with
 * Last-Event-ID after a dropped connection, so nothing is missed.
 * @param {string} path the stream's API path, with `?after=`
 * @param {(event: string, data: any) => void} onEvent
 * @param {AbortSignal} signal
 */
export const follow = async (path, onEvent, signal) => {
  /** @type {string | undefined} */
  let lastId
  while (!signal.aborted) {
    let ended = false
    try {
      /** @type {Record<string, string>} */
      const requestHeaders = { ...headers(), accept: "text/event-stream" }
      if (lastId !== undefined) requestHeaders["last-event-id"] = lastId
      const response = await fetch(`${apiBase}${path}`, { headers: requestHeaders, signal })
      if (!response.ok || response.body === null) throw new ApiError(response.status, await response.json().catch(() => null))
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      while (!ended) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let boundary
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, boundary)
          buffer = buffer.slice(boundary + 2)
          const message = parseBlock(block)
          if (message === undefined) continue
          if (message.id !== undefined) lastId = message.id
          onEvent(message.event, message.data)
          if (message.event === "end") ended = true
        }
      }
      if (ended) return
    } catch (error) {
      if (signal.aborted) return
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) throw error
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** One SSE message: its `event`, `id` and JSON `data`; comments and `retry:` lines give nothing. @param {string} block */
const parseBlock = (block) => {
  let event = "message"
  /** @type {string | undefined} */
  let id
  const data = []
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim()
    else if (line.startsWith("id:")) id = line.slice(3).trim()
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
  }
  if (data.length === 0) return undefined
  return { event, id, data: JSON.parse(data.join("\n")) }
}

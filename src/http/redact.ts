/**
 * Payload fields named like secrets are replaced by "[redacted]" in logs and,
 * for the read role, in every answer (history, state, the log, the stream).
 * Matching is on the name's end, ignoring case, `_` and `-`: `paymentToken`,
 * `api_key`, `clientSecret`, `password` are secrets; `inputTokens` (a count of
 * LLM tokens) and `tokenCount` are not.
 */
const secretSuffixes = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "secretkey",
  "token",
  "apikey",
  "privatekey",
  "credential",
  "credentials",
  "authorization",
  "cookie",
  "cvv",
  "cvc",
  "cardnumber"
]

const secretName = new RegExp(`(${secretSuffixes.join("|")})$`)

/** A PIN counts only as a word of its own (`pin`, `card_pin`, `cardPin`), never inside `shipping`. */
export const isSecretName = (key: string): boolean =>
  secretName.test(key.toLowerCase().replace(/[-_]/g, "")) || /(^|[-_])pin$/i.test(key) || /[a-z0-9](Pin|PIN)$/.test(key)

export const redactedText = "[redacted]"

/** A deep copy with secret-named fields replaced; values that are not plain JSON pass through. */
export const redactSecrets = (value: unknown, depth = 0): unknown => {
  if (depth > 64 || value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1))
  if (value instanceof Date) return value
  const copy: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    copy[key] = isSecretName(key) ? redactedText : redactSecrets(item, depth + 1)
  }
  return copy
}

/** A query parameter named like a credential: the secret names above, and `key`, `sig`, `signature`, `code` on their own. */
const isSecretParameter = (name: string): boolean => isSecretName(name) || /^(key|sig|signature|code)$/i.test(name) || /([-_]key|[a-z0-9]Key)$/.test(name)

/**
 * A request URL fit for a log line: the values of secret-looking query
 * parameters (`?access_token=…`, `?key=…`) replaced by "[redacted]".
 *
 * @example
 * redactUrl("/workflows?access_token=abc&type=order") // "/workflows?access_token=[redacted]&type=order"
 */
export const redactUrl = (url: string): string => {
  const mark = url.indexOf("?")
  if (mark === -1) return url
  const query = url.slice(mark + 1).split("&").map((pair) => {
    const equals = pair.indexOf("=")
    const raw = equals === -1 ? pair : pair.slice(0, equals)
    let name = raw
    try {
      name = decodeURIComponent(raw.replace(/\+/g, " "))
    } catch {
      // A malformed escape: judge the name as written.
    }
    return equals !== -1 && isSecretParameter(name) ? `${raw}=${redactedText}` : pair
  })
  return `${url.slice(0, mark)}?${query.join("&")}`
}

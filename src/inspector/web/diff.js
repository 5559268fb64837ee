// What a step changed in the context: the paths added, removed and changed between two
// JSON values. Objects are compared key by key and arrays index by index, down to the
// leaves, so a change deep inside a list names its own path (`items[2].qty`), not the list.

/**
 * @typedef {{ path: string, change: "added" | "removed" | "changed", before?: unknown, after?: unknown }} PathChange
 */

/** @param {unknown} value */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value)

/** A key as it reads in a path: `.name`, or `["odd key"]` when it is not a plain name. @param {string} key */
const keyPart = (key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)

/**
 * Every path at which `after` differs from `before`, in document order.
 *
 * @example
 * diffPaths({ total: 1, items: ["a"] }, { total: 2, items: ["a", "b"], paid: true })
 * // [{ path: "total", change: "changed", before: 1, after: 2 },
 * //  { path: "items[1]", change: "added", after: "b" }, { path: "paid", change: "added", after: true }]
 * @param {unknown} before
 * @param {unknown} after
 * @returns {PathChange[]}
 */
export const diffPaths = (before, after) => {
  /** @type {PathChange[]} */
  const changes = []
  /** @param {unknown} a @param {unknown} b @param {string} path */
  const walk = (a, b, path) => {
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let index = 0; index < Math.max(a.length, b.length); index++) {
        const at = `${path}[${index}]`
        if (index >= a.length) changes.push({ path: at, change: "added", after: b[index] })
        else if (index >= b.length) changes.push({ path: at, change: "removed", before: a[index] })
        else walk(a[index], b[index], at)
      }
      return
    }
    if (isObject(a) && isObject(b)) {
      const left = /** @type {Record<string, unknown>} */ (a)
      const right = /** @type {Record<string, unknown>} */ (b)
      for (const key of Object.keys(left)) {
        const at = path === "" ? keyPart(key).replace(/^\./, "") : `${path}${keyPart(key)}`
        if (!Object.hasOwn(right, key)) changes.push({ path: at, change: "removed", before: left[key] })
        else walk(left[key], right[key], at)
      }
      for (const key of Object.keys(right)) {
        if (Object.hasOwn(left, key)) continue
        const at = path === "" ? keyPart(key).replace(/^\./, "") : `${path}${keyPart(key)}`
        changes.push({ path: at, change: "added", after: right[key] })
      }
      return
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push({ path: path === "" ? "(context)" : path, change: "changed", before: a, after: b })
  }
  walk(before, after, "")
  return changes
}

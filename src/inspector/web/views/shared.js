// Pieces several views use: a repeating refresh that stops with its view, tables, and
// the statechart of a machine version laid out once per page.

import { ApiError, getJson, segment } from "../api.js"
import { fill, h } from "../dom.js"
import { describe, isAbort, report } from "../notice.js"
import { layOut } from "../statechart.js"

/**
 * Runs `task` now and every `ms` until stopped; a failing run is reported and the
 * next one still comes. Returns the stop function.
 * @param {(signal: AbortSignal) => Promise<void>} task
 * @param {number} ms
 * @param {(error: unknown) => void} onError
 */
export const every = (task, ms, onError) => {
  const controller = new AbortController()
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  const run = async () => {
    try {
      await task(controller.signal)
    } catch (error) {
      if (!controller.signal.aborted) onError(error)
    }
    if (!controller.signal.aborted) timer = setTimeout(run, ms)
  }
  void run()
  return () => {
    controller.abort()
    clearTimeout(timer)
  }
}

/**
 * @param {string[]} headings
 * @param {Array<Array<Node | string | number | null>>} rows
 * @param {{ class?: string, empty?: string, rowAttributes?: (index: number) => Record<string, unknown> }} [options]
 */
export const table = (headings, rows, options = {}) =>
  rows.length === 0
    ? h("p", { class: "empty" }, options.empty ?? "Nothing yet.")
    : h(
        "table",
        { class: options.class },
        h("thead", {}, h("tr", {}, headings.map((heading) => h("th", {}, heading)))),
        h("tbody", {}, rows.map((row, index) => h("tr", options.rowAttributes?.(index) ?? {}, row.map((cell) => h("td", {}, cell ?? "—")))))
      )

/** @type {Map<string, Promise<any>>} */
const machines = new Map()
/** @type {Map<string, Promise<import("../statechart.js").Placed>>} */
const layouts = new Map()

/** A type's graph, every version (machines do not change while a server runs). @param {string} type @param {AbortSignal} [signal] */
export const machineOf = (type, signal) => {
  let found = machines.get(type)
  if (found === undefined) {
    found = getJson(`/machines/${segment(type)}`, signal === undefined ? {} : { signal })
    found.catch(() => machines.delete(type))
    machines.set(type, found)
  }
  return found
}

/** The layout of one version of a type's machine. @param {string} type @param {any} version its graph */
export const layoutOf = (type, version) => {
  const key = `${type}@${version.version}`
  let found = layouts.get(key)
  if (found === undefined) {
    found = layOut(version)
    layouts.set(key, found)
  }
  return found
}

/** @param {string} status */
export const statusBadge = (status) => h("span", { class: `status status-${status}` }, status)

/**
 * What could not be loaded, said where it would have been (in place of "Loading…"),
 * with the API's message, and on the notice line.
 * @param {Element} box @param {unknown} error
 */
export const showError = (box, error) => {
  if (isAbort(error)) return
  report(error)
  fill(box, h("p", { class: "load-error", role: "alert", "data-error": error instanceof ApiError ? error.error : "Error" }, `Could not load this: ${describe(error)}`))
}

/** A 404 from the API: the thing asked for is not there. @param {unknown} error */
export const isNotFound = (error) => error instanceof ApiError && error.status === 404

/**
 * The whole view says the thing is not there, with the API's words and a way on.
 * @param {HTMLElement} main @param {string} what e.g. `No instance x of order.` @param {unknown} error
 */
export const notFound = (main, what, error) =>
  fill(
    main,
    h(
      "div",
      { class: "not-found" },
      h("h1", {}, "Not found"),
      h("p", { class: "what" }, what),
      h("p", { class: "api-message" }, describe(error)),
      h("p", {}, h("a", { href: "#/" }, "See the machines"), " or search by id above.")
    )
  )

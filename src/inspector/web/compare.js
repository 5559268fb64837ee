// Two versions of a machine compared on its chart (#/machines/gate?version=2&compare=1):
// the shown version drawn with what the other had and it has not put back in, states and
// arrows it adds in green, the ones it removes in red and dashed, and on each removed state
// the running instances of the other version still standing in it (GET /machines/{type}/compare).
// The view draws the chart; this module makes the graph to lay out, marks the drawn SVG,
// and lists the changes beside it.

import { getJson, segment, withQuery } from "./api.js"
import { h } from "./dom.js"
import { statePaths } from "./views/machine.js"

/** @typedef {{ path: string, id: string, parent: string | null, kind: string }} StateChange */
/** @typedef {{ source: string, event: string, trigger: string, guard: string | null, targets: string[], sourceId: string, targetIds: string[] }} TransitionChange */
/** @typedef {{ type: string, from: number, to: number, states: { added: StateChange[], removed: StateChange[] }, transitions: { added: TransitionChange[], removed: TransitionChange[] }, stranded: Array<{ state: string, count: number, instances: string[] }> }} Comparison */
/** @typedef {"added" | "removed"} Change */

/**
 * `to`'s graph with `from`'s removed states (each under its parent, found by path) and
 * removed transitions put back in, and which state ids and transition indexes are changes.
 * @param {any} from the version compared with (its graph) @param {any} to the version shown
 * @param {Comparison} comparison what GET /machines/{type}/compare answered for them
 * @returns {{ graph: any, states: Map<string, Change>, transitions: Map<number, Change> }}
 */
export const comparedGraph = (from, to, comparison) => {
  /** @type {Map<string, string>} a state's id in the drawn graph, by path ("" the machine itself) */
  const idOfPath = new Map([...statePaths(to)].map(([id, path]) => [path, id]))
  idOfPath.set("", to.states.find((/** @type {any} */ state) => state.parent === null).id)
  for (const state of comparison.states.removed) idOfPath.set(state.path, state.id)
  const fromPaths = statePaths(from)
  /** @param {string} id an id in `from` */
  const drawnId = (id) => idOfPath.get(fromPaths.get(id) ?? "") ?? id
  const parentPath = (/** @type {string} */ path) => (path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "")

  const removedStates = comparison.states.removed.map((change) => {
    const state = from.states.find((/** @type {any} */ candidate) => candidate.id === change.id)
    return { ...state, parent: idOfPath.get(parentPath(change.path)), initial: state.initial.map(drawnId) }
  })
  /** @param {any} t @param {TransitionChange} change */
  const same = (t, change) => t.source === change.sourceId && t.event === change.event && JSON.stringify(t.targets) === JSON.stringify(change.targetIds)
  const removedTransitions = comparison.transitions.removed.flatMap((change) =>
    from.transitions.filter((/** @type {any} */ t) => same(t, change)).map((/** @type {any} */ t) => ({ ...t, source: drawnId(t.source), targets: t.targets.map(drawnId) }))
  )
  /** @type {Map<number, Change>} */
  const transitions = new Map()
  to.transitions.forEach((/** @type {any} */ t, /** @type {number} */ index) => {
    if (comparison.transitions.added.some((change) => same(t, change))) transitions.set(index, "added")
  })
  removedTransitions.forEach((_, index) => transitions.set(to.transitions.length + index, "removed"))
  return {
    graph: { ...to, version: `${to.version}-against-${from.version}`, states: [...to.states, ...removedStates], transitions: [...to.transitions, ...removedTransitions] },
    states: new Map([...comparison.states.added.map((change) => /** @type {const} */ ([change.id, "added"])), ...removedStates.map((state) => /** @type {const} */ ([state.id, "removed"]))]),
    transitions
  }
}

/**
 * Marks the drawn chart: each changed state and arrow (and its label) gets `change-added` or
 * `change-removed` and a `data-change`. Arrows are found by the chart's edge ids, `t<index>.<target>`.
 * @param {SVGSVGElement} svg @param {{ states: Map<string, Change>, transitions: Map<number, Change> }} changes
 */
export const markChanges = (svg, changes) => {
  /** @param {Element} element @param {Change} change */
  const mark = (element, change) => {
    element.classList.add(`change-${change}`)
    element.setAttribute("data-change", change)
  }
  for (const [id, change] of changes.states) for (const element of svg.querySelectorAll(`g.state[data-state="${CSS.escape(id)}"]`)) mark(element, change)
  for (const [index, change] of changes.transitions) for (const element of svg.querySelectorAll(`[data-edge^="t${index}."]`)) mark(element, change)
}

/**
 * The census's counts on the states of `to`, and on each removed state its stranded
 * instances (running on `from`).
 * @param {Map<string, { total: number, detail: string }>} counts the shown version's, by state id
 * @param {Comparison} comparison
 */
export const withStranded = (counts, comparison) => {
  const result = new Map(counts)
  for (const row of comparison.stranded) {
    const state = comparison.states.removed.find((change) => change.path === row.state)
    if (state !== undefined && row.count > 0) result.set(state.id, { total: row.count, detail: `${row.count} running on v${comparison.from}, in a state v${comparison.to} does not have` })
  }
  return result
}

/** @param {TransitionChange} t */
const transitionText = (t) => `${t.source === "" ? "(machine)" : t.source} —${t.event === "" ? "always" : t.event}→ ${t.targets.length === 0 ? "(stays)" : t.targets.join(", ")}`

/**
 * The changes as lists beside the chart: states added, states removed (each with how many
 * running instances of the older version stand in it, linking a few), transitions added and removed.
 * @param {string} type @param {Comparison} comparison
 */
export const comparisonPanel = (type, comparison) => {
  const { from, to, states, transitions, stranded } = comparison
  /** @param {string} name @param {string} title @param {Array<Node>} items */
  const list = (name, title, items) =>
    h("div", { class: `changes ${name}` }, h("h3", {}, title, " ", h("span", { class: "n" }, String(items.length))), items.length === 0 ? h("p", { class: "empty" }, "none") : h("ul", {}, items))
  const strandedIn = (/** @type {string} */ path) => stranded.find((row) => row.state === path) ?? { state: path, count: 0, instances: [] }
  // A removed state's inner states are removed too: count each instance once, in the outermost removed state it stands in.
  const stuck = stranded.filter((row) => !stranded.some((outer) => row.state.startsWith(`${outer.state}.`))).reduce((sum, row) => sum + row.count, 0)
  return h(
    "section",
    { class: "comparison", "data-from": from, "data-to": to },
    h("h2", {}, `v${to} compared with v${from}`, " ", h("small", { class: "stranded-total", "data-count": stuck }, `${stuck} running instance${stuck === 1 ? "" : "s"} of v${from} in states v${to} does not have`)),
    h(
      "div",
      { class: "changes-grid" },
      list("states-added", "States added", states.added.map((state) => h("li", { "data-path": state.path }, h("code", {}, state.path)))),
      list(
        "states-removed",
        "States removed",
        states.removed.map((state) => {
          const row = strandedIn(state.path)
          return h(
            "li",
            { "data-path": state.path, "data-stranded": row.count },
            h("code", {}, state.path),
            " ",
            h("span", { class: "stranded" }, `${row.count} running on v${from}`),
            row.instances.length === 0 ? null : " — ",
            row.instances.flatMap((id, index) => [index === 0 ? "" : ", ", h("a", { href: `#/instances/${segment(type)}/${segment(id)}` }, id)]),
            row.count > row.instances.length ? ", …" : null
          )
        })
      ),
      list("transitions-added", "Transitions added", transitions.added.map((t) => h("li", {}, h("code", {}, transitionText(t))))),
      list("transitions-removed", "Transitions removed", transitions.removed.map((t) => h("li", {}, h("code", {}, transitionText(t)))))
    )
  )
}

/**
 * What changed from `from` to `to`, with the stranded instances counted now.
 * @param {string} type @param {number} from @param {number} to @param {AbortSignal} [signal]
 * @returns {Promise<Comparison>}
 */
export const loadComparison = (type, from, to, signal) => getJson(withQuery(`/machines/${segment(type)}/compare`, { from, to }), signal === undefined ? {} : { signal })

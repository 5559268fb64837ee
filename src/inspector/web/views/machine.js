// One workflow type: its statechart with how many instances stand in each state, and
// those instances (all, or the ones in the state picked on the chart).

import { getJson, segment, withQuery } from "../api.js"
import { clock, fill, h, stateLabel } from "../dom.js"
import { report } from "../notice.js"
import { chartViewer } from "../chart-view.js"
import { activeStates, drawChart } from "../statechart.js"
import { every, layoutOf, machineOf, statusBadge, table } from "./shared.js"

/**
 * Instances per state node: an instance in `{a: "b"}` counts for `a` and for `a.b`.
 * @param {any} version a version's graph
 * @param {Array<{ machineVersion: number, status: string, state: unknown, count: number }>} rows
 */
export const countsByState = (version, rows) => {
  /** @type {Map<string, { total: number, byStatus: Record<string, number> }>} */
  const tally = new Map()
  for (const row of rows) {
    if (row.machineVersion !== version.version) continue
    for (const id of activeStates(version, row.state)) {
      const entry = tally.get(id) ?? { total: 0, byStatus: {} }
      entry.total += row.count
      entry.byStatus[row.status] = (entry.byStatus[row.status] ?? 0) + row.count
      tally.set(id, entry)
    }
  }
  return new Map(
    [...tally].map(([id, entry]) => [id, { total: entry.total, detail: Object.entries(entry.byStatus).map(([status, n]) => `${n} ${status}`).join(", ") }])
  )
}

/** @type {import("../app.js").View} */
export const machineView = (main, { type = "" }, query) => {
  const picked = query.get("state")
  const chartBox = h("div", { class: "chart-box" }, h("p", { class: "loading" }, "Laying out the machine…"))
  const list = h("div", { class: "instances" })
  const versionPicker = /** @type {HTMLSelectElement} */ (h("select", { "aria-label": "version" }))
  fill(
    main,
    h("h1", {}, type, " ", h("small", {}, "statechart")),
    h(
      "div",
      { class: "toolbar" },
      h("label", {}, "version ", versionPicker),
      picked === null ? null : h("span", { class: "filter" }, `instances in ${picked} · `, h("a", { href: `#/machines/${segment(type)}` }, "show all"))
    ),
    chartBox,
    h("h2", {}, picked === null ? "Instances" : `Instances in ${picked}`),
    list
  )
  const controller = new AbortController()
  const viewer = chartViewer({ signal: controller.signal })
  /** @type {any} */
  let machine
  /** @type {number | undefined} */
  let shown

  /** Clicking a state lists its instances; the list filters on a state of the machine's top level. @param {any} version @param {string} id */
  const pick = (version, id) => {
    let top = version.states.find((/** @type {any} */ state) => state.id === id)
    while (top !== undefined && top.parent !== null && top.parent !== version.machineId) {
      const parentId = top.parent
      top = version.states.find((/** @type {any} */ state) => state.id === parentId)
    }
    if (top !== undefined && top.parent !== null) location.hash = `#/machines/${segment(type)}?state=${segment(top.key)}`
  }

  /** What the chart shows, to redraw it only when that changed (a redraw loses focus and hover). */
  let drawn = ""

  /** The chart of the version shown, with its instances counted on it. @param {AbortSignal} signal */
  const drawCounts = async (signal) => {
    if (machine === undefined) return
    const version = machine.versions.find((/** @type {any} */ v) => v.version === shown) ?? machine.versions.at(-1)
    const [layout, census] = await Promise.all([layoutOf(type, version), getJson(`/machines/${segment(type)}/states`, { signal })])
    const key = JSON.stringify([version.version, census.items])
    if (key === drawn) return
    drawn = key
    const pickedId = picked === null ? null : ([...activeStates(version, picked)].at(-1) ?? null)
    if (viewer.element.parentNode !== chartBox) fill(chartBox, viewer.element)
    viewer.show(drawChart(layout, { counts: countsByState(version, census.items), selected: pickedId, onSelect: (id) => pick(version, id) }), layout)
  }

  /** @type {string | null} */
  let cursor = null
  /** @param {boolean} more */
  const loadInstances = async (more) => {
    const page = await getJson(withQuery("/workflows", { type, state: picked, limit: 50, cursor: more ? cursor : undefined }), { signal: controller.signal })
    cursor = page.nextCursor
    const rows = page.items.map((/** @type {any} */ item) => [
      h("a", { href: `#/instances/${segment(type)}/${segment(item.id)}` }, item.id),
      String(item.machineVersion),
      statusBadge(item.status),
      h("code", {}, stateLabel(item.state)),
      clock(item.updatedAt)
    ])
    const existing = list.querySelector("tbody")
    if (more && existing !== null) {
      for (const row of rows) existing.appendChild(h("tr", {}, row.map((/** @type {any} */ cell) => h("td", {}, cell))))
    } else {
      fill(list, table(["instance", "version", "status", "state", "updated"], rows, { class: "instance-list", empty: picked === null ? "No instances yet." : `No instance is in ${picked}.` }))
    }
    list.querySelector(".more")?.remove()
    if (cursor !== null) list.appendChild(h("button", { class: "more", type: "button", onclick: () => loadInstances(true).catch(report) }, "More"))
  }

  let stopCounts = () => {}
  machineOf(type, controller.signal)
    .then((found) => {
      machine = found
      shown = found.versions.at(-1).version
      fill(versionPicker, ...found.versions.map((/** @type {any} */ v) => h("option", { value: v.version, selected: v.version === shown }, `v${v.version}`)))
      versionPicker.addEventListener("change", () => {
        shown = Number(versionPicker.value)
        drawCounts(controller.signal).catch(report)
      })
      if (!controller.signal.aborted) stopCounts = every(drawCounts, 3000, report)
    })
    .catch(report)
  loadInstances(false).catch(report)
  return () => {
    controller.abort()
    stopCounts()
  }
}

// One workflow type: its statechart with how many instances stand in each state, and its
// instances, filtered (status, state at any depth, how long since they last moved, how
// their id begins), paged by the API's cursor, and kept live by polling. The filters live
// in the address (#/machines/order?status=running&state=payment.authorizing&idle=5&id=ord-),
// so a filtered list can be linked to.

import { getJson, segment, withQuery } from "../api.js"
import { clock, fill, h, stateLabel } from "../dom.js"
import { report } from "../notice.js"
import { chartViewer } from "../chart-view.js"
import { comparedGraph, comparisonPanel, loadComparison, markChanges, withStranded } from "../compare.js"
import { heatControl, loadHeat, showHeat, showHeatNote } from "../heat.js"
import { activeStates, drawChart, statePaths } from "../statechart.js"
import { every, isNotFound, layoutOf, machineOf, notFound, showError, statusBadge, table } from "./shared.js"

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

const statuses = ["running", "done", "failed", "cancelled"]

/** @type {import("../app.js").View} */
export const machineView = (main, { type = "" }, query) => {
  /** The list's filters, as the address holds them. */
  const filters = {
    status: query.get("status") ?? "",
    state: query.get("state") ?? "",
    idle: query.get("idle") ?? "",
    id: query.get("id") ?? "",
    limit: Math.max(1, Math.min(500, Number(query.get("limit") ?? 50) || 50))
  }
  const chartBox = h("div", { class: "chart-box" }, h("p", { class: "loading" }, "Laying out the machine…"))
  const list = h("div", { class: "instances" }, h("p", { class: "loading" }, "Loading…"))
  const summary = h("span", { class: "list-summary" })
  const versionPicker = /** @type {HTMLSelectElement} */ (h("select", { name: "version", "aria-label": "version" }))
  // The version shown and the one it is compared with live in the address too (?version=2&compare=1).
  const comparePicker = /** @type {HTMLSelectElement} */ (h("select", { name: "compare", "aria-label": "compare with" }))
  const comparisonBox = h("div", { class: "comparison-box" })
  const compareLabel = h("label", { hidden: true }, "compare with ", comparePicker)
  /** @type {number | undefined} */
  let compared = Number(query.get("compare")) || undefined
  const heat = heatControl(query.get("heat"))
  const statusPicker = /** @type {HTMLSelectElement} */ (
    h("select", { name: "status", "aria-label": "status" }, h("option", { value: "" }, "any"), statuses.map((status) => h("option", { value: status, selected: status === filters.status }, status)))
  )
  const statePicker = /** @type {HTMLSelectElement} */ (h("select", { name: "state", "aria-label": "state" }, h("option", { value: "" }, "any")))
  if (filters.state !== "") statePicker.appendChild(h("option", { value: filters.state, selected: true }, filters.state))
  const idleInput = /** @type {HTMLInputElement} */ (h("input", { type: "number", name: "idle", min: 0, step: "any", value: filters.idle, "aria-label": "idle for more than minutes", placeholder: "0" }))
  const idInput = /** @type {HTMLInputElement} */ (h("input", { type: "search", name: "id", value: filters.id, "aria-label": "id begins with", placeholder: "id begins with…", spellcheck: false }))
  fill(
    main,
    h("h1", {}, type, " ", h("small", {}, "statechart")),
    h("div", { class: "toolbar" }, h("label", {}, "version ", versionPicker), compareLabel, heat.element),
    chartBox,
    comparisonBox,
    h("h2", {}, "Instances ", summary),
    h(
      "form",
      { class: "filters toolbar", onsubmit: (/** @type {Event} */ event) => event.preventDefault() },
      h("label", {}, "status ", statusPicker),
      h("label", {}, "state ", statePicker),
      h("label", {}, "in it for more than ", idleInput, " min"),
      h("label", {}, "id ", idInput),
      h("a", { href: `#/machines/${segment(type)}`, class: "clear-filters" }, "clear")
    ),
    list
  )
  const controller = new AbortController()
  const viewer = chartViewer({ signal: controller.signal })
  /** @type {any} */
  let machine
  /** @type {number | undefined} */
  let shown = Number(query.get("version")) || undefined

  /** The version shown on the chart. */
  const versionShown = () => machine.versions.find((/** @type {any} */ v) => v.version === shown) ?? machine.versions.at(-1)

  /** The filters into the address, without a reload (replaceState fires no hashchange). */
  const remember = () => {
    const newest = machine?.versions.at(-1).version
    const hash = withQuery(`#/machines/${segment(type)}`, {
      version: shown === newest ? undefined : shown,
      compare: compared,
      status: filters.status,
      state: filters.state,
      idle: filters.idle,
      id: filters.id,
      limit: filters.limit === 50 ? undefined : filters.limit,
      heat: heat.picker.value === "off" ? undefined : heat.picker.value
    })
    history.replaceState(history.state, "", hash)
  }

  /** What the chart shows, to redraw it only when that changed (a redraw loses focus and hover). */
  let drawn = ""
  /** @type {SVGSVGElement | undefined} the chart drawn last, which the heat marks */
  let drawnChart

  /** The chart of the version shown, with its instances counted on it, and the state filtered on picked. @param {AbortSignal} signal */
  const drawCounts = async (signal) => {
    if (machine === undefined) return
    const version = versionShown()
    const against = machine.versions.find((/** @type {any} */ v) => v.version === compared && v.version !== version.version)
    const comparison = against === undefined ? undefined : await loadComparison(type, against.version, version.version, signal)
    const changes = comparison === undefined ? undefined : comparedGraph(against, version, comparison)
    const graph = changes?.graph ?? version
    const [layout, census, counted] = await Promise.all([layoutOf(type, graph), getJson(`/machines/${segment(type)}/states`, { signal }), loadHeat(type, heat.picker.value, signal)])
    const key = JSON.stringify([version.version, census.items, filters.state, comparison])
    showHeatNote(heat.note, counted)
    // The counts change more often than the chart: mark the drawn one again without laying it out.
    if (key === drawn) {
      if (drawnChart !== undefined) showHeat(drawnChart, layout, counted)
      return
    }
    drawn = key
    const paths = statePaths(graph)
    const counts = countsByState({ ...graph, version: version.version }, census.items)
    const pickedId = [...paths].find(([, path]) => path === filters.state)?.[0] ?? null
    if (viewer.element.parentNode !== chartBox) fill(chartBox, viewer.element)
    drawnChart = drawChart(layout, {
      counts: comparison === undefined ? counts : withStranded(counts, comparison),
      selected: pickedId,
      onSelect: (id) => {
        const path = paths.get(id)
        if (path !== undefined) setFilter("state", path)
      }
    })
    if (changes !== undefined) markChanges(drawnChart, changes)
    showHeat(drawnChart, layout, counted)
    viewer.show(drawnChart, layout)
    fill(comparisonBox, comparison === undefined ? null : comparisonPanel(type, comparison))
  }

  // -- the list ------------------------------------------------------------------------

  /** How many pages the user has asked for ("More"); each refresh reads them all again. */
  let pages = 1
  let drawnList = ""
  /** @type {() => void} */
  let stopList = () => {}

  /** The list's query, as sent (the idle time as the time it stands for now). */
  const listQuery = () => ({
    type,
    status: filters.status,
    state: filters.state,
    updatedBefore: filters.idle === "" || !(Number(filters.idle) >= 0) ? undefined : new Date(Date.now() - Number(filters.idle) * 60_000).toISOString(),
    idPrefix: filters.id,
    limit: filters.limit
  })

  /** @param {AbortSignal} signal */
  const loadList = async (signal) => {
    const query = listQuery()
    /** @type {any[]} */
    const items = []
    /** @type {string | null} */
    let cursor = null
    for (let page = 0; page < pages; page++) {
      const answer = await getJson(withQuery("/workflows", { ...query, cursor: cursor ?? undefined }), { signal })
      items.push(...answer.items)
      cursor = answer.nextCursor
      if (cursor === null) break
    }
    if (signal.aborted) return
    list.dataset.query = withQuery("/workflows", query)
    const key = JSON.stringify([items.map((item) => [item.id, item.status, item.state, item.updatedAt, item.machineVersion]), cursor === null])
    summary.textContent = `${items.length} shown${cursor === null ? "" : ", more to load"}`
    if (key === drawnList) return
    drawnList = key
    const filtered = filters.status !== "" || filters.state !== "" || filters.idle !== "" || filters.id !== ""
    fill(
      list,
      table(
        ["instance", "version", "status", "state", "last moved"],
        items.map((item) => [
          h("a", { href: `#/instances/${segment(type)}/${segment(item.id)}` }, item.id),
          String(item.machineVersion),
          statusBadge(item.status),
          h("code", {}, stateLabel(item.state)),
          clock(item.updatedAt)
        ]),
        { class: "instance-list", empty: filtered ? "No instance matches these filters." : "No instances yet.", rowAttributes: (index) => ({ "data-id": items[index].id }) }
      ),
      cursor === null
        ? null
        : h(
            "button",
            {
              class: "more",
              type: "button",
              onclick: () => {
                pages += 1
                restartList()
              }
            },
            "More"
          )
    )
  }

  const restartList = () => {
    stopList()
    if (controller.signal.aborted) return
    stopList = every(loadList, 3000, (error) => {
      drawnList = ""
      summary.textContent = ""
      showError(list, error)
    })
  }

  /** @param {"status" | "state" | "idle" | "id"} name @param {string} value */
  const setFilter = (name, value) => {
    if (filters[name] === value) return
    filters[name] = value
    if (name === "state") {
      statePicker.value = value
      drawCounts(controller.signal).catch(report)
    }
    pages = 1
    remember()
    restartList()
  }
  heat.picker.addEventListener("change", () => {
    remember()
    drawCounts(controller.signal).catch(report)
  })
  statusPicker.addEventListener("change", () => setFilter("status", statusPicker.value))
  statePicker.addEventListener("change", () => setFilter("state", statePicker.value))
  /** Each text filter applies a moment after the typing stops (its own wait: typing in one never drops the other). */
  const typing = new Map()
  for (const [input, name] of /** @type {const} */ ([[idleInput, "idle"], [idInput, "id"]])) {
    input.addEventListener("input", () => {
      clearTimeout(typing.get(name))
      typing.set(name, setTimeout(() => setFilter(name, input.value.trim()), 250))
    })
  }

  let stopCounts = () => {}
  machineOf(type, controller.signal)
    .then((found) => {
      machine = found
      if (!found.versions.some((/** @type {any} */ v) => v.version === shown)) shown = found.versions.at(-1).version
      fill(versionPicker, ...found.versions.map((/** @type {any} */ v) => h("option", { value: v.version, selected: v.version === shown }, `v${v.version}`)))
      const pickCompared = () =>
        fill(
          comparePicker,
          h("option", { value: "" }, "—"),
          ...found.versions.filter((/** @type {any} */ v) => v.version !== shown).map((/** @type {any} */ v) => h("option", { value: v.version, selected: v.version === compared }, `v${v.version}`))
        )
      pickCompared()
      // One version has nothing to be compared with.
      compareLabel.hidden = found.versions.length < 2
      // Every state of every version, the newest's first: a state an older version had may still hold instances.
      const paths = [...new Set([...found.versions].reverse().flatMap((/** @type {any} */ v) => [...statePaths(v).values()]))]
      if (filters.state !== "" && !paths.includes(filters.state)) paths.push(filters.state)
      fill(statePicker, h("option", { value: "" }, "any"), ...paths.map((path) => h("option", { value: path, selected: path === filters.state }, path)))
      versionPicker.addEventListener("change", () => {
        shown = Number(versionPicker.value)
        if (compared === shown) compared = undefined
        pickCompared()
        remember()
        drawCounts(controller.signal).catch(report)
      })
      comparePicker.addEventListener("change", () => {
        compared = Number(comparePicker.value) || undefined
        remember()
        drawCounts(controller.signal).catch(report)
      })
      if (!controller.signal.aborted) stopCounts = every(drawCounts, 3000, (error) => {
          drawn = ""
          showError(chartBox, error)
        })
    })
    .catch((error) => {
      if (isNotFound(error)) {
        stop()
        notFound(main, `No workflow type ${type} is served here.`, error)
      } else showError(chartBox, error)
    })
  restartList()
  const stop = () => {
    controller.abort()
    stopCounts()
    stopList()
    for (const timer of typing.values()) clearTimeout(timer)
  }
  return stop
}

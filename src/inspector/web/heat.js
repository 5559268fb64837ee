// The transition heatmap on a machine's chart: "Heat: off / hour / day / all" picks a window,
// GET /machines/{type}/heat counts each transition taken in it, and every arrow of the drawn
// chart is thickened and coloured by its count, with the count in its label's tooltip. It marks
// the SVG drawChart made (data-heat on the arrow and its label), so that the chart is not laid
// out again when only the counts change. Targetless transitions have no arrow: they are not drawn.

import { getJson, segment, withQuery } from "./api.js"
import { h, s } from "./dom.js"

/** @typedef {"off" | "hour" | "day" | "all"} HeatWindow */
/** @typedef {{ source: string, event: string, target: string | null, count: number }} HeatRow */
/** @typedef {{ window: string, transitions: HeatRow[], unrecorded: number }} Heat */

/** @type {Record<HeatWindow, string>} */
const windowWords = { off: "off", hour: "in the last hour", day: "in the last day", all: "in the whole log" }

/** The widest arrow, for the most taken transition (the narrowest is the chart's own 1.2). */
const widest = 7

/** @param {string} source @param {string} event @param {string | null} target */
const keyOf = (source, event, target) => JSON.stringify([source, event, target])

/**
 * The control: a picker of the window, and a line saying how many inputs are not counted.
 * @param {string | null} initial the window to start with (from the address)
 */
export const heatControl = (initial) => {
  const picker = /** @type {HTMLSelectElement} */ (
    h("select", { name: "heat", "aria-label": "heat" }, ...Object.keys(windowWords).map((window) => h("option", { value: window, selected: window === (initial ?? "off") }, window)))
  )
  const note = h("span", { class: "heat-note" })
  return { element: h("label", { class: "heat-control" }, "Heat ", picker, note), picker, note }
}

/**
 * The counts for a window, or null when the heat is off.
 * @param {string} type @param {string} window @param {AbortSignal} signal
 * @returns {Promise<Heat | null>}
 */
export const loadHeat = (type, window, signal) =>
  window === "off" ? Promise.resolve(null) : getJson(withQuery(`/machines/${segment(type)}/heat`, { window }), { signal })

/**
 * Marks each arrow of a drawn chart with its count (or clears the marks when `heat` is null):
 * `data-heat` on the arrow's group and on its label, a width and colour from the count
 * against the most taken one, and "taken N times …" in the label's tooltip.
 * @param {SVGSVGElement} svg what drawChart returned
 * @param {import("./statechart.js").Placed} layout the layout it was drawn from
 * @param {Heat | null} heat
 */
export const showHeat = (svg, layout, heat) => {
  /** @type {Map<string, number>} */
  const counts = new Map((heat?.transitions ?? []).map((row) => [keyOf(row.source, row.event, row.target), row.count]))
  const most = Math.max(1, ...counts.values())
  const words = heat === null ? "" : windowWords[/** @type {HeatWindow} */ (heat.window)] ?? heat.window
  svg.classList.toggle("heated", heat !== null)
  for (const edge of layout.edges) {
    if (edge.transition === null) continue
    const arrow = svg.querySelector(`g.transition[data-edge="${edge.id}"]`)
    const label = svg.querySelector(`g.edge-label[data-edge="${edge.id}"]`)
    const path = /** @type {SVGPathElement | null} */ (arrow?.querySelector("path") ?? null)
    const title = label?.querySelector("title") ?? null
    if (title !== null) {
      title.dataset.plain ??= title.textContent ?? ""
      title.textContent = title.dataset.plain
    }
    if (heat === null) {
      arrow?.removeAttribute("data-heat")
      label?.removeAttribute("data-heat")
      path?.style.removeProperty("stroke-width")
      path?.style.removeProperty("stroke")
      continue
    }
    const count = counts.get(keyOf(edge.transition.source, edge.transition.event, edge.target)) ?? 0
    arrow?.setAttribute("data-heat", String(count))
    label?.setAttribute("data-heat", String(count))
    if (path !== null) {
      const share = count / most
      path.style.strokeWidth = String(count === 0 ? 1 : 1.5 + share * (widest - 1.5))
      // Grey when never taken; from amber to red as the share grows.
      path.style.stroke = count === 0 ? "#c3c8d1" : `hsl(${Math.round(40 - 40 * share)}, 90%, ${Math.round(50 - 8 * share)}%)`
    }
    if (title !== null) title.textContent = `${title.dataset.plain} — taken ${count} time${count === 1 ? "" : "s"} ${words}`
    else if (label !== null) label.prepend(s("title", {}, `taken ${count} time${count === 1 ? "" : "s"} ${words}`))
  }
}

/**
 * The note beside the control: how many inputs in the window were recorded before their
 * transitions were (they are in no count).
 * @param {HTMLElement} note @param {Heat | null} heat
 */
export const showHeatNote = (note, heat) => {
  note.textContent = heat === null || heat.unrecorded === 0 ? "" : ` ${heat.unrecorded} older input${heat.unrecorded === 1 ? "" : "s"} not counted (recorded without their transitions)`
}

// A statechart on the page: fitted to the space it has on load, zoomed with the wheel,
// the + / − buttons or the keys + − 0, panned by dragging (or the arrow keys), "Fit"
// to see it whole again. Everything goes through the SVG's view box; the view stays
// as the user left it when the chart is drawn again (new counts, another step).

import { h } from "./dom.js"

/** @typedef {{ x: number, y: number, width: number, height: number }} Box */

const margin = 12
/** A small chart is not blown up past this. */
const largestFit = 1.4
const largestZoom = 4
const zoomStep = 1.25

/**
 * @param {{ smallestScale?: number, label?: string, signal?: AbortSignal }} [options] smallestScale: below it
 *   the chart is not shrunk to fit (its text would no longer read): it is shown at that
 *   scale around what `show` names as its focus, and the rest is a drag away; signal:
 *   the view's end, which stops the viewer following the window's size.
 */
export const chartViewer = (options = {}) => {
  const smallestScale = options.smallestScale ?? 0
  const stage = h("div", { class: "chart-stage", tabindex: 0, "aria-label": options.label ?? "statechart: drag to pan, wheel or + and − to zoom, 0 to fit" })
  const zoomIn = h("button", { type: "button", class: "zoom-in", title: "zoom in (+)", "aria-label": "zoom in" }, "+")
  const zoomOut = h("button", { type: "button", class: "zoom-out", title: "zoom out (−)", "aria-label": "zoom out" }, "−")
  const fitButton = h("button", { type: "button", class: "fit", title: "fit the whole chart (0)" }, "Fit")
  const level = h("span", { class: "zoom-level", "aria-live": "polite" })
  const element = h("div", { class: "chart-view" }, h("div", { class: "chart-controls" }, level, zoomIn, zoomOut, fitButton), stage)

  /** @type {SVGSVGElement | null} */
  let svg = null
  /** @type {Box} the chart's extent, in its own coordinates */
  let content = { x: 0, y: 0, width: 1, height: 1 }
  /** @type {Box[]} what to keep in view when the chart cannot be fitted whole */
  let focus = []
  /** @type {Box | null} */
  let view = null
  /** Until the user zooms or pans, the chart follows the space it has (fitted anew on resize). */
  let fitted = true

  /**
   * The stage reaches down to the window's bottom edge (never less than 280px), or is
   * as tall as the chart needs at its largest fit when that is less.
   */
  const sizeStage = () => {
    const top = stage.getBoundingClientRect().top + window.scrollY
    const room = Math.max(280, Math.floor(window.innerHeight - top - 16))
    const width = Math.max(1, stage.clientWidth)
    const needed = Math.ceil(content.height * Math.min(largestFit, (width - 2 * margin) / content.width) + 2 * margin)
    stage.style.height = `${Math.max(200, Math.min(room, needed))}px`
  }
  window.addEventListener(
    "resize",
    () => {
      if (svg !== null && stage.isConnected) sizeStage()
    },
    options.signal === undefined ? {} : { signal: options.signal }
  )

  const size = () => ({ width: Math.max(1, stage.clientWidth), height: Math.max(1, stage.clientHeight) })
  /** Screen pixels per chart unit. */
  const scale = () => (view === null ? 1 : size().width / view.width)

  const apply = () => {
    if (svg === null || view === null) return
    svg.setAttribute("viewBox", `${round(view.x)} ${round(view.y)} ${round(view.width)} ${round(view.height)}`)
    stage.dataset.scale = scale().toFixed(3)
    level.textContent = `${Math.round(scale() * 100)}%`
  }

  /** Sets the scale, keeping the chart point under `at` (stage pixels) where it is. @param {number} next @param {{ x: number, y: number }} [at] */
  const zoomTo = (next, at) => {
    if (view === null) return
    const { width, height } = size()
    const floor = Math.min(smallestScale > 0 ? smallestScale : Infinity, fitScale()) / 2
    const target = Math.max(floor, Math.min(largestZoom, next))
    const point = at ?? { x: width / 2, y: height / 2 }
    const chartX = view.x + point.x / scale()
    const chartY = view.y + point.y / scale()
    view = { x: chartX - point.x / target, y: chartY - point.y / target, width: width / target, height: height / target }
    fitted = false
    apply()
  }

  /** @param {number} dx @param {number} dy stage pixels */
  const panBy = (dx, dy) => {
    if (view === null) return
    const k = scale()
    view = { ...view, x: view.x - dx / k, y: view.y - dy / k }
    fitted = false
    apply()
  }

  const fitScale = () => {
    const { width, height } = size()
    return Math.min(largestFit, (width - 2 * margin) / content.width, (height - 2 * margin) / content.height)
  }

  /** The whole chart, centred; or, where that would shrink its text too far, the focus at the smallest readable scale. */
  const fit = () => {
    const { width, height } = size()
    let k = fitScale()
    let centre = { x: content.x + content.width / 2, y: content.y + content.height / 2 }
    if (k < smallestScale) {
      k = smallestScale
      const around = focus.length > 0 ? bounds(focus) : { x: content.x, y: content.y, width: width / k - 2 * margin, height: height / k - 2 * margin }
      centre = { x: around.x + around.width / 2, y: around.y + around.height / 2 }
      // Keep the chart's own edge in view rather than empty space beyond it.
      centre.x = clamp(centre.x, content.x + width / k / 2 - margin / k, content.x + content.width - width / k / 2 + margin / k)
      centre.y = clamp(centre.y, content.y + height / k / 2 - margin / k, content.y + content.height - height / k / 2 + margin / k)
    }
    view = { x: centre.x - width / k / 2, y: centre.y - height / k / 2, width: width / k, height: height / k }
    fitted = true
    apply()
  }

  zoomIn.addEventListener("click", () => zoomTo(scale() * zoomStep))
  zoomOut.addEventListener("click", () => zoomTo(scale() / zoomStep))
  fitButton.addEventListener("click", () => fit())

  stage.addEventListener(
    "wheel",
    (event) => {
      if (view === null) return
      event.preventDefault()
      const rect = stage.getBoundingClientRect()
      const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY
      zoomTo(scale() * Math.exp(-delta * 0.0015), { x: event.clientX - rect.left, y: event.clientY - rect.top })
    },
    { passive: false }
  )

  stage.addEventListener("keydown", (event) => {
    const step = 60
    const keys = /** @type {Record<string, () => void>} */ ({
      "+": () => zoomTo(scale() * zoomStep),
      "=": () => zoomTo(scale() * zoomStep),
      "-": () => zoomTo(scale() / zoomStep),
      "_": () => zoomTo(scale() / zoomStep),
      "0": () => fit(),
      ArrowLeft: () => panBy(step, 0),
      ArrowRight: () => panBy(-step, 0),
      ArrowUp: () => panBy(0, step),
      ArrowDown: () => panBy(0, -step)
    })
    const act = keys[event.key]
    if (act === undefined || event.ctrlKey || event.metaKey || event.altKey) return
    event.preventDefault()
    event.stopPropagation()
    act()
  })

  // Dragging pans; a press that does not move is a click (on a state, say).
  /** @type {{ id: number, x: number, y: number, moved: boolean } | null} */
  let drag = null
  stage.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return
    drag = { id: event.pointerId, x: event.clientX, y: event.clientY, moved: false }
  })
  stage.addEventListener("pointermove", (event) => {
    if (drag === null || drag.id !== event.pointerId) return
    const dx = event.clientX - drag.x
    const dy = event.clientY - drag.y
    if (!drag.moved && Math.hypot(dx, dy) < 4) return
    if (!drag.moved) {
      drag.moved = true
      stage.setPointerCapture(event.pointerId)
      stage.classList.add("panning")
    }
    drag.x = event.clientX
    drag.y = event.clientY
    panBy(dx, dy)
  })
  const release = (/** @type {PointerEvent} */ event) => {
    if (drag === null || drag.id !== event.pointerId) return
    const moved = drag.moved
    drag = null
    stage.classList.remove("panning")
    if (moved) {
      // The click that ends a drag is not a click on what lies under it.
      const swallow = (/** @type {Event} */ click) => click.stopPropagation()
      stage.addEventListener("click", swallow, { capture: true, once: true })
      setTimeout(() => stage.removeEventListener("click", swallow, { capture: true }), 0)
    }
  }
  stage.addEventListener("pointerup", release)
  stage.addEventListener("pointercancel", release)

  const resized = new ResizeObserver(() => {
    if (svg === null) return
    if (fitted) fit()
    else if (view !== null) {
      // Keep the scale and the top left corner; show more or less of the chart.
      const k = scale()
      const { width, height } = size()
      view = { ...view, width: width / k, height: height / k }
      apply()
    }
  })
  resized.observe(stage)
  options.signal?.addEventListener("abort", () => resized.disconnect())

  return {
    element,
    /**
     * Shows a chart drawn by `drawChart`: the first one fitted, later ones in the view the user left.
     * @param {SVGSVGElement} next
     * @param {{ width: number, height: number }} extent the layout's size
     * @param {Box[]} [keep] what to keep in view when the chart cannot be fitted whole (the lit states)
     */
    show: (next, extent, keep = []) => {
      const first = svg === null
      content = { x: 0, y: 0, width: Math.max(1, extent.width), height: Math.max(1, extent.height) }
      focus = keep
      next.setAttribute("preserveAspectRatio", "xMidYMid meet")
      if (svg === null) stage.replaceChildren(next)
      else svg.replaceWith(next)
      svg = next
      if (first) sizeStage()
      if (first || fitted) fit()
      else apply()
    },
    fit,
    /** @param {number} factor */
    zoom: (factor) => zoomTo(scale() * factor),
    /** The view box now (chart units), and the scale on screen. */
    view: () => ({ ...(view ?? content), scale: scale() })
  }
}

/** @param {number} value */
const round = (value) => Math.round(value * 100) / 100

/** @param {number} value @param {number} low @param {number} high */
const clamp = (value, low, high) => (low > high ? (low + high) / 2 : Math.max(low, Math.min(high, value)))

/** @param {Box[]} boxes */
const bounds = (boxes) => {
  const left = Math.min(...boxes.map((box) => box.x))
  const top = Math.min(...boxes.map((box) => box.y))
  const right = Math.max(...boxes.map((box) => box.x + box.width))
  const bottom = Math.max(...boxes.map((box) => box.y + box.height))
  return { x: left, y: top, width: right - left, height: bottom - top }
}

// A machine's graph (GET /machines/{type}) drawn as a statechart: ELK lays the states out
// (compound states hold their children, each transition's label travels with its edge and
// is placed on it), this module turns its answer into SVG. `toElk` and `placed` are plain
// functions over data, so they run in Node as well.

import { s } from "./dom.js"

/** The chart's one font (style.css says the same), so what is measured here is what is drawn. */
export const chartFont = 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace'
const nameSize = 12
const lineSize = 11
const labelSize = 11
const lineHeight = 15
/** A state's name sits in a band this tall; its invokes, actions-only transitions and tags below it. */
const titleHeight = 26
const labelPadX = 5
const labelPadY = 2
const historySize = 28
const initialMark = "#initial"
/** A label's guard goes on a line of its own once the label is longer than this. */
const oneLineLabel = 26

/** @typedef {{ id: string, key: string, parent: string | null, kind: string, initial: string[], history: string | null, tags: string[], description: string | null, invokes: Array<{ id: string, src: string }> }} StateNode */
/** @typedef {{ source: string, event: string, trigger: string, guard: string | null, delay: string | number | null, delayMs: number | null, targets: string[], reenter: boolean }} Transition */
/** @typedef {{ machineId: string, states: StateNode[], transitions: Transition[] }} MachineGraph */
/** @typedef {{ x: number, y: number, width: number, height: number }} Box */
/** @typedef {Box & { id: string, key: string, kind: string, depth: number, lines: string[], compound: boolean, initialMark: boolean, region: boolean }} PlacedNode */
/** @typedef {{ id: string, source: string, target: string, label: string, labelLines: string[], points: Array<{ x: number, y: number }>, labelBox: Box | null, transition: Transition | null }} PlacedEdge */
/** @typedef {{ x1: number, y1: number, x2: number, y2: number, parallel: string }} Divider */
/** @typedef {{ width: number, height: number, nodes: PlacedNode[], edges: PlacedEdge[], dividers: Divider[] }} Placed */

/** @type {CanvasRenderingContext2D | null | undefined} */
let canvas

/**
 * How wide a text is drawn in the chart's font: measured by the browser's canvas, or in
 * Node (no canvas) as a monospace font's 0.6em a character.
 * @param {string} text @param {number} size @param {number} [weight]
 */
export const textWidth = (text, size, weight = 400) => {
  if (canvas === undefined) canvas = typeof document === "undefined" ? null : document.createElement("canvas").getContext("2d")
  if (canvas === null) return text.length * size * 0.6
  canvas.font = `${weight} ${size}px ${chartFont}`
  return canvas.measureText(text).width
}

/** @param {number} ms */
const duration = (ms) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`

/** The trigger of an arrow: the event, `after 20s`, `done: charge`, `error: charge`, `always`. @param {Transition} t */
const triggerText = (t) => {
  const actor = (/** @type {string} */ prefix) => t.event.slice(prefix.length)
  return t.trigger === "after"
    ? `after ${t.delayMs !== null ? duration(t.delayMs) : String(t.delay)}`
    : t.trigger === "always"
      ? "always"
      : t.trigger === "done"
        ? t.event.startsWith("xstate.done.actor.") ? `done: ${actor("xstate.done.actor.")}` : "done"
        : t.trigger === "error"
          ? `error: ${actor("xstate.error.actor.")}`
          : t.event
}

/** What an arrow says: its trigger, and its guard. @param {Transition} t */
export const transitionLabel = (t) => (t.guard === null ? triggerText(t) : `${triggerText(t)} [${t.guard}]`)

/** The label as drawn: one line, or the trigger above its guard when both would be long. @param {Transition} t */
export const labelLines = (t) => {
  const whole = transitionLabel(t)
  return t.guard === null || whole.length <= oneLineLabel ? [whole] : [triggerText(t), `[${t.guard}]`]
}

/**
 * What each state shows: its name ("H" / "H*" for history), then its invokes, its
 * transitions without a target (actions only) and its tags, a line each.
 * @param {MachineGraph} graph
 * @returns {Map<string, { title: string, lines: string[] }>}
 */
const stateTexts = (graph) => {
  /** @type {Map<string, string[]>} */
  const internal = new Map()
  for (const t of graph.transitions) {
    if (t.targets.length === 0) internal.set(t.source, [...(internal.get(t.source) ?? []), `on ${transitionLabel(t)}`])
  }
  return new Map(
    graph.states.map((state) => [
      state.id,
      {
        title: state.kind === "history" ? (state.history === "deep" ? "H*" : "H") : state.key,
        lines: [
          ...state.invokes.map((invoke) => `invoke ${invoke.src}`),
          ...(internal.get(state.id) ?? []),
          ...(state.tags.length > 0 ? [state.tags.map((tag) => `#${tag}`).join(" ")] : [])
        ]
      }
    ])
  )
}

/** @param {string} title @param {string[]} lines */
const textBlockWidth = (title, lines) => Math.max(textWidth(title, nameSize, 700), ...lines.map((line) => textWidth(line, lineSize)))

/** ELK's options for the whole chart (and repeated on each compound state, which lays out its children with them). */
export const layoutOptions = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.edgeLabels.placement": "CENTER",
  "elk.layered.cycleBreaking.strategy": "DEPTH_FIRST",
  "elk.layered.edgeLabels.centerLabelPlacementStrategy": "TAIL_LAYER",
  "elk.layered.spacing.nodeNodeBetweenLayers": "22",
  "elk.layered.spacing.edgeNodeBetweenLayers": "8",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "8",
  "elk.spacing.nodeNode": "18",
  "elk.spacing.edgeNode": "12",
  "elk.spacing.edgeEdge": "8",
  "elk.spacing.edgeLabel": "3",
  "elk.spacing.labelNode": "6"
}

/**
 * The ELK graph for a machine: one node per state (the machine itself the outermost),
 * a small mark pointing at each compound state's initial child, an edge per transition
 * target carrying its label, measured, to be placed on it. Transitions without a target
 * (actions only) are listed inside their state.
 * @param {MachineGraph} graph
 */
export const toElk = (graph) => {
  /** @type {Map<string, StateNode[]>} */
  const children = new Map()
  for (const state of graph.states) {
    if (state.parent === null) continue
    children.set(state.parent, [...(children.get(state.parent) ?? []), state])
  }
  const texts = stateTexts(graph)
  /** @type {any[]} */
  const edges = []
  /** @param {StateNode} state @returns {any} */
  const node = (state) => {
    const { title, lines } = texts.get(state.id) ?? { title: state.key, lines: [] }
    const inner = children.get(state.id) ?? []
    if (state.kind === "history") return { id: state.id, width: historySize, height: historySize }
    const textWidthOf = textBlockWidth(title, lines)
    if (inner.length === 0) {
      return { id: state.id, width: Math.max(Math.ceil(textWidthOf) + 22, 56), height: titleHeight + lines.length * lineHeight + (lines.length > 0 ? 4 : 0) }
    }
    // The initial dot comes first in its state: the flow starts there.
    const marks = state.initial.length > 0 ? [{ id: state.id + initialMark, width: 10, height: 10, layoutOptions: { "elk.layered.layering.layerConstraint": "FIRST" } }] : []
    for (const target of state.initial) edges.push({ id: `${state.id}${initialMark}>${target}`, sources: [state.id + initialMark], targets: [target] })
    return {
      id: state.id,
      layoutOptions: {
        ...layoutOptions,
        "elk.padding": `[top=${titleHeight + 4 + lines.length * lineHeight},left=14,bottom=14,right=14]`,
        "elk.nodeSize.minimum": `(${Math.ceil(textWidthOf) + 28}, 40)`,
        "elk.nodeSize.constraints": "MINIMUM_SIZE"
      },
      children: [...marks, ...inner.map(node)]
    }
  }
  const root = graph.states.find((state) => state.parent === null)
  if (root === undefined) throw new Error("the machine has no root state")
  const machine = node(root)
  graph.transitions.forEach((t, index) =>
    t.targets.forEach((target, targetIndex) => {
      const lines = labelLines(t)
      const width = Math.ceil(Math.max(...lines.map((line) => textWidth(line, labelSize)))) + 2 * labelPadX
      const height = lines.length * lineHeight + 2 * labelPadY
      edges.push({
        id: `t${index}.${targetIndex}`,
        sources: [t.source],
        targets: [target],
        labels: [{ id: `t${index}.${targetIndex}.label`, text: lines.join("\n"), width, height, layoutOptions: { "elk.edgeLabels.inline": "true" } }]
      })
    })
  )
  return {
    id: "root",
    layoutOptions: { ...layoutOptions, "elk.hierarchyHandling": "INCLUDE_CHILDREN", "elk.padding": "[top=0,left=0,bottom=0,right=0]" },
    children: [machine],
    edges
  }
}

/**
 * The dashed lines between a parallel state's regions: across the gap between two
 * regions that follow each other down (or across) the parallel state's box.
 * @param {PlacedNode} parallel @param {PlacedNode[]} regions
 * @returns {Divider[]}
 */
const dividersOf = (parallel, regions) => {
  if (regions.length < 2) return []
  const apart = (/** @type {"x" | "y"} */ axis) => {
    const size = axis === "x" ? "width" : "height"
    const sorted = [...regions].sort((a, b) => a[axis] - b[axis])
    return sorted.every((region, index) => index === 0 || sorted[index - 1][axis] + sorted[index - 1][size] <= region[axis]) ? sorted : null
  }
  const down = apart("y")
  if (down !== null) {
    return down.slice(1).map((region, index) => {
      const y = (down[index].y + down[index].height + region.y) / 2
      return { x1: parallel.x, y1: y, x2: parallel.x + parallel.width, y2: y, parallel: parallel.id }
    })
  }
  const across = apart("x")
  if (across === null) return []
  return across.slice(1).map((region, index) => {
    const x = (across[index].x + across[index].width + region.x) / 2
    return { x1: x, y1: parallel.y + titleHeight, x2: x, y2: parallel.y + parallel.height, parallel: parallel.id }
  })
}

/**
 * ELK's answer in absolute coordinates (it gives each node relative to its parent and
 * each edge, with its labels, relative to the node that contains it), with each state's
 * text beside it.
 * @param {any} laid ELK's output for `toElk(graph)`
 * @param {MachineGraph} graph
 * @returns {Placed}
 */
export const placed = (laid, graph) => {
  const states = new Map(graph.states.map((state) => [state.id, state]))
  const texts = stateTexts(graph)
  const edgesById = new Map(graph.transitions.flatMap((t, index) => t.targets.map((target, targetIndex) => [`t${index}.${targetIndex}`, { t, target }])))
  /** @type {Map<string, { x: number, y: number }>} */
  const origin = new Map([["root", { x: 0, y: 0 }]])
  /** @type {PlacedNode[]} */
  const nodes = []
  /** @param {any} node @param {number} x0 @param {number} y0 @param {number} depth */
  const walk = (node, x0, y0, depth) => {
    const x = x0 + (node.x ?? 0)
    const y = y0 + (node.y ?? 0)
    origin.set(node.id, { x, y })
    if (node.id !== "root") {
      const mark = node.id.endsWith(initialMark)
      const state = states.get(mark ? node.id.slice(0, -initialMark.length) : node.id)
      const text = state === undefined || mark ? undefined : texts.get(state.id)
      const parent = state?.parent === null || state?.parent === undefined ? undefined : states.get(state.parent)
      nodes.push({
        id: node.id,
        key: text?.title ?? node.id,
        lines: text?.lines ?? [],
        kind: mark ? "initial" : (state?.kind ?? "atomic"),
        x, y, width: node.width, height: node.height, depth,
        compound: (node.children ?? []).length > 0,
        initialMark: mark,
        region: !mark && parent?.kind === "parallel"
      })
    }
    for (const child of node.children ?? []) walk(child, x, y, depth + 1)
  }
  walk(laid, 0, 0, -1)
  /** @type {PlacedEdge[]} */
  const edges = (laid.edges ?? []).map((/** @type {any} */ edge) => {
    const at = origin.get(edge.container ?? "root") ?? { x: 0, y: 0 }
    const points = (edge.sections ?? []).flatMap((/** @type {any} */ section) => [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]).map((/** @type {any} */ p) => ({ x: p.x + at.x, y: p.y + at.y }))
    const label = edge.labels?.[0]
    const known = edgesById.get(edge.id)
    return {
      id: edge.id,
      source: edge.sources[0],
      target: edge.targets[0],
      label: known === undefined ? "" : transitionLabel(known.t),
      labelLines: known === undefined ? [] : labelLines(known.t),
      points,
      labelBox: label === undefined ? null : { x: label.x + at.x, y: label.y + at.y, width: label.width, height: label.height },
      transition: known === undefined ? null : known.t
    }
  })
  const dividers = nodes
    .filter((node) => node.kind === "parallel")
    .flatMap((parallel) => dividersOf(parallel, nodes.filter((node) => node.region && states.get(node.id)?.parent === parallel.id)))
  return { width: laid.width ?? 0, height: laid.height ?? 0, nodes, edges, dividers }
}

/**
 * Lays a machine out with ELK (the browser's global, or the one given).
 * @param {MachineGraph} graph
 * @param {{ layout: (graph: any) => Promise<any> }} [elk]
 * @returns {Promise<Placed>}
 */
export const layOut = async (graph, elk) => {
  const engine = elk ?? new (/** @type {any} */ (globalThis).ELK)()
  return placed(await engine.layout(toElk(graph)), graph)
}

/**
 * Every state of a version as its path of keys from the top (`payment.authorizing`, what
 * GET /workflows?state= takes), in the graph's order, by state id.
 * @param {any} version a version's graph
 * @returns {Map<string, string>}
 */
export const statePaths = (version) => {
  /** @type {Map<string, any>} */
  const byId = new Map(version.states.map((/** @type {any} */ state) => [state.id, state]))
  /** @type {Map<string, string>} */
  const paths = new Map()
  for (const state of version.states) {
    const keys = []
    for (let at = state; at !== undefined && at.parent !== null; at = byId.get(at.parent)) keys.unshift(at.key)
    if (keys.length > 0) paths.set(state.id, keys.join("."))
  }
  return paths
}

/**
 * The states a state value makes active, as state ids: `{a: "b"}` → `a` and `a.b` (the
 * machine itself, always active, is left out).
 * @param {MachineGraph} graph @param {unknown} value @returns {Set<string>}
 */
export const activeStates = (graph, value) => {
  const root = graph.states.find((state) => state.parent === null)
  /** @type {Set<string>} */
  const active = new Set()
  if (root === undefined) return active
  /** @param {string} parent @param {string} key */
  const child = (parent, key) => graph.states.find((state) => state.parent === parent && state.key === key)
  /** @param {string} parent @param {unknown} inner */
  const visit = (parent, inner) => {
    if (typeof inner === "string") {
      const found = child(parent, inner)
      if (found !== undefined) active.add(found.id)
      return
    }
    if (inner === null || typeof inner !== "object") return
    for (const [key, below] of Object.entries(inner)) {
      const found = child(parent, key)
      if (found === undefined) continue
      active.add(found.id)
      visit(found.id, below)
    }
  }
  visit(root.id, value)
  return active
}

/** @param {Array<{ x: number, y: number }>} points */
const pathOf = (points) => points.map((p, index) => `${index === 0 ? "M" : "L"}${p.x},${p.y}`).join(" ")

/**
 * The chart as SVG, in the layout's coordinates (a viewer sets the view box): states,
 * then the arrows, then their labels on top, each label with the arrow it belongs to.
 * @param {Placed} layout
 * @param {{ active?: Set<string>, counts?: Map<string, { total: number, detail: string }>, selected?: string | null, onSelect?: (id: string) => void, canTake?: Set<string>, onTake?: (event: string) => void }} [marks]
 *   `canTake`: events the instance can be sent now; their arrows out of active states are drawn as such and, with `onTake`, pick that event when clicked
 * @returns {SVGSVGElement}
 */
export const drawChart = (layout, marks = {}) => {
  const active = marks.active ?? new Set()
  const svg = /** @type {SVGSVGElement} */ (s("svg", { class: "chart", viewBox: `0 0 ${layout.width} ${layout.height}`, role: "img", "aria-label": "statechart" }))
  svg.appendChild(
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })))
  )
  const statesLayer = s("g", { class: "states" })
  const edgesLayer = s("g", { class: "transitions" })
  svg.append(statesLayer, edgesLayer)
  for (const node of layout.nodes) {
    if (node.initialMark) {
      statesLayer.appendChild(s("circle", { class: "initial-mark", cx: node.x + node.width / 2, cy: node.y + node.height / 2, r: node.width / 2 }))
      continue
    }
    const classes = ["state", `kind-${node.kind}`, node.compound ? "compound" : "leaf", node.region ? "region" : "", active.has(node.id) ? "active" : "", marks.selected === node.id ? "selected" : ""].filter(Boolean).join(" ")
    const group = s("g", { class: classes, "data-state": node.id, tabindex: marks.onSelect === undefined ? undefined : 0 })
    if (node.kind === "history") {
      group.appendChild(s("circle", { class: "history-ring", cx: node.x + node.width / 2, cy: node.y + node.height / 2, r: node.width / 2 }))
      group.appendChild(s("text", { class: "state-name", x: node.x + node.width / 2, y: node.y + node.height / 2 + 4, "text-anchor": "middle" }, node.key))
    } else {
      group.appendChild(s("rect", { class: "state-box", x: node.x, y: node.y, width: node.width, height: node.height, rx: 6 }))
      if (node.kind === "final") group.appendChild(s("rect", { class: "final-ring", x: node.x + 3, y: node.y + 3, width: node.width - 6, height: node.height - 6, rx: 4 }))
      group.appendChild(s("text", { class: "state-name", x: node.x + 10, y: node.y + 17 }, node.key))
      node.lines.forEach((line, index) => group.appendChild(s("text", { class: "state-line", x: node.x + 10, y: node.y + titleHeight + 8 + index * lineHeight }, line)))
    }
    const count = marks.counts?.get(node.id)
    if (count !== undefined && count.total > 0) {
      const text = String(count.total)
      const width = textWidth(text, 11, 700) + 12
      const badge = s("g", { class: "count", "data-count": count.total }, s("title", {}, count.detail))
      badge.appendChild(s("rect", { x: node.x + node.width - width / 2 - 4, y: node.y - 9, width, height: 18, rx: 9 }))
      badge.appendChild(s("text", { x: node.x + node.width - 4, y: node.y + 4, "text-anchor": "middle" }, text))
      group.appendChild(badge)
    }
    if (marks.onSelect !== undefined) {
      const select = marks.onSelect
      group.addEventListener("click", () => select(node.id))
      group.addEventListener("keydown", (event) => {
        if (/** @type {KeyboardEvent} */ (event).key === "Enter") select(node.id)
      })
    }
    statesLayer.appendChild(group)
  }
  for (const divider of layout.dividers) statesLayer.appendChild(s("line", { class: "region-divider", "data-parallel": divider.parallel, x1: divider.x1, y1: divider.y1, x2: divider.x2, y2: divider.y2 }))
  /** @type {SVGElement[]} */
  const labels = []
  for (const edge of layout.edges) {
    if (edge.points.length < 2) continue
    const initial = edge.label === "" && edge.source.endsWith(initialMark)
    const event = edge.transition?.trigger === "event" && active.has(edge.source) && marks.canTake?.has(edge.transition.event) ? edge.transition.event : undefined
    const takes = event === undefined ? "" : " can-take"
    const group = s("g", { class: initial ? "initial-arrow" : `transition${active.has(edge.source) ? " from-active" : ""}${takes}`, "data-edge": edge.id, "data-source": edge.source, "data-target": edge.target, "data-event": event })
    group.appendChild(s("path", { d: pathOf(edge.points), "marker-end": "url(#arrow)" }))
    edgesLayer.appendChild(group)
    if (edge.labelBox !== null && edge.label !== "") {
      const box = edge.labelBox
      const label = s("g", { class: `edge-label${active.has(edge.source) ? " from-active" : ""}${takes}`, "data-edge": edge.id, "data-event": event, tabindex: event !== undefined && marks.onTake !== undefined ? 0 : undefined }, s("title", {}, event === undefined ? edge.label : `${edge.label} — send ${event}`))
      if (event !== undefined && marks.onTake !== undefined) {
        const take = marks.onTake
        label.addEventListener("click", () => take(event))
        label.addEventListener("keydown", (key) => {
          if (/** @type {KeyboardEvent} */ (key).key === "Enter") take(event)
        })
      }
      label.appendChild(s("rect", { class: "label-bg", x: box.x, y: box.y, width: box.width, height: box.height, rx: 3 }))
      edge.labelLines.forEach((line, index) =>
        label.appendChild(s("text", { class: "label", x: box.x + box.width / 2, y: box.y + labelPadY + (index + 1) * lineHeight - 4, "text-anchor": "middle" }, line))
      )
      labels.push(label)
    }
  }
  // Labels above every arrow: an arrow that passes by never runs over another's label.
  svg.appendChild(s("g", { class: "edge-labels" }, ...labels))
  return svg
}

// A machine's graph (GET /machines/{type}) drawn as a statechart: ELK lays the states out
// (compound states hold their children), this module turns its answer into SVG.
// `toElk` and `placed` are plain functions over data, so they run in Node as well.

import { s } from "./dom.js"

/** Labels are drawn in a monospace font at 12px: 0.6em a character. */
const charWidth = 7.2
const lineHeight = 16
const initialMark = "#initial"

/** @typedef {{ id: string, key: string, parent: string | null, kind: string, initial: string[], history: string | null, tags: string[], description: string | null, invokes: Array<{ id: string, src: string }> }} StateNode */
/** @typedef {{ source: string, event: string, trigger: string, guard: string | null, delay: string | number | null, delayMs: number | null, targets: string[], reenter: boolean }} Transition */
/** @typedef {{ machineId: string, states: StateNode[], transitions: Transition[] }} MachineGraph */
/** @typedef {{ id: string, key: string, kind: string, x: number, y: number, width: number, height: number, depth: number, lines: string[], compound: boolean, initialMark: boolean }} PlacedNode */
/** @typedef {{ id: string, source: string, target: string, label: string, points: Array<{ x: number, y: number }>, labelBox: { x: number, y: number, width: number, height: number } | null }} PlacedEdge */
/** @typedef {{ width: number, height: number, nodes: PlacedNode[], edges: PlacedEdge[] }} Placed */

/** @param {number} ms */
const duration = (ms) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`

/** What an arrow says: the event, `after 20s`, `done: charge`, `always`, and its guard. @param {Transition} t */
export const transitionLabel = (t) => {
  const actor = (/** @type {string} */ prefix) => t.event.slice(prefix.length)
  const base =
    t.trigger === "after"
      ? `after ${t.delayMs !== null ? duration(t.delayMs) : String(t.delay)}`
      : t.trigger === "always"
        ? "always"
        : t.trigger === "done"
          ? t.event.startsWith("xstate.done.actor.") ? `done: ${actor("xstate.done.actor.")}` : "done"
          : t.trigger === "error"
            ? `error: ${actor("xstate.error.actor.")}`
            : t.event
  return t.guard === null ? base : `${base} [${t.guard}]`
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

/** @param {string[]} lines */
const widest = (lines) => Math.max(0, ...lines.map((line) => line.length)) * charWidth

/**
 * The ELK graph for a machine: one node per state (the machine itself the outermost),
 * a small mark pointing at each compound state's initial child, an edge per transition
 * target. Transitions without a target (actions only) are listed inside their state.
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
  /** @type {Array<{ id: string, sources: string[], targets: string[], labels?: Array<{ text: string, width: number, height: number }> }>} */
  const edges = []
  /** @param {StateNode} state @returns {any} */
  const node = (state) => {
    const { title, lines } = texts.get(state.id) ?? { title: state.key, lines: [] }
    const inner = children.get(state.id) ?? []
    if (inner.length === 0) {
      return { id: state.id, width: Math.max(widest([title, ...lines]) + 24, 56), height: 28 + lines.length * lineHeight }
    }
    const marks = state.initial.length > 0 ? [{ id: state.id + initialMark, width: 10, height: 10 }] : []
    for (const target of state.initial) edges.push({ id: `${state.id}${initialMark}>${target}`, sources: [state.id + initialMark], targets: [target] })
    return {
      id: state.id,
      layoutOptions: { "elk.padding": `[top=${30 + lines.length * lineHeight},left=14,bottom=14,right=14]`, "elk.nodeSize.minimum": `(${widest([title, ...lines]) + 28}, 40)`, "elk.nodeSize.constraints": "MINIMUM_SIZE" },
      children: [...marks, ...inner.map(node)]
    }
  }
  const root = graph.states.find((state) => state.parent === null)
  if (root === undefined) throw new Error("the machine has no root state")
  const machine = node(root)
  graph.transitions.forEach((t, index) =>
    t.targets.forEach((target, targetIndex) => {
      const text = transitionLabel(t)
      edges.push({ id: `t${index}.${targetIndex}`, sources: [t.source], targets: [target], labels: [{ text, width: text.length * charWidth + 8, height: 14 }] })
    })
  )
  return {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.layered.spacing.nodeNodeBetweenLayers": "36",
      "elk.spacing.nodeNode": "28",
      "elk.spacing.edgeLabel": "4",
      "elk.spacing.edgeNode": "14",
      "elk.layered.spacing.edgeNodeBetweenLayers": "14",
      "elk.edgeLabels.placement": "CENTER"
    },
    children: [machine],
    edges
  }
}

/**
 * ELK's answer in absolute coordinates (it gives each node relative to its parent and
 * each edge relative to the node that contains it), with each state's text beside it.
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
      nodes.push({
        id: node.id,
        key: text?.title ?? node.id,
        lines: text?.lines ?? [],
        kind: mark ? "initial" : (state?.kind ?? "atomic"),
        x, y, width: node.width, height: node.height, depth,
        compound: (node.children ?? []).length > 0,
        initialMark: mark
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
      points,
      labelBox: label === undefined ? null : { x: label.x + at.x, y: label.y + at.y, width: label.width, height: label.height }
    }
  })
  return { width: laid.width ?? 0, height: laid.height ?? 0, nodes, edges }
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

/**
 * @param {Placed} layout
 * @param {{ active?: Set<string>, counts?: Map<string, { total: number, detail: string }>, selected?: string | null, onSelect?: (id: string) => void }} [marks]
 * @returns {SVGElement}
 */
export const drawChart = (layout, marks = {}) => {
  const active = marks.active ?? new Set()
  const pad = 8
  const svg = s("svg", {
    class: "chart",
    viewBox: `${-pad} ${-pad} ${layout.width + 2 * pad} ${layout.height + 2 * pad}`,
    width: layout.width + 2 * pad,
    height: layout.height + 2 * pad,
    role: "img",
    "aria-label": "statechart"
  })
  svg.appendChild(
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })))
  )
  for (const node of layout.nodes) {
    if (node.initialMark) {
      svg.appendChild(s("circle", { class: "initial-mark", cx: node.x + node.width / 2, cy: node.y + node.height / 2, r: node.width / 2 }))
      continue
    }
    const classes = ["state", `kind-${node.kind}`, node.compound ? "compound" : "leaf", active.has(node.id) ? "active" : "", marks.selected === node.id ? "selected" : ""].filter(Boolean).join(" ")
    const group = s("g", { class: classes, "data-state": node.id, tabindex: marks.onSelect === undefined ? undefined : 0 })
    group.appendChild(s("rect", { x: node.x, y: node.y, width: node.width, height: node.height, rx: node.kind === "history" ? node.height / 2 : 6 }))
    if (node.kind === "final") group.appendChild(s("rect", { class: "final-ring", x: node.x + 3, y: node.y + 3, width: node.width - 6, height: node.height - 6, rx: 4 }))
    group.appendChild(s("text", { class: "state-name", x: node.x + 10, y: node.y + 18 }, node.key))
    node.lines.forEach((line, index) => group.appendChild(s("text", { class: "state-line", x: node.x + 10, y: node.y + 34 + index * lineHeight }, line)))
    const count = marks.counts?.get(node.id)
    if (count !== undefined && count.total > 0) {
      const text = String(count.total)
      const width = text.length * charWidth + 12
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
    svg.appendChild(group)
  }
  for (const edge of layout.edges) {
    if (edge.points.length < 2) continue
    const d = edge.points.map((p, index) => `${index === 0 ? "M" : "L"}${p.x},${p.y}`).join(" ")
    const initial = edge.label === "" && edge.source.endsWith(initialMark)
    const group = s("g", { class: initial ? "initial-arrow" : `transition${active.has(edge.source) ? " from-active" : ""}`, "data-source": edge.source, "data-target": edge.target })
    group.appendChild(s("path", { d, "marker-end": "url(#arrow)" }))
    if (edge.labelBox !== null && edge.label !== "") {
      const box = edge.labelBox
      group.appendChild(s("rect", { class: "label-bg", x: box.x, y: box.y, width: box.width, height: box.height, rx: 3 }))
      group.appendChild(s("text", { class: "label", x: box.x + 4, y: box.y + box.height - 3 }, edge.label))
    }
    svg.appendChild(group)
  }
  return svg
}

// An instance's history read as steps: each input, the state it led to, the domain events
// it emitted and the effects it scheduled or cancelled (activities with their attempts,
// durations and errors, timers with their due times, messages to other instances). The
// timeline draws one row per step and only the rows in view, so a history of thousands
// of steps scrolls and time-travels without drawing them all.

import { segment } from "../api.js"
import { clock, h, stateLabel } from "../dom.js"

/** @typedef {{ step: number, streamVersion: number, input: any, state: unknown, context: unknown, emitted: any[] }} Step */
/** @typedef {{ step: Step, entries: any[] }} StepGroup */

/** A payload as one line, cut to `max` characters. @param {unknown} value @param {number} [max] */
export const oneLine = (value, max = 140) => {
  const text = JSON.stringify(value) ?? ""
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** What came in, in the domain's words: the event's type, or what the engine recorded. @param {any} input */
export const inputName = (input) => {
  const data = input.data ?? {}
  switch (input.type) {
    case "workflow.started":
      return "started"
    case "workflow.event_received":
      return data.event?.type ?? "event"
    case "activity.completed":
      return `done: ${data.src}`
    case "activity.failed":
      return `error: ${data.src}`
    case "timer.fired":
      return `timer: ${data.event?.type ?? data.timerId}`
    case "message.received":
      return `message: ${data.event?.type ?? ""}`
    default:
      return input.type
  }
}

/** The payload that matters of an input. @param {any} input */
export const inputPayload = (input) => {
  const data = input.data ?? {}
  if (input.type === "workflow.started") return data.input
  if (input.type === "workflow.event_received") {
    const { type: _type, ...payload } = data.event ?? {}
    return payload
  }
  return data
}

/**
 * Entries grouped by the step they belong to: from a step's input up to the next input.
 *
 * @example
 * groupSteps(replayed.steps, history.items)[0].entries // the start and what it scheduled
 * @param {Step[]} steps
 * @param {any[]} entries the history, in stream order
 * @returns {StepGroup[]}
 */
export const groupSteps = (steps, entries) => {
  /** @type {StepGroup[]} */
  const groups = steps.map((step) => ({ step, entries: [] }))
  let index = -1
  for (const entry of entries) {
    while (index + 1 < groups.length && entry.streamVersion >= groups[index + 1].step.streamVersion) index++
    if (index >= 0) groups[index].entries.push(entry)
  }
  return groups
}

/** The stream id of another instance as a link, when a known type names it. @param {string} stream @param {string[]} types */
const instanceLink = (stream, types) => {
  const type = types.filter((t) => stream.startsWith(`${t}-`)).sort((a, b) => b.length - a.length)[0]
  if (type === undefined) return h("code", {}, stream)
  const id = stream.slice(type.length + 1)
  return h("a", { class: "related", href: `#/instances/${segment(type)}/${segment(id)}` }, `${type}/${id}`)
}

/**
 * One effect a step recorded, as a line: what, and the figures that tell how it went.
 * @param {any} entry
 * @param {string[]} types the catalogue's workflow types, to link messages
 */
export const effectLine = (entry, types) => {
  const d = entry.data ?? {}
  switch (entry.type) {
    case "activity.scheduled":
      return ["schedules activity ", h("code", {}, d.src), " ", h("span", { class: "payload" }, oneLine(d.input, 80))]
    case "activity.attempt_failed":
      return [`attempt ${d.attempt} of `, h("code", {}, d.src), ` failed after ${d.durationMs} ms: `, h("span", { class: "error" }, oneLine(d.error, 100)), d.worker === undefined ? "" : ` (on ${d.worker}); tried again by its retry schedule`]
    case "activity.ignored":
      return ["result of ", h("code", {}, d.src), ` ignored: ${d.reason}`]
    case "timer.scheduled":
      return ["timer ", h("code", {}, d.event?.type ?? d.timerId), ` due ${clock(d.dueAt)}`]
    case "timer.cancelled":
      return ["cancels timer ", h("code", {}, d.timerId)]
    case "message.sent":
      return ["sends ", h("code", {}, d.event?.type ?? "a message"), " to ", instanceLink(String(d.to), types), d.dueAt === undefined ? "" : ` at ${clock(d.dueAt)}`]
    case "child.requested":
      return ["starts child ", h("a", { class: "related", href: `#/instances/${segment(d.workflowType)}/${segment(d.instanceId)}` }, `${d.workflowType}/${d.instanceId}`)]
    case "workflow.cancelled":
      return [`cancelled: ${d.reason}`]
    case "workflow.failed":
      return [`failed: ${d.reason}`]
    case "workflow.retried":
      return ["retries activity ", h("code", {}, d.activityId)]
    default:
      return [h("code", {}, entry.type), " ", oneLine(d, 100)]
  }
}

/** What the input's own figures say (an activity's attempts and duration, a timer's lateness). @param {any} input */
export const inputFacts = (input) => {
  const d = input.data ?? {}
  if (input.type === "activity.completed" || input.type === "activity.failed") {
    return `after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}, ${d.durationMs} ms${d.worker === undefined ? "" : ` on ${d.worker}`}`
  }
  if (input.type === "timer.fired") return `due ${clock(d.dueAt)}, fired ${clock(d.firedAt)}`
  if (input.type === "message.received") return `from ${d.from}`
  return ""
}

/** Row height in pixels: every step's row is one line, so a row's place is its index × this. */
export const rowHeight = 28

/**
 * The timeline: one row per step, drawn only in view. `show` replaces the groups, `reveal`
 * scrolls a step into view, `redraw` repaints the rows in view (a new selection).
 *
 * @example
 * const timeline = stepTimeline((index) => select(index), () => ({ selected, departsAt }))
 * timeline.show(groupSteps(steps, history))
 * @param {(index: number) => void} onPick
 * @param {() => { selected: number, departsAt: number | null }} marks
 */
export const stepTimeline = (onPick, marks) => {
  const list = h("ol", { class: "timeline steps", "aria-label": "steps" })
  const scroller = h("div", { class: "timeline-scroll" }, list)
  /** @type {StepGroup[]} */
  let groups = []
  let frame = 0

  /** Rows drawn now, by step index: kept while in view, so a row under the pointer stays the same element. */
  /** @type {Map<number, HTMLElement>} */
  const drawn = new Map()

  /** @param {StepGroup} group @param {number} index */
  const row = (group, index) => {
    const { step, entries } = group
    const emitted = entries.filter((entry) => entry.kind === "domain").map((entry) => entry.type)
    const effects = entries.filter((entry) => entry.kind === "record").length
    const item = h(
      "li",
      { class: "step entry kind-input", "data-step": step.step, "data-version": step.streamVersion, tabindex: 0 },
      h("span", { class: "version" }, `${step.step}`),
      h("span", { class: "type" }, inputName(step.input)),
      h("span", { class: "data" }, oneLine(inputPayload(step.input), 80)),
      h("code", { class: "to-state" }, `→ ${stateLabel(step.state)}`),
      h("span", { class: "emitted-types" }, emitted.join(" ")),
      h("span", { class: "effect-count" }, effects === 0 ? "" : `${effects} effect${effects === 1 ? "" : "s"}`),
      h("time", {}, clock(step.input.time))
    )
    // Through the CSSOM: the inspector's content security policy refuses style attributes.
    item.style.top = `${index * rowHeight}px`
    item.addEventListener("click", () => onPick(index))
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter") onPick(index)
    })
    return item
  }

  const paint = () => {
    frame = 0
    const top = scroller.scrollTop
    const height = scroller.clientHeight || 400
    const first = Math.max(0, Math.floor(top / rowHeight) - 10)
    const last = Math.min(groups.length, Math.ceil((top + height) / rowHeight) + 10)
    list.style.height = `${groups.length * rowHeight}px`
    for (const [index, item] of drawn) {
      if (index >= first && index < last) continue
      item.remove()
      drawn.delete(index)
    }
    const { selected, departsAt } = marks()
    for (let index = first; index < last; index++) {
      let item = drawn.get(index)
      if (item === undefined) {
        item = row(groups[index], index)
        drawn.set(index, item)
        list.appendChild(item)
      }
      item.classList.toggle("selected", index === selected)
      item.classList.toggle("departs", departsAt === groups[index].step.streamVersion)
    }
  }
  const schedule = () => {
    if (frame === 0) frame = requestAnimationFrame(paint)
  }
  scroller.addEventListener("scroll", schedule, { passive: true })

  return {
    element: scroller,
    /** @param {StepGroup[]} next */
    show: (next) => {
      groups = next
      // Steps may have been replaced (a fresh replay): draw every row in view anew.
      for (const item of drawn.values()) item.remove()
      drawn.clear()
      paint()
    },
    redraw: paint,
    /** @param {number} index */
    reveal: (index) => {
      const top = index * rowHeight
      if (top < scroller.scrollTop || top + rowHeight > scroller.scrollTop + scroller.clientHeight) {
        scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 2)
      }
      paint()
    },
    /** Shows a message instead of the steps (a broken history). @param {Node} item */
    replace: (item) => {
      groups = []
      drawn.clear()
      list.style.height = ""
      list.replaceChildren(item)
    }
  }
}

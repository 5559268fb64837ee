// One instance: its statechart lit at the step picked on its timeline (time travel: the
// state, context and emitted events after any recorded input, re-derived by replay, and
// what the step changed in the context), what it waits on, its history step by step, live
// while it runs, a replay against another version of its machine, and what can be done
// with it now (send an event its state takes, retry, cancel).

import { ApiError, follow, getJson, segment, withQuery } from "../api.js"
import { diffPaths } from "../diff.js"
import { clock, fill, h, pretty, stateLabel, visible } from "../dom.js"
import { report } from "../notice.js"
import { chartViewer } from "../chart-view.js"
import { activeStates, drawChart } from "../statechart.js"
import { actionsPanel, sendableNow } from "./actions.js"
import { isNotFound, layoutOf, machineOf, notFound, showError, statusBadge } from "./shared.js"
import { effectLine, groupSteps, inputFacts, inputName, inputPayload, oneLine, stepTimeline } from "./steps.js"

/** A payload folded to one line; opened, the whole of it. @param {unknown} value @param {string} className */
const folded = (value, className) =>
  h("details", { class: `folded ${className}` }, h("summary", {}, oneLine(value)), h("pre", {}, pretty(value)))

/** The context paths a step changed, each with its value before and after. @param {unknown} before @param {unknown} after */
const contextDiff = (before, after) => {
  const changes = diffPaths(before, after)
  if (changes.length === 0) return h("p", { class: "empty context-diff" }, "unchanged")
  return h(
    "ul",
    { class: "context-diff" },
    changes.map((change) =>
      h(
        "li",
        { "data-change": change.change, "data-path": change.path },
        h("code", { class: "path" }, change.path),
        change.change === "added" ? [" added: ", h("code", {}, oneLine(change.after, 80))] : null,
        change.change === "removed" ? [" removed (was ", h("code", {}, oneLine(change.before, 80)), ")"] : null,
        change.change === "changed" ? [": ", h("code", { class: "before" }, oneLine(change.before, 60)), " → ", h("code", { class: "after" }, oneLine(change.after, 60))] : null
      )
    )
  )
}

/** @param {{ workflowType: string, instanceId: string }} other */
const link = (other) => h("a", { class: "related", href: `#/instances/${segment(other.workflowType)}/${segment(other.instanceId)}` }, `${other.workflowType}/${other.instanceId}`)

/** @type {import("../app.js").View} */
export const instanceView = (main, { type = "", id = "" }) => {
  const base = `/workflows/${segment(type)}/${segment(id)}`
  const heading = h("div", { class: "instance-head" })
  const slider = /** @type {HTMLInputElement} */ (h("input", { type: "range", min: 1, max: 1, value: 1, "aria-label": "step" }))
  const stepLabel = h("span", { class: "step-label" })
  const liveLabel = h("span", { class: "live" })
  const versionPicker = /** @type {HTMLSelectElement} */ (h("select", { "aria-label": "replay against version" }))
  const replayResult = h("span", { class: "replay-result" })
  const chartBox = h("div", { class: "chart-box" }, h("p", { class: "loading" }, "Loading…"))
  const stepPanel = h("div", { class: "step-panel" })
  const waiting = h("div", { class: "waiting" })
  const timeline = stepTimeline((index) => select(index), () => ({ selected, departsAt }))
  const actions = actionsPanel(base, () => void refresh().catch(report))
  fill(
    main,
    heading,
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", class: "previous", "aria-label": "previous step", onclick: () => select(selected - 1) }, "◀"),
      slider,
      h("button", { type: "button", class: "next", "aria-label": "next step", onclick: () => select(selected + 1) }, "▶"),
      stepLabel,
      liveLabel,
      h("label", { class: "replay-against" }, "replay against ", versionPicker),
      replayResult
    ),
    h("div", { class: "instance-body" }, chartBox, h("div", {}, actions.element, stepPanel, waiting)),
    h("h2", {}, "History, step by step"),
    timeline.element
  )

  const controller = new AbortController()
  // Beside the step panel the chart has less room: it is not shrunk below a scale its text reads at, and pans instead.
  const viewer = chartViewer({ smallestScale: 0.85, signal: controller.signal })
  /** @type {any} */ let instance
  /** @type {any} */ let version
  /** @type {any} */ let layout
  /** @type {any[]} */ let steps = []
  /** @type {any[]} */ let history = []
  /** @type {string[]} */ let types = []
  /** @type {number | null} */ let departsAt = null
  let selected = 0
  /** Time travel leaves the newest step; until then, new steps are followed. */
  let atNewest = true

  const drawHead = () =>
    fill(
      heading,
      h("h1", {}, h("a", { href: `#/machines/${segment(type)}` }, type), " / ", id),
      h(
        "p",
        { class: "facts" },
        statusBadge(instance.status),
        " state ",
        h("code", { class: "current-state" }, stateLabel(instance.state)),
        ` · version ${instance.machineVersion} · ${instance.streamVersion} entries · updated ${clock(instance.updatedAt)}`,
        instance.parent ? [" · child of ", link(instance.parent)] : null,
        Object.keys(instance.children ?? {}).length > 0 ? [" · children ", ...Object.values(instance.children).flatMap((child, index) => [index === 0 ? "" : ", ", link(child)])] : null
      ),
      instance.failure ? h("pre", { class: "failure" }, pretty(instance.failure)) : null
    )

  /** Steps with their entries; built again only when the history or the steps change. */
  /** @type {import("./steps.js").StepGroup[]} */ let groups = []
  const regroup = () => {
    groups = groupSteps(steps, history)
    timeline.show(groups)
  }

  const drawStep = () => {
    const step = steps[selected]
    slider.max = String(Math.max(1, steps.length))
    slider.value = String(selected + 1)
    stepLabel.textContent = steps.length === 0 ? "no steps" : `step ${selected + 1} of ${steps.length}`
    if (layout !== undefined && version !== undefined) {
      const active = step === undefined ? new Set() : activeStates(version, step.state)
      if (viewer.element.parentNode !== chartBox) fill(chartBox, viewer.element)
      // At the newest step of a running instance, the arrows it can be sent along now are drawn as such.
      const now = selected === steps.length - 1 && instance?.status === "running" && instance?.corrupted === undefined
      const canTake = new Set(now ? sendableNow(version, active) : [])
      viewer.show(drawChart(layout, { active, canTake, onTake: (event) => actions.choose(event) }), layout, layout.nodes.filter((/** @type {any} */ node) => active.has(node.id) && !node.compound))
    }
    if (step === undefined) {
      fill(stepPanel, h("p", { class: "empty" }, "Nothing replayed yet."))
    } else {
      const entries = groups[selected]?.entries ?? []
      const effects = entries.filter((entry) => entry.kind === "record")
      const previous = steps[selected - 1]
      fill(
        stepPanel,
        h("h2", {}, `After step ${step.step}`),
        h("p", {}, h("strong", {}, inputName(step.input)), " at ", clock(step.input.time), " ", h("span", { class: "facts" }, inputFacts(step.input))),
        h("dl", {}, h("dt", {}, "input"), h("dd", {}, folded(inputPayload(step.input), "input"))),
        h("dl", {}, h("dt", {}, "state"), h("dd", {}, h("code", { class: "step-state" }, stateLabel(step.state)))),
        h("dl", {}, h("dt", {}, previous === undefined ? "context (the first)" : "what it changed"), h("dd", {}, contextDiff(previous?.context ?? {}, step.context))),
        h("dl", {}, h("dt", {}, "context"), h("dd", {}, h("pre", { class: "context" }, pretty(step.context)))),
        h("dl", {}, h("dt", {}, "emitted"), h("dd", {}, step.emitted.length === 0 ? "nothing" : h("ul", { class: "emitted" }, step.emitted.map((/** @type {any} */ event) => h("li", {}, h("code", {}, event.type), " ", h("span", { class: "payload" }, oneLine(event))))))),
        h("dl", {}, h("dt", {}, "effects"), h("dd", {}, effects.length === 0 ? "none" : h("ul", { class: "effects" }, effects.map((entry) => h("li", { "data-type": entry.type }, effectLine(entry, types))))))
      )
    }
    timeline.reveal(selected)
  }

  /** What the instance waits on now: the engine's tasks for it. @param {any[]} tasks */
  const drawWaiting = (tasks) =>
    fill(
      waiting,
      h("h2", {}, "Waiting on"),
      tasks.length === 0
        ? h("p", { class: "empty" }, instance.status === "running" ? "Nothing scheduled: it waits for an event from a client." : `Nothing: it is ${instance.status}.`)
        : h(
            "ul",
            { class: "tasks" },
            tasks.map((task) =>
              h(
                "li",
                { "data-kind": task.kind },
                h("strong", {}, task.kind),
                " ",
                h("code", {}, task.payload?.src ?? task.key),
                task.kind === "timer" ? ` due ${clock(task.dueAt)}` : "",
                task.waitingFor
                  ? ` · waiting for the ${task.waitingFor.circuit} circuit, trial at ${clock(task.waitingFor.trialAt)}`
                  : task.lockedBy === null ? (task.kind === "timer" ? "" : " · waiting for a worker") : ` · held by ${task.lockedBy} until ${clock(task.leasedUntil)}`,
                task.attempts > 0 ? ` · ${task.attempts} attempt${task.attempts === 1 ? "" : "s"} so far` : ""
              )
            )
          )
    )

  /** @param {number} index */
  const select = (index) => {
    if (steps.length === 0) return
    selected = Math.max(0, Math.min(steps.length - 1, index))
    atNewest = selected === steps.length - 1
    drawStep()
  }
  slider.addEventListener("input", () => select(Number(slider.value) - 1))
  // ← and → travel a step, wherever the focus is but in a field being typed in.
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    const target = /** @type {HTMLElement | null} */ (event.target)
    if (target !== null && (target.matches("input, textarea, select") || target.isContentEditable)) return
    if (event.key === "ArrowLeft") select(selected - 1)
    else if (event.key === "ArrowRight") select(selected + 1)
    else return
    event.preventDefault()
  }
  document.addEventListener("keydown", onKey)
  controller.signal.addEventListener("abort", () => document.removeEventListener("keydown", onKey))

  /**
   * A history changed behind the log's back cannot be shown or replayed: say
   * where it breaks and what to do, instead of a page that never loads.
   * @param {{ stream: string, version: number, reason?: string }} at
   */
  const drawBroken = (at) => {
    drawHead()
    const missing = at.reason === "missing"
    const what = missing ? "the row is missing: it and those after it were deleted" : "the row does not match its hash chain: it was changed"
    const says = `The history of this instance is broken at version ${at.version} of stream ${at.stream}: ${what} behind the log's back. The instance is marked corrupted and refuses inputs until the rows are restored from a backup and it is verified (orrery verify ${type} ${id}). Time travel and replay need the whole history. Run orrery doctor to find every broken stream.`
    fill(stepPanel, h("p", { class: "broken" }, says))
    timeline.replace(h("li", { class: "broken", "data-stream": at.stream, "data-version": at.version }, `version ${at.version}: ${missing ? "missing" : "does not match its hash chain"}`))
    fill(chartBox, h("p", { class: "broken" }, `${stateLabel(instance.state)} (as the instance row says)`))
  }

  /** Reads the instance, its history and its replay again (after the stream moved). */
  const refresh = async () => {
    const signal = controller.signal
    const [read, entries, replayed, tasks] = await Promise.all([
      getJson(base, { signal }),
      getJson(`${base}/history`, { signal }),
      getJson(`${base}/replay`, { signal }),
      getJson(`${base}/pending`, { signal })
    ]).catch(async (error) => {
      if (!(error instanceof ApiError && error.error === "IntegrityError")) throw error
      instance = await getJson(base, { signal })
      drawBroken(error.details)
      return []
    })
    if (read === undefined) return
    instance = read
    history = entries.items
    steps = replayed.steps
    if (atNewest) selected = Math.max(0, steps.length - 1)
    regroup()
    drawNow(tasks.items)
    followLive()
  }

  /** The instance as it stands: its heading, the step in view, what it waits on, what can be done. @param {any[]} tasks */
  const drawNow = (tasks) => {
    drawHead()
    drawStep()
    drawWaiting(tasks)
    actions.update(instance, version, version === undefined ? new Set() : activeStates(version, instance.state))
  }

  /**
   * Entries that arrived live, then the instance after them. One new input is one new step
   * whose state and context are the instance's own now: appended without replaying the whole
   * history again. Anything else (several inputs in one burst, a gap) reads everything again.
   * @param {any[]} arrived
   * @param {any} now the instance after them
   */
  const advance = async (arrived, now) => {
    const known = history.at(-1)?.streamVersion ?? 0
    const fresh = arrived.filter((entry) => entry.streamVersion > known).sort((a, b) => a.streamVersion - b.streamVersion)
    // The state a stream opens with, or one we had read already: nothing new.
    if (fresh.length === 0 && now.streamVersion <= known) return
    const inputs = fresh.filter((entry) => entry.kind === "input")
    if (fresh.length === 0 || fresh[0].streamVersion !== known + 1 || inputs.length > 1 || now.streamVersion !== fresh.at(-1).streamVersion) return refresh()
    history = [...history, ...fresh]
    if (inputs.length === 1) {
      const input = inputs[0]
      const emitted = fresh.filter((entry) => entry.kind === "domain" && entry.metadata?.causationId === input.eventId).map((entry) => ({ ...entry.data, type: entry.type }))
      steps = [...steps, { step: steps.length + 1, streamVersion: input.streamVersion, input, state: now.state, context: now.context, emitted }]
      if (atNewest) selected = steps.length - 1
    }
    instance = now
    regroup()
    drawNow((await getJson(`${base}/pending`, { signal: controller.signal })).items)
  }

  const replayAgainst = async () => {
    const picked = versionPicker.value
    if (picked === "") {
      departsAt = null
      replayResult.textContent = ""
      delete replayResult.dataset.outcome
      timeline.redraw()
      return
    }
    const replayed = await getJson(withQuery(`${base}/replay`, { version: picked }), { signal: controller.signal })
    departsAt = replayed.divergence === null ? null : replayed.divergence.streamVersion
    replayResult.dataset.outcome = replayed.divergence === null ? "same" : "departs"
    replayResult.textContent = visible(
      replayed.divergence === null
        ? `v${picked} takes every recorded step the same way`
        : `v${picked} departs at step ${replayed.divergence.step}: recorded ${JSON.stringify(replayed.divergence.expected)}, v${picked} gives ${JSON.stringify(replayed.divergence.actual)}`
    )
    timeline.redraw()
  }
  versionPicker.addEventListener("change", () => void replayAgainst().catch(report))

  let following = false
  /**
   * Follows the instance's stream while it runs. Called on load and after every refresh, so an
   * instance that ended and came back (a failed one retried from this page) is followed again
   * from where the page stands, without a reload.
   */
  const followLive = () => {
    if (following || controller.signal.aborted) return
    if (instance.status !== "running") {
      liveLabel.textContent = `ended: ${instance.status}`
      liveLabel.classList.remove("on")
      return
    }
    following = true
    liveLabel.textContent = "live"
    liveLabel.classList.add("on")
    /** @type {any[]} */
    let arrived = []
    let reading = Promise.resolve()
    follow(
      withQuery(`${base}/stream`, { after: instance.streamVersion }),
      (event, data) => {
        if (event === "entry") arrived.push(data)
        if (event === "end") {
          liveLabel.textContent = `ended: ${data.status}`
          liveLabel.classList.remove("on")
        }
        if (event !== "state") return
        // Entries arrive in bursts, each followed by the state: take each burst in turn.
        const burst = arrived
        arrived = []
        reading = reading.then(() => advance(burst, data)).catch(report)
      },
      controller.signal
    )
      .catch(report)
      .finally(() => {
        following = false
      })
  }

  const start = async () => {
    instance = await getJson(base, { signal: controller.signal })
    const machine = await machineOf(type, controller.signal)
    types = (await getJson("/machines", { signal: controller.signal })).items.map((/** @type {any} */ item) => item.type)
    version = machine.versions.find((/** @type {any} */ v) => v.version === instance.machineVersion)
    fill(versionPicker, h("option", { value: "" }, "—"), ...machine.versions.map((/** @type {any} */ v) => h("option", { value: v.version }, `v${v.version}${v.version === instance.machineVersion ? " (its own)" : ""}`)))
    layout = version === undefined ? undefined : await layoutOf(type, version)
    if (version === undefined) fill(chartBox, h("p", { class: "empty" }, `Version ${instance.machineVersion} of ${type} is not served here: there is no chart to draw.`))
    await refresh()
  }
  start().catch((error) => {
    if (controller.signal.aborted) return
    // The instance (or its type) is not there: say so, rather than a page that never loads.
    if (isNotFound(error) && instance === undefined) {
      controller.abort()
      notFound(main, `No instance ${id} of ${type} is recorded here.`, error)
    } else showError(chartBox, error)
  })
  return () => controller.abort()
}

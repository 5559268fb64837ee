// One instance: its statechart lit at the step picked on its timeline (time travel: the
// state, context and emitted events after any recorded input, re-derived by replay), what
// it waits on, its whole history, live while it runs, and a replay against another
// version of its machine.

import { ApiError, follow, getJson, segment, withQuery } from "../api.js"
import { clock, fill, h, pretty, stateLabel, visible } from "../dom.js"
import { report } from "../notice.js"
import { activeStates, drawChart } from "../statechart.js"
import { isNotFound, layoutOf, machineOf, notFound, showError, statusBadge } from "./shared.js"

/** A short line for a history entry's data. @param {any} entry */
const summary = (entry) => {
  const data = entry.data
  if (entry.type === "workflow.event_received" && data?.event !== undefined) return JSON.stringify(data.event)
  if (entry.type === "workflow.started" && data?.input !== undefined) return JSON.stringify(data.input)
  const text = JSON.stringify(data)
  return text === undefined || text === "{}" ? "" : text.length > 160 ? `${text.slice(0, 157)}…` : text
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
  const timeline = h("ol", { class: "timeline" })
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
    h("div", { class: "instance-body" }, chartBox, h("div", {}, stepPanel, waiting)),
    h("h2", {}, "History"),
    timeline
  )

  const controller = new AbortController()
  /** @type {any} */ let instance
  /** @type {any} */ let version
  /** @type {any} */ let layout
  /** @type {any[]} */ let steps = []
  /** @type {any[]} */ let history = []
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

  const drawTimeline = () => {
    const step = steps[selected]
    const nextStep = steps[selected + 1]
    fill(
      timeline,
      ...history.map((entry) => {
        const stepIndex = entry.kind === "input" ? steps.findIndex((s) => s.streamVersion === entry.streamVersion) : -1
        const inStep = step !== undefined && entry.streamVersion >= step.streamVersion && (nextStep === undefined || entry.streamVersion < nextStep.streamVersion)
        const classes = ["entry", `kind-${entry.kind}`, inStep ? "in-step" : "", stepIndex === selected ? "selected" : "", departsAt === entry.streamVersion ? "departs" : ""].filter(Boolean).join(" ")
        const item = h(
          "li",
          { class: classes, "data-version": entry.streamVersion, "data-step": stepIndex >= 0 ? stepIndex + 1 : undefined },
          h("span", { class: "version" }, `#${entry.streamVersion}`),
          h("span", { class: "kind" }, entry.kind),
          h("span", { class: "type" }, entry.type),
          h("code", { class: "to-state" }, entry.kind === "input" && entry.metadata?.state !== undefined ? `→ ${stateLabel(entry.metadata.state)}` : ""),
          h("span", { class: "data" }, summary(entry)),
          h("time", {}, clock(entry.time))
        )
        if (stepIndex >= 0) {
          item.tabIndex = 0
          item.addEventListener("click", () => select(stepIndex))
          item.addEventListener("keydown", (event) => {
            if (event.key === "Enter") select(stepIndex)
          })
        }
        return item
      })
    )
  }

  const drawStep = () => {
    const step = steps[selected]
    slider.max = String(Math.max(1, steps.length))
    slider.value = String(selected + 1)
    stepLabel.textContent = steps.length === 0 ? "no steps" : `step ${selected + 1} of ${steps.length}`
    if (layout !== undefined && version !== undefined) {
      fill(chartBox, drawChart(layout, { active: step === undefined ? new Set() : activeStates(version, step.state) }))
    }
    if (step === undefined) {
      fill(stepPanel, h("p", { class: "empty" }, "Nothing replayed yet."))
    } else {
      fill(
        stepPanel,
        h("h2", {}, `After step ${step.step}`),
        h("p", {}, h("strong", {}, step.input.type), " at ", clock(step.input.time)),
        h("dl", {}, h("dt", {}, "input"), h("dd", {}, h("pre", { class: "input" }, pretty(step.input.data)))),
        h("dl", {}, h("dt", {}, "state"), h("dd", {}, h("code", { class: "step-state" }, stateLabel(step.state)))),
        h("dl", {}, h("dt", {}, "context"), h("dd", {}, h("pre", { class: "context" }, pretty(step.context)))),
        h("dl", {}, h("dt", {}, "emitted"), h("dd", {}, step.emitted.length === 0 ? "nothing" : h("ul", { class: "emitted" }, step.emitted.map((/** @type {any} */ event) => h("li", {}, h("code", {}, JSON.stringify(event)))))))
      )
    }
    drawTimeline()
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
                task.lockedBy === null ? (task.kind === "timer" ? "" : " · waiting for a worker") : ` · held by ${task.lockedBy} until ${clock(task.leasedUntil)}`,
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

  /**
   * A history changed behind the log's back cannot be shown or replayed: say
   * where it breaks and what to do, instead of a page that never loads.
   * @param {{ stream: string, version: number }} at
   */
  const drawBroken = (at) => {
    drawHead()
    const says = `The history of this instance is broken at version ${at.version} of stream ${at.stream}: the row does not match its hash chain, so it was changed or removed behind the log's back. Time travel and replay need the whole history. Run orrery doctor to find every broken stream.`
    fill(stepPanel, h("p", { class: "broken" }, says))
    fill(timeline, h("li", { class: "broken", "data-stream": at.stream, "data-version": at.version }, `version ${at.version}: does not match its hash chain`))
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
    drawHead()
    drawStep()
    drawWaiting(tasks.items)
  }

  const replayAgainst = async () => {
    const picked = versionPicker.value
    if (picked === "") {
      departsAt = null
      replayResult.textContent = ""
      delete replayResult.dataset.outcome
      drawTimeline()
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
    drawTimeline()
  }
  versionPicker.addEventListener("change", () => void replayAgainst().catch(report))

  const start = async () => {
    instance = await getJson(base, { signal: controller.signal })
    const machine = await machineOf(type, controller.signal)
    version = machine.versions.find((/** @type {any} */ v) => v.version === instance.machineVersion)
    fill(versionPicker, h("option", { value: "" }, "—"), ...machine.versions.map((/** @type {any} */ v) => h("option", { value: v.version }, `v${v.version}${v.version === instance.machineVersion ? " (its own)" : ""}`)))
    layout = version === undefined ? undefined : await layoutOf(type, version)
    if (version === undefined) fill(chartBox, h("p", { class: "empty" }, `Version ${instance.machineVersion} of ${type} is not served here: there is no chart to draw.`))
    await refresh()
    if (instance.status !== "running") {
      liveLabel.textContent = `ended: ${instance.status}`
      return
    }
    liveLabel.textContent = "live"
    liveLabel.classList.add("on")
    let pending = false
    await follow(
      withQuery(`${base}/stream`, { after: instance.streamVersion }),
      (event, data) => {
        if (event === "end") {
          liveLabel.textContent = `ended: ${data.status}`
          liveLabel.classList.remove("on")
        }
        if (event !== "state" && event !== "end") return
        // Entries arrive in bursts, each followed by the state: read the whole picture once per burst.
        if (pending) return
        pending = true
        setTimeout(() => {
          pending = false
          refresh().catch(report)
        }, 50)
      },
      controller.signal
    )
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

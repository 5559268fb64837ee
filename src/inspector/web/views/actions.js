// Acting on an instance from its page: send one of the events its current state takes
// (a form built from the event's schema), run a failed activity again, or cancel it — the
// last two after a confirmation. A refusal is shown as the API gives it (its error and
// message); a success redraws the page through `onChanged`.

import { ApiError, postJson } from "../api.js"
import { fill, h } from "../dom.js"
import { payloadForm } from "../schema-form.js"

/**
 * The events a client may send that a transition of an active state takes: what the
 * instance can do now (guards are the server's to judge).
 *
 * @example
 * sendableNow(version, new Set(["closed"])) // ["LOCK", "OPEN"]
 * @param {any} version the machine version's graph (`/machines/{type}`)
 * @param {Set<string>} active the active state ids
 * @returns {string[]}
 */
export const sendableNow = (version, active) => {
  const accepts = Object.keys(version?.accepts ?? {})
  const enabled = new Set(
    (version?.transitions ?? [])
      .filter((/** @type {any} */ t) => t.trigger === "event" && active.has(t.source))
      .map((/** @type {any} */ t) => t.event)
  )
  return accepts.filter((type) => enabled.has(type) || enabled.has("*")).sort()
}

/**
 * The actions panel; `update` redraws it for the instance as it is now.
 *
 * @example
 * const actions = actionsPanel(`/workflows/door/d-1`, () => refresh())
 * actions.update(instance, version, activeStates(version, instance.state))
 * @param {string} base the instance's API path
 * @param {() => void} onChanged
 */
export const actionsPanel = (base, onChanged) => {
  const element = h("section", { class: "actions", "aria-label": "act on this instance" })
  const outcome = h("p", { class: "outcome", role: "status" })
  /** @type {string | undefined} */ let picked

  /** @param {unknown} error */
  const refused = (error) => {
    outcome.className = "outcome refusal"
    outcome.textContent = error instanceof ApiError ? `${error.error}: ${error.message}` : String(error)
  }
  /** @param {string} text */
  const done = (text) => {
    outcome.className = "outcome done"
    outcome.textContent = text
    onChanged()
  }

  /** Asks before an operation that cannot be taken back. @param {string} question @param {HTMLElement | null} extra @param {() => Promise<void>} go */
  const confirmThen = (question, extra, go) => {
    const bar = h(
      "div",
      { class: "confirm", role: "alertdialog", "aria-label": question },
      h("span", {}, question),
      extra,
      h("button", { type: "button", class: "confirm-yes", onclick: () => void go().then(() => bar.remove(), refused) }, "Yes"),
      h("button", { type: "button", class: "confirm-no", onclick: () => bar.remove() }, "No")
    )
    element.querySelector(".confirm")?.remove()
    element.appendChild(bar)
  }

  /** @type {[any, any, Set<string>] | undefined} */ let shown

  /** @param {any} instance @param {any} version @param {Set<string>} active */
  const update = (instance, version, active) => {
    shown = [instance, version, active]
    const running = instance.status === "running"
    const events = running && instance.corrupted === undefined ? sendableNow(version, active) : []
    if (picked !== undefined && !events.includes(picked)) picked = undefined
    picked ??= events[0]
    const form = picked === undefined ? undefined : payloadForm(version?.accepts?.[picked], picked)
    const picker = /** @type {HTMLSelectElement} */ (h("select", { class: "event-picker", "aria-label": "event to send" }, ...events.map((type) => h("option", { value: type, selected: type === picked }, type))))
    picker.addEventListener("change", () => {
      picked = picker.value
      update(instance, version, active)
    })
    const send = async () => {
      if (picked === undefined || form === undefined) return
      const read = form.read()
      if (!read.ok) return refused(`${read.field} ${read.reason}`)
      try {
        const after = await postJson(`${base}/events`, { ...read.payload, type: picked })
        done(`${picked} taken: now ${after.status} in ${typeof after.state === "string" ? after.state : JSON.stringify(after.state)}`)
      } catch (error) {
        refused(error)
      }
    }
    const reason = /** @type {HTMLInputElement} */ (h("input", { type: "text", class: "cancel-reason", "aria-label": "reason", placeholder: "reason" }))
    fill(
      element,
      h("h2", {}, "Act"),
      events.length === 0
        ? h("p", { class: "empty" }, instance.corrupted !== undefined ? "It is marked corrupted: it takes no input until it is verified." : running ? "No event a client may send is taken in this state." : `It is ${instance.status}: it takes no more events.`)
        : h(
            "form",
            { class: "send-event", onsubmit: (/** @type {Event} */ event) => (event.preventDefault(), void send()) },
            h("label", {}, "Send ", picker),
            form?.element ?? null,
            h("button", { type: "submit", class: "send" }, "Send")
          ),
      h(
        "div",
        { class: "operations" },
        instance.status === "failed"
          ? h("button", { type: "button", class: "retry", onclick: () => confirmThen("Run its failed activity again?", null, async () => void done(`retrying: ${(await postJson(`${base}/retry`)).status}`)) }, "Retry…")
          : null,
        running
          ? h("button", { type: "button", class: "cancel", onclick: () => confirmThen("Cancel this instance (and its children)?", reason, async () => void done(`cancelled: ${(await postJson(`${base}/cancel`, reason.value === "" ? {} : { reason: reason.value })).status}`)) }, "Cancel…")
          : null
      ),
      outcome
    )
  }

  /** Picks an event (an arrow clicked on the chart) and puts the cursor in its form. @param {string} type */
  const choose = (type) => {
    picked = type
    if (shown !== undefined) update(...shown)
    const first = /** @type {HTMLElement | null | undefined} */ (element.querySelector("form.send-event")?.querySelector("input, select, textarea, button.send"))
    first?.focus()
  }

  return { element, update, choose }
}

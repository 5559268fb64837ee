// Finding an instance by its id, of any type (the top bar's search box): the instances
// with exactly that id first, then those whose id begins with it. One exact match — or,
// with none, a single one that begins so — opens it at once.

import { getJson, segment, withQuery } from "../api.js"
import { clock, fill, h, stateLabel } from "../dom.js"
import { showError, statusBadge, table } from "./shared.js"

const shown = 50

/** @type {import("../app.js").View} */
export const searchView = (main, _params, query) => {
  const text = (query.get("q") ?? "").trim()
  const body = h("div", { class: "search-results" }, h("p", { class: "loading" }, "Searching…"))
  fill(main, h("h1", {}, "Instances with id ", h("code", {}, text)), body)
  if (text === "") {
    fill(body, h("p", { class: "empty" }, "Type an instance id (or how it begins) in the search box above."))
    return
  }
  const controller = new AbortController()
  const signal = controller.signal
  Promise.all([getJson(withQuery("/workflows", { id: text, limit: shown }), { signal }), getJson(withQuery("/workflows", { idPrefix: text, limit: shown }), { signal })])
    .then(([exact, prefixed]) => {
      if (signal.aborted) return
      const exactIds = new Set(exact.items.map((/** @type {any} */ item) => `${item.type}/${item.id}`))
      const others = prefixed.items.filter((/** @type {any} */ item) => !exactIds.has(`${item.type}/${item.id}`))
      const items = [...exact.items, ...others]
      const only = exact.items.length === 1 ? exact.items[0] : exact.items.length === 0 && items.length === 1 ? items[0] : undefined
      if (only !== undefined) {
        // Straight to it; "back" returns to where the search began, not to this page.
        location.replace(`#/instances/${segment(only.type)}/${segment(only.id)}`)
        return
      }
      fill(
        body,
        table(
          ["instance", "type", "match", "status", "state", "last moved"],
          items.map((item) => [
            h("a", { href: `#/instances/${segment(item.type)}/${segment(item.id)}` }, item.id),
            h("a", { href: `#/machines/${segment(item.type)}` }, item.type),
            exactIds.has(`${item.type}/${item.id}`) ? "exact" : "begins with",
            statusBadge(item.status),
            h("code", {}, stateLabel(item.state)),
            clock(item.updatedAt)
          ]),
          { class: "search-list", empty: `No instance has the id ${text}, nor one beginning with it.`, rowAttributes: (index) => ({ "data-type": items[index].type, "data-id": items[index].id }) }
        ),
        prefixed.nextCursor === null ? null : h("p", { class: "empty" }, `Only the newest ${shown} beginning with ${text} are listed: type more of the id.`)
      )
    })
    .catch((error) => showError(body, error))
  return () => controller.abort()
}

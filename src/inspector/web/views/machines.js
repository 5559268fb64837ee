// The catalogue: every workflow type with its instances counted by status.

import { getJson, segment } from "../api.js"
import { fill, h } from "../dom.js"
import { every, showError, table } from "./shared.js"

const statuses = ["running", "done", "failed", "cancelled"]

/** @type {import("../app.js").View} */
export const machinesView = (main) => {
  const body = h("div", { class: "machines" }, h("p", { class: "loading" }, "Loading…"))
  fill(main, h("h1", {}, "Machines"), body)
  return every(
    async (signal) => {
      const catalogue = await getJson("/machines", { signal })
      const counts = await Promise.all(catalogue.items.map((/** @type {any} */ item) => getJson(`/machines/${segment(item.type)}/states`, { signal })))
      const rows = catalogue.items.map((/** @type {any} */ item, /** @type {number} */ index) => {
        /** @type {Record<string, number>} */
        const byStatus = Object.fromEntries(statuses.map((status) => [status, 0]))
        for (const row of counts[index].items) byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count
        return [
          h("a", { href: `#/machines/${segment(item.type)}` }, item.type),
          item.kind,
          item.versions.join(", "),
          ...statuses.map((status) => h("span", { class: byStatus[status] > 0 ? `count-${status}` : "zero", "data-status": status }, String(byStatus[status])))
        ]
      })
      fill(body, table(["type", "kind", "versions", ...statuses], rows, { class: "catalogue", empty: "No workflow types are registered." }))
    },
    3000,
    (error) => showError(body, error)
  )
}

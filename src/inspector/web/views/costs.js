// Generation costs (the back office's `generation-costs` read model, GET /costs): what the
// model calls and images cost in all, per model, per ebook and per writing project, and
// one ebook's bill. Amounts are exact decimals the server sends as strings; they are
// shown as sent, never added up here in floating point.

import { ApiError, getJson, segment } from "../api.js"
import { clock, fill, h } from "../dom.js"
import { report } from "../notice.js"
import { every, statusBadge, table } from "./shared.js"

/** `"0.123000"` → `$0.123000`. @param {string | null | undefined} amount */
const usd = (amount) => (amount === null || amount === undefined ? "—" : `$${amount}`)

/** @param {number} n */
const count = (n) => n.toLocaleString("en-US")

/** @param {string} label @param {string} value @param {string} name */
const figure = (label, value, name) => h("div", { class: "figure", "data-figure": name }, h("span", { class: "value" }, value), h("span", { class: "label" }, label))

/** @param {any[]} byModel */
const modelTable = (byModel) =>
  table(
    ["model", "calls", "prompt tokens", "completion tokens", "images", "cost"],
    byModel.map((row) => [
      h("code", {}, row.model),
      count(row.calls),
      count(row.promptTokens),
      count(row.completionTokens),
      count(row.images),
      row.priced ? usd(row.costUsd) : h("span", { class: "unpriced", title: "no price for this model in the price table" }, `${usd(row.costUsd)} (no price)`)
    ]),
    { class: "by-model", empty: "No model calls yet.", rowAttributes: (index) => ({ "data-model": byModel[index].model }) }
  )

/** @type {import("../app.js").View} */
export const costsView = (main) => {
  const body = h("div", { class: "costs" }, h("p", { class: "loading" }, "Loading…"))
  const updated = h("small", { class: "updated" })
  fill(main, h("h1", {}, "Generation costs ", updated), body)
  return every(
    async (signal) => {
      const costs = await getJson("/costs?limit=1000", { signal })
      updated.textContent = `updated ${clock(new Date())}`
      fill(
        body,
        h(
          "div",
          { class: "figures" },
          figure("total cost", usd(costs.totalCostUsd), "total"),
          figure("model calls", count(costs.calls), "calls"),
          figure("prompt tokens", count(costs.promptTokens), "promptTokens"),
          figure("completion tokens", count(costs.completionTokens), "completionTokens"),
          figure("images", count(costs.images), "images")
        ),
        h("h2", {}, "By model"),
        modelTable(costs.byModel),
        h("h2", {}, `Ebooks (${costs.ebooksTotal})`),
        table(
          ["ebook", "title", "status", "calls", "tokens", "images", "cost", "calculated at the end"],
          costs.ebooks.map((/** @type {any} */ ebook) => [
            h("a", { href: `#/costs/${segment(ebook.ebookId)}` }, ebook.ebookId),
            ebook.title,
            statusBadge(ebook.status),
            count(ebook.calls),
            count(ebook.promptTokens + ebook.completionTokens),
            count(ebook.images),
            usd(ebook.totalCostUsd),
            usd(ebook.calculatedCostUsd)
          ]),
          { class: "ebooks", empty: "No ebook generated yet.", rowAttributes: (index) => ({ "data-ebook": costs.ebooks[index].ebookId }) }
        ),
        h("h2", {}, `Writing projects (${costs.projectsTotal})`),
        table(
          ["project", "calls", "prompt tokens", "completion tokens", "cost"],
          costs.projects.map((/** @type {any} */ project) => [
            h("code", {}, project.projectId),
            count(project.calls),
            count(project.promptTokens),
            count(project.completionTokens),
            usd(project.totalCostUsd)
          ]),
          { class: "projects", empty: "No chapter generated yet.", rowAttributes: (index) => ({ "data-project": costs.projects[index].projectId }) }
        )
      )
    },
    3000,
    report
  )
}

/** @type {import("../app.js").View} */
export const ebookCostView = (main, { ebookId = "" }) => {
  const body = h("div", { class: "ebook-cost" }, h("p", { class: "loading" }, "Loading…"))
  fill(main, h("p", { class: "crumbs" }, h("a", { href: "#/costs" }, "Generation costs"), " / ", ebookId), body)
  return every(
    async (signal) => {
      const cost = await getJson(`/costs/${segment(ebookId)}`, { signal })
      // The demo and most callers name the saga after its ebook; link it when there is one.
      const instance = await getJson(`/workflows/ebook-generation/${segment(ebookId)}`, { signal }).catch((error) => {
        if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return null
        throw error
      })
      fill(
        body,
        h("h1", {}, cost.title ?? ebookId, " ", statusBadge(cost.status)),
        h(
          "p",
          { class: "facts" },
          cost.pages === null ? null : `${cost.pages} pages · `,
          cost.startedAt === null ? null : `started ${clock(cost.startedAt)}`,
          cost.finishedAt === null ? null : ` · finished ${clock(cost.finishedAt)}`,
          instance === null ? null : [" · ", h("a", { href: `#/instances/ebook-generation/${segment(ebookId)}`, class: "saga-link" }, "its saga")]
        ),
        cost.reason === null ? null : h("p", { class: "reason" }, cost.reason),
        h(
          "div",
          { class: "figures" },
          figure("cost of its calls", usd(cost.totalCostUsd), "total"),
          figure("cost the saga calculated", usd(cost.calculatedCostUsd), "calculated"),
          figure("model calls", count(cost.calls), "calls"),
          figure("images", count(cost.images), "images")
        ),
        h("h2", {}, "By model"),
        modelTable(cost.byModel)
      )
    },
    3000,
    (error) => (error instanceof ApiError && error.status === 404 ? fill(body, h("p", { class: "empty" }, `No ebook ${ebookId} in the generation costs.`)) : report(error))
  )
}

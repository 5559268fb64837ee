// The writing domain's page in the inspector (its `inspector.pages`, see ../index.ts):
// generation costs (the back office's `generation-costs` read model, GET /costs): what the
// model calls and images cost in all, per model, per ebook and per writing project, and
// one ebook's bill (#/costs/<ebookId>). Amounts are exact decimals the server sends as
// strings; they are shown as sent, never added up here in floating point. The module
// imports nothing: the inspector hands it its helpers.

/** @typedef {import("../../../src/inspector/web/kit.js").PageContext["inspector"]} Kit */

/** `"0.123000"` → `$0.123000`. @param {string | null | undefined} amount */
const usd = (amount) => (amount === null || amount === undefined ? "—" : `$${amount}`)

/** @param {number} n */
const count = (n) => n.toLocaleString("en-US")

/** @param {Kit} kit @param {string} label @param {string} value @param {string} name */
const figure = ({ h }, label, value, name) => h("div", { class: "figure", "data-figure": name }, h("span", { class: "value" }, value), h("span", { class: "label" }, label))

/** @param {Kit} kit @param {any[]} byModel */
const modelTable = ({ h, table }, byModel) =>
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

/** @param {HTMLElement} main @param {Kit} kit */
const costsView = (main, kit) => {
  const { getJson, segment, clock, fill, h, every, statusBadge, table } = kit
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
          figure(kit, "total cost", usd(costs.totalCostUsd), "total"),
          figure(kit, "model calls", count(costs.calls), "calls"),
          figure(kit, "prompt tokens", count(costs.promptTokens), "promptTokens"),
          figure(kit, "completion tokens", count(costs.completionTokens), "completionTokens"),
          figure(kit, "images", count(costs.images), "images")
        ),
        h("h2", {}, "By model"),
        modelTable(kit, costs.byModel),
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
    (error) => kit.showError(body, error)
  )
}

/** @param {HTMLElement} main @param {Kit} kit @param {string} ebookId */
const ebookCostView = (main, kit, ebookId) => {
  const { ApiError, getJson, segment, clock, fill, h, every, statusBadge } = kit
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
          figure(kit, "cost of its calls", usd(cost.totalCostUsd), "total"),
          figure(kit, "cost the saga calculated", usd(cost.calculatedCostUsd), "calculated"),
          figure(kit, "model calls", count(cost.calls), "calls"),
          figure(kit, "images", count(cost.images), "images")
        ),
        h("h2", {}, "By model"),
        modelTable(kit, cost.byModel)
      )
    },
    3000,
    (error) => (error instanceof ApiError && error.status === 404 ? fill(body, h("p", { class: "empty" }, `No ebook ${ebookId} in the generation costs.`)) : kit.showError(body, error))
  )
}

/** @type {import("../../../src/inspector/web/kit.js").Page} */
export default (main, { params, inspector }) => (params.length === 0 ? costsView(main, inspector) : ebookCostView(main, inspector, params.join("/")))

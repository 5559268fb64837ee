// The inspector's shell: the token form, the search box, the notice line, the navigation
// (the machines, and the pages the served domains add: GET /inspect/pages), and a hash
// router that mounts one view at a time (each view returns a function that stops what it
// started).

import { getJson, token, withQuery } from "./api.js"
import { fill, h } from "./dom.js"
import { inspector } from "./kit.js"
import { clearNotice, report } from "./notice.js"
import { instanceView } from "./views/instance.js"
import { machineView } from "./views/machine.js"
import { machinesView } from "./views/machines.js"
import { searchView } from "./views/search.js"
import { showError } from "./views/shared.js"

/** @typedef {(main: HTMLElement, params: Record<string, string>, query: URLSearchParams) => (() => void) | void} View */

/** @type {Array<[RegExp, string[], View, string]>} */
const routes = [
  [/^\/$/, [], machinesView, "machines"],
  [/^\/machines\/([^/]+)$/, ["type"], machineView, "machines"],
  [/^\/instances\/([^/]+)\/([^/]+)$/, ["type", "id"], instanceView, "machines"],
  [/^\/search$/, [], searchView, "search"]
]

/**
 * A page a served domain adds: its tab, and its module under /inspect/.
 * @typedef {{ domain: string, path: string, title: string, module: string }} DomainPage
 */

const main = /** @type {HTMLElement} */ (document.getElementById("view"))
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"))
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById("token"))
const searchInput = /** @type {HTMLInputElement} */ (document.getElementById("search"))

/** The domains' pages; read once, before the first view, so that a link to one works. @type {Promise<DomainPage[]>} */
const domainPages = getJson("/inspect/pages")
  .then((answer) => /** @type {DomainPage[]} */ (answer.items))
  .catch((error) => {
    report(error)
    return []
  })
  .then((pages) => {
    for (const page of pages) nav.appendChild(h("a", { href: `#/${page.path}`, "data-nav": page.path, "data-domain": page.domain }, page.title))
    return pages
  })

/** @type {(() => void) | void} */
let stop
/** Which render is current: a domain's module arrives later, maybe after the user moved on. */
let rendering = 0

/** @param {string} section */
const markNav = (section) => {
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("current", /** @type {HTMLElement} */ (link).dataset.nav === section)
}

const render = async () => {
  const current = ++rendering
  if (typeof stop === "function") stop()
  stop = undefined
  clearNotice()
  const [path = "/", search = ""] = (location.hash.slice(1) || "/").split("?")
  const query = new URLSearchParams(search)
  if (path === "/search") searchInput.value = query.get("q") ?? ""
  for (const [pattern, names, view, section] of routes) {
    const match = pattern.exec(path)
    if (match === null) continue
    const params = Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? "")]))
    markNav(section)
    fill(main)
    try {
      stop = view(main, params, query)
    } catch (error) {
      showError(main, error)
    }
    return
  }
  const pages = await domainPages
  if (current !== rendering) return
  const page = pages.find((candidate) => path === `/${candidate.path}` || path.startsWith(`/${candidate.path}/`))
  if (page !== undefined) {
    markNav(page.path)
    fill(main, h("p", { class: "loading" }, "Loading…"))
    try {
      const module = await import(new URL(page.module, new URL("./", import.meta.url)).href)
      if (current !== rendering) return
      fill(main)
      const params = path.slice(page.path.length + 2).split("/").filter((part) => part !== "").map((part) => decodeURIComponent(part))
      stop = module.default(main, { params, query, inspector })
    } catch (error) {
      if (current === rendering) showError(main, error)
    }
    return
  }
  markNav("")
  fill(
    main,
    h("div", { class: "not-found" }, h("h1", {}, "Not found"), h("p", { class: "what" }, "Nothing lives at this address in the inspector."), h("p", {}, h("a", { href: "#/" }, "See the machines.")))
  )
}

tokenInput.value = token.get()
document.getElementById("token-form")?.addEventListener("submit", (event) => {
  event.preventDefault()
  token.set(tokenInput.value.trim())
  void render()
})
document.getElementById("search-form")?.addEventListener("submit", (event) => {
  event.preventDefault()
  const text = searchInput.value.trim()
  if (text === "") return
  const hash = withQuery("#/search", { q: text })
  if (location.hash === hash) void render()
  else location.hash = hash
})
addEventListener("hashchange", () => void render())
void render()

// The inspector's shell: the token form, the notice line, and a hash router that mounts
// one view at a time (each view returns a function that stops what it started).

import { token } from "./api.js"
import { fill, h } from "./dom.js"
import { clearNotice, report } from "./notice.js"
import { costsView, ebookCostView } from "./views/costs.js"
import { instanceView } from "./views/instance.js"
import { machineView } from "./views/machine.js"
import { machinesView } from "./views/machines.js"

/** @typedef {(main: HTMLElement, params: Record<string, string>, query: URLSearchParams) => (() => void) | void} View */

/** @type {Array<[RegExp, string[], View, string]>} */
const routes = [
  [/^\/$/, [], machinesView, "machines"],
  [/^\/machines\/([^/]+)$/, ["type"], machineView, "machines"],
  [/^\/instances\/([^/]+)\/([^/]+)$/, ["type", "id"], instanceView, "machines"],
  [/^\/costs$/, [], costsView, "costs"],
  [/^\/costs\/([^/]+)$/, ["ebookId"], ebookCostView, "costs"]
]

const main = /** @type {HTMLElement} */ (document.getElementById("view"))
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById("token"))

/** @type {(() => void) | void} */
let stop

const render = () => {
  if (typeof stop === "function") stop()
  stop = undefined
  clearNotice()
  const [path = "/", search = ""] = (location.hash.slice(1) || "/").split("?")
  for (const [pattern, names, view, section] of routes) {
    const match = pattern.exec(path)
    if (match === null) continue
    const params = Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? "")]))
    for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("current", /** @type {HTMLElement} */ (link).dataset.nav === section)
    fill(main)
    try {
      stop = view(main, params, new URLSearchParams(search))
    } catch (error) {
      report(error)
    }
    return
  }
  fill(main, h("h1", {}, "Not here"), h("p", {}, "Nothing lives at this address. ", h("a", { href: "#/" }, "See the machines.")))
}

tokenInput.value = token.get()
document.getElementById("token-form")?.addEventListener("submit", (event) => {
  event.preventDefault()
  token.set(tokenInput.value.trim())
  render()
})
addEventListener("hashchange", render)
render()

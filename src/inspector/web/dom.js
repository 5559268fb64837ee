// Building DOM from data: every value goes in as text or an attribute, never as markup.

/**
 * @param {string} tag
 * @param {Record<string, unknown>} [props] attributes; `class`; `on<event>` handlers
 * @param {...(Node | string | number | null | undefined | false | Array<Node | string | null | undefined | false>)} children
 * @returns {HTMLElement}
 */
export const h = (tag, props = {}, ...children) => {
  const element = document.createElement(tag)
  setProps(element, props)
  append(element, children)
  return element
}

const svgNamespace = "http://www.w3.org/2000/svg"

/**
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {SVGElement}
 */
export const s = (tag, props = {}, ...children) => {
  const element = /** @type {SVGElement} */ (document.createElementNS(svgNamespace, tag))
  setProps(element, props)
  append(element, children)
  return element
}

/** @param {Element} element @param {Record<string, unknown>} props */
const setProps = (element, props) => {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), /** @type {EventListener} */ (value))
    else element.setAttribute(name, value === true ? "" : name === "title" ? visible(String(value)) : String(value))
  }
}

/**
 * Characters that would change how the text around them reads rather than show
 * themselves: controls, and Unicode's direction controls (U+202E makes
 * "exe.txt" read as "txt.exe"). Text from the log shows them as `\u202e`.
 */
const invisible = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** @param {string} text @returns {string} */
export const visible = (text) => text.replace(invisible, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** @param {Node} parent @param {Array<unknown>} children */
const append = (parent, children) => {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    parent.appendChild(child instanceof Node ? child : document.createTextNode(visible(String(child))))
  }
}

/** Replaces what an element holds. @param {Element} element @param {...(Node | string | null | undefined | false)} children */
export const fill = (element, ...children) => {
  element.replaceChildren()
  append(element, children)
  return element
}

/** JSON, indented, for a <pre>. @param {unknown} value */
export const pretty = (value) => (value === undefined ? "—" : JSON.stringify(value, null, 2))

/** `{"a":{"b":"c"}}` → `a.b.c`; a string stays itself. @param {unknown} value @returns {string} */
export const stateLabel = (value) => {
  if (typeof value === "string") return value
  if (value === null || typeof value !== "object") return String(value)
  const parts = Object.entries(value).map(([key, inner]) => {
    const below = stateLabel(inner)
    return typeof inner === "object" && inner !== null && Object.keys(inner).length > 1 ? `${key}.{${below}}` : `${key}.${below}`
  })
  return parts.join(", ")
}

/** @param {string | number | Date} time */
export const clock = (time) => {
  const date = new Date(time)
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")
}

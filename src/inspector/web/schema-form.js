// A form for an event's payload, built from its JSON Schema (the machine's `accepts`, as
// the catalogue serves it): a text box per string, a number box per number, a checkbox per
// boolean, a list per enum, and JSON for anything nested. Required fields are marked; an
// optional field left empty is left out of the payload. The server validates again: the
// form only saves typing.

import { h } from "./dom.js"

/** @typedef {{ type?: string | string[], enum?: unknown[], anyOf?: any[], properties?: Record<string, any>, required?: string[], description?: string }} JsonSchema */

/** The one plain type a field takes, when it takes one. @param {JsonSchema} schema */
const plainType = (schema) => {
  if (Array.isArray(schema.enum) && schema.enum.every((value) => typeof value === "string")) return "enum"
  if (typeof schema.type === "string") return schema.type
  // Effect writes an optional number as number | "Infinity"… | null: a number box still fits.
  const types = (schema.anyOf ?? []).map((option) => option.type)
  if (types.includes("number") || types.includes("integer")) return "number"
  return "json"
}

/**
 * @typedef {object} PayloadForm
 * @property {HTMLElement} element
 * @property {() => { ok: true, payload: Record<string, unknown> } | { ok: false, field: string, reason: string }} read
 */

/**
 * A form for `schema`'s properties; `read` gives the payload, or the first field that is not right.
 *
 * @example
 * const form = payloadForm({ type: "object", properties: { by: { type: "string" } }, required: ["by"] }, "OPEN")
 * const read = form.read() // { ok: true, payload: { by: "ann" } } once filled in
 * @param {JsonSchema | undefined} schema
 * @param {string} eventType for the fields' ids
 * @returns {PayloadForm}
 */
export const payloadForm = (schema, eventType) => {
  const properties = Object.entries(schema?.properties ?? {})
  const required = new Set(schema?.required ?? [])
  /** @type {Array<{ name: string, kind: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement }>} */
  const fields = []
  const rows = properties.map(([name, property]) => {
    const kind = plainType(property)
    const id = `field-${eventType}-${name}`
    /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */
    let input
    if (kind === "enum") {
      input = /** @type {HTMLSelectElement} */ (h("select", { id, name }, required.has(name) ? null : h("option", { value: "" }, "—"), ...property.enum.map((/** @type {string} */ value) => h("option", { value }, value))))
    } else if (kind === "boolean") {
      input = /** @type {HTMLInputElement} */ (h("input", { id, name, type: "checkbox" }))
    } else if (kind === "number" || kind === "integer") {
      input = /** @type {HTMLInputElement} */ (h("input", { id, name, type: "number", step: kind === "integer" ? "1" : "any" }))
    } else if (kind === "string") {
      input = /** @type {HTMLInputElement} */ (h("input", { id, name, type: "text" }))
    } else {
      input = /** @type {HTMLTextAreaElement} */ (h("textarea", { id, name, rows: 2, placeholder: "JSON" }))
    }
    fields.push({ name, kind, input })
    return h("div", { class: "field" }, h("label", { for: id }, name, required.has(name) ? h("span", { class: "required", title: "required" }, " *") : null), input)
  })

  /** @type {PayloadForm["read"]} */
  const read = () => {
    /** @type {Record<string, unknown>} */
    const payload = {}
    for (const { name, kind, input } of fields) {
      if (kind === "boolean") {
        payload[name] = /** @type {HTMLInputElement} */ (input).checked
        continue
      }
      const text = input.value
      if (text === "") {
        if (required.has(name)) return { ok: false, field: name, reason: "is required" }
        continue
      }
      if (kind === "number" || kind === "integer") {
        const number = Number(text)
        if (!Number.isFinite(number)) return { ok: false, field: name, reason: "is not a number" }
        payload[name] = number
      } else if (kind === "json") {
        try {
          payload[name] = JSON.parse(text)
        } catch {
          return { ok: false, field: name, reason: "is not JSON" }
        }
      } else payload[name] = text
    }
    return { ok: true, payload }
  }

  return {
    element: h("div", { class: "payload-form" }, rows.length === 0 ? h("p", { class: "empty" }, "No payload.") : rows),
    read
  }
}

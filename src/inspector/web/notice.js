// The line under the header where the inspector says what went wrong.

import { ApiError } from "./api.js"
import { visible } from "./dom.js"

const notice = /** @type {HTMLElement} */ (document.getElementById("notice"))

/** Shows what went wrong where the user looks; a missing or refused token says what to do. @param {unknown} error */
export const report = (error) => {
  if (error instanceof DOMException && error.name === "AbortError") return
  const text =
    error instanceof ApiError && error.status === 401
      ? "This server needs an API token: enter one above."
      : error instanceof ApiError && error.status === 403
        ? `That token may not do this: ${error.message}`
        : error instanceof Error
          ? error.message
          : String(error)
  notice.textContent = visible(text)
  notice.hidden = false
  notice.dataset.error = error instanceof ApiError ? error.error : "Error"
}

export const clearNotice = () => {
  notice.hidden = true
  notice.textContent = ""
  delete notice.dataset.error
}


// The line under the header where the inspector says what went wrong.

import { ApiError } from "./api.js"
import { visible } from "./dom.js"

const notice = /** @type {HTMLElement} */ (document.getElementById("notice"))

/** What went wrong, in a sentence: the API's own message; a missing or refused token says what to do. @param {unknown} error */
export const describe = (error) =>
  error instanceof ApiError && error.status === 401
    ? "This server needs an API token: enter one above."
    : error instanceof ApiError && error.status === 403
      ? `That token may not do this: ${error.message}`
      : error instanceof TypeError
        ? `The server did not answer (${error.message}).`
        : error instanceof Error
          ? error.message
          : String(error)

/** An aborted request is the view going away, not a failure. @param {unknown} error */
export const isAbort = (error) => error instanceof DOMException && error.name === "AbortError"

/** Shows what went wrong where the user looks. @param {unknown} error */
export const report = (error) => {
  if (isAbort(error)) return
  const text = describe(error)
  notice.textContent = visible(text)
  notice.hidden = false
  notice.dataset.error = error instanceof ApiError ? error.error : "Error"
}

export const clearNotice = () => {
  notice.hidden = true
  notice.textContent = ""
  delete notice.dataset.error
}


// What a domain's own page (a Domain's `inspector.pages`) gets to draw with: the
// inspector's API calls, DOM helpers and shared pieces, handed to its default export so
// that its module needs no imports (it is served from elsewhere, see plugin.ts).

import { ApiError, getJson, segment, withQuery } from "./api.js"
import { clock, fill, h, pretty, stateLabel } from "./dom.js"
import { report } from "./notice.js"
import { every, showError, statusBadge, table } from "./views/shared.js"

export const inspector = { ApiError, getJson, segment, withQuery, clock, fill, h, pretty, stateLabel, report, every, showError, statusBadge, table }

/**
 * What a domain's page is called with.
 * @typedef {{ params: string[], query: URLSearchParams, inspector: typeof inspector }} PageContext
 * @typedef {(main: HTMLElement, context: PageContext) => (() => void) | void} Page
 */

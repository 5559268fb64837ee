/**
 * This repository's project config: the six domains Orrery ships, the
 * showcase of what a project builds on the public surface (they import only
 * "orrery"). `npm start` serves them with `tsx src/cli/main.ts start --demo`,
 * where tsconfig's `paths` make "orrery" the sources the CLI runs from.
 * Each domain reads its own settings (timer durations, model endpoints) from
 * the environment when this file loads.
 */
import { type Domain, defineConfig } from "orrery"
import { cartDomain } from "./machines/cart/index.js"
import { domain as chapterDomain } from "./machines/chapter/index.js"
import { travelDomain } from "./sagas/booking/index.js"
import { domain as chapterGenerationDomain } from "./sagas/chapter-generation/index.js"
import { domain as ebookGenerationDomain } from "./sagas/ebook-generation/index.js"
import { orderDomain } from "./sagas/order/index.js"

/** The shipped domains, made afresh (tests make their own with the settings they set). */
export const shippedDomains = (): ReadonlyArray<Domain> => [
  cartDomain(),
  orderDomain(),
  travelDomain(),
  chapterDomain(),
  chapterGenerationDomain(),
  ebookGenerationDomain()
]

export default defineConfig({ domains: shippedDomains() })

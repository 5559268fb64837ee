/**
 * The domains Orrery ships with, as the `orrery` command serves them. Each reads
 * its own settings (timer durations, model endpoints) from the environment.
 */
import type { Domain } from "../domain.js"
import { cartDomain } from "../../machines/cart/index.js"
import { orderDomain } from "../../sagas/order/index.js"
import { travelDomain } from "../../sagas/booking/index.js"
import { domain as chapterDomain } from "../../machines/chapter/index.js"
import { domain as chapterGenerationDomain } from "../../sagas/chapter-generation/index.js"
import { domain as ebookGenerationDomain } from "../../sagas/ebook-generation/index.js"

export const shippedDomains = (): ReadonlyArray<Domain> => [
  cartDomain(),
  orderDomain(),
  travelDomain(),
  chapterDomain(),
  chapterGenerationDomain(),
  ebookGenerationDomain()
]

/**
 * The suite's order: its longest files first, then the others as vitest orders them.
 *
 * On a fresh clone vitest has no durations cached and starts the largest files
 * first; a long file of few lines (a subprocess or browser test) then starts
 * last and one worker runs it alone while the other waits. Starting the long
 * ones first lets the two workers finish together. The list is measured (a full
 * run on two cores, 2026-12-08); a file missing from it only loses its place.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node"

const longest = [
  "test/package/fresh-project.test.ts",
  "test/cli/debug-postgres.test.ts",
  "test/domains/durability/sigkill.test.ts",
  "test/engine/differential.test.ts",
  "test/inspector/browser.test.ts",
  "test/cli/project.test.ts",
  "test/cli.test.ts",
  "test/bench/growth.test.ts",
  "test/cli/debug.test.ts",
  "test/inspector/chart.test.ts",
  "test/engine/features.test.ts",
  "test/domains/travel/booking.test.ts",
  "test/engine/processes.test.ts",
  "test/inspector/project.test.ts",
  "test/domains/shop/order.test.ts",
  "test/domains/writing/chapter-generation.test.ts",
  "test/log/contract.test.ts",
  "test/domains/shop/circuit.test.ts",
  "test/engine/census.test.ts",
  "test/domains/shop/cart.test.ts",
  "test/http/sweep.test.ts",
  "test/log/subscriptions.test.ts"
]

const rank = (spec: TestSpecification) => {
  const index = longest.findIndex((file) => spec.moduleId.endsWith(`/${file}`))
  return index === -1 ? longest.length : index
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const sorted = await super.sort(files)
    // Array.prototype.sort is stable: the files not listed keep vitest's order among themselves.
    return sorted.sort((a, b) => rank(a) - rank(b))
  }
}

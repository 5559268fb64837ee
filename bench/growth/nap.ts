/**
 * The growth benchmark's timer workflow: an instance sleeps on one timer an hour
 * ahead and ends when it fires. The benchmark starts thousands, then brings
 * their timers forward to now, so that it can time how late they fire.
 */
import { Schema } from "effect"
import { setup } from "xstate"
import { defineWorkflow } from "../../src/engine/index.js"

/** How far ahead a nap's timer is due: out of every claim's way until the benchmark makes it due. */
export const napMs = 3_600_000

export const napMachine = setup({}).createMachine({
  id: "nap",
  initial: "asleep",
  states: {
    asleep: { after: { [napMs]: "awake" } },
    awake: { type: "final" }
  }
})

export const napWorkflow = defineWorkflow({
  type: "nap",
  version: 1,
  kind: "saga",
  machine: napMachine,
  events: { input: Schema.Struct({}), accepts: {}, emits: [] },
  activities: {},
  snapshotEvery: 1_000_000
})

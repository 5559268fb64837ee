/**
 * A user's workflow with two registered versions, for comparing versions (HTTP and
 * inspector suites). Version 2 opens through a new `opening` state, drops `jammed`
 * (and the JAM and FIX that led in and out of it), and inside `locked` replaces
 * `latched` by `alarmed`:
 *
 * - states added: `opening`, `locked.alarmed`; removed: `jammed`, `locked.latched`;
 * - an instance left on version 1 in `jammed` or `locked.latched` stands in a state
 *   version 2 no longer has.
 */
import { Schema } from "effect"
import { defineWorkflow } from "orrery"
import { setup } from "xstate"

const none = Schema.Struct({})

type GateEvent =
  | { type: "OPEN" }
  | { type: "OPENED" }
  | { type: "CLOSE" }
  | { type: "JAM" }
  | { type: "FIX" }
  | { type: "LOCK" }
  | { type: "UNLOCK" }
  | { type: "UNBOLT" }
  | { type: "BOLT" }
  | { type: "ALARM" }
  | { type: "SILENCE" }
  | { type: "RETIRE" }

const v1 = setup({ types: {} as { events: GateEvent } }).createMachine({
  id: "gate",
  initial: "closed",
  states: {
    closed: { on: { OPEN: "open", LOCK: "locked", RETIRE: "retired" } },
    open: { on: { CLOSE: "closed", JAM: "jammed" } },
    jammed: { initial: "stuck", on: { FIX: "closed" }, states: { stuck: {} } },
    locked: {
      initial: "bolted",
      on: { UNLOCK: "closed" },
      states: { bolted: { on: { UNBOLT: "latched" } }, latched: { on: { BOLT: "bolted" } } }
    },
    retired: { type: "final" }
  }
})

const v2 = setup({ types: {} as { events: GateEvent } }).createMachine({
  id: "gate",
  initial: "closed",
  states: {
    closed: { on: { OPEN: "opening", LOCK: "locked", RETIRE: "retired" } },
    opening: { on: { OPENED: "open" } },
    open: { on: { CLOSE: "closed" } },
    locked: {
      initial: "bolted",
      on: { UNLOCK: "closed" },
      states: { bolted: { on: { ALARM: "alarmed" } }, alarmed: { on: { SILENCE: "bolted" } } }
    },
    retired: { type: "final" }
  }
})

const accepts = (types: ReadonlyArray<GateEvent["type"]>) => Object.fromEntries(types.map((type) => [type, none])) as Record<GateEvent["type"], typeof none>

export const gateV1 = defineWorkflow({
  type: "gate",
  version: 1,
  kind: "aggregate",
  machine: v1,
  events: { input: none, accepts: accepts(["OPEN", "CLOSE", "JAM", "FIX", "LOCK", "UNLOCK", "UNBOLT", "BOLT", "RETIRE"]), emits: [] }
})

export const gateV2 = defineWorkflow({
  type: "gate",
  version: 2,
  kind: "aggregate",
  machine: v2,
  events: { input: none, accepts: accepts(["OPEN", "OPENED", "CLOSE", "LOCK", "UNLOCK", "ALARM", "SILENCE", "RETIRE"]), emits: [] }
})

/** What the comparison of version 1 with version 2 must find, by state key path. */
export const gateChanges = {
  added: ["locked.alarmed", "opening"],
  removed: ["jammed", "jammed.stuck", "locked.latched"]
}

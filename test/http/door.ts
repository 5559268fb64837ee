/**
 * A door with two versions of its machine, for replaying one version's history
 * through the other: version 2 lets OPEN leave the door ajar where version 1 opens it.
 */
import { Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { defineWorkflow } from "../../src/engine/index.js"
import { defineEvent } from "../../src/log/index.js"

const DoorOpened = defineEvent("door.opened", Schema.Struct({ by: Schema.String }))

export const door = (version: number) =>
  defineWorkflow({
    type: "door",
    version,
    kind: "aggregate",
    machine: setup({
      types: {} as { context: { opened: number; by: string | null }; events: { type: "OPEN"; by: string } | { type: "CLOSE" } | { type: "LOCK" } }
    }).createMachine({
      id: "door",
      initial: "closed",
      context: { opened: 0, by: null },
      states: {
        closed: {
          on: {
            // Version 2 lets a door open only part way: the same input leads elsewhere.
            OPEN: {
              target: version === 1 ? "open" : "ajar",
              actions: [assign({ opened: ({ context }) => context.opened + 1, by: ({ event }) => event.by }), emit(({ event }) => ({ type: "door.opened", by: event.by }))]
            },
            LOCK: "locked"
          }
        },
        open: { on: { CLOSE: "closed" } },
        ajar: { on: { CLOSE: "closed" } },
        locked: { type: "final" }
      }
    }),
    events: { input: Schema.Struct({}), accepts: { OPEN: Schema.Struct({ by: Schema.String }), CLOSE: Schema.Struct({}), LOCK: Schema.Struct({}) }, emits: [DoorOpened] }
  })

/** The replay benchmark's machine: three states and a counter, driven by TICK and RESET. */
import { assign, setup } from "xstate"

export const counterMachine = setup({
  types: {} as { context: { count: number; total: number }; events: { type: "TICK" } | { type: "RESET" } }
}).createMachine({
  id: "counter",
  initial: "low",
  context: { count: 0, total: 0 },
  on: { RESET: { target: ".low", actions: assign({ count: 0 }) } },
  states: {
    low: { on: { TICK: [{ guard: ({ context }) => context.count >= 2, target: "high", actions: assign({ count: ({ context }) => context.count + 1, total: ({ context }) => context.total + 1 }) }, { actions: assign({ count: ({ context }) => context.count + 1, total: ({ context }) => context.total + 1 }) }] } },
    high: { on: { TICK: { target: "peak", actions: assign({ count: ({ context }) => context.count + 1, total: ({ context }) => context.total + 1 }) } } },
    peak: { on: { TICK: { target: "low", actions: assign({ count: 0, total: ({ context }) => context.total + 1 }) } } }
  }
})

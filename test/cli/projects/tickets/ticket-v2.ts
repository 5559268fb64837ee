/**
 * The ticket workflow changed: version 2 no longer takes ASSIGN. Replaying a
 * history that has one against it must name the step where it departs.
 */
import { setup } from "xstate"
import { defineWorkflow } from "orrery"
import { ticketWorkflow } from "./ticket.js"

const machine = setup({
  types: {} as { context: { title: string; assignee: string | null; notified: string | null }; input: { title: string }; events: { type: "CLOSE" } }
}).createMachine({
  id: "ticket",
  context: ({ input }) => ({ title: input.title, assignee: null, notified: null }),
  initial: "open",
  states: { open: { on: { CLOSE: "closed" } }, closed: { type: "final" } }
})

export const ticketV2 = defineWorkflow({ ...ticketWorkflow, version: 2, machine, activities: {} } as never)

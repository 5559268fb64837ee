/**
 * A project's own workflow, for the CLI tests: a ticket is opened, assigned,
 * and closed (closing notifies someone through an activity). It imports only
 * "orrery", "effect" and "xstate", as a user's project does.
 */
import { Effect, Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { activityLogic, defineActivity, defineEvent, defineWorkflow } from "orrery"

export const TicketAssigned = defineEvent("ticket.assigned", Schema.Struct({ to: Schema.String }))

const machine = setup({
  types: {} as {
    context: { title: string; assignee: string | null; notified: string | null }
    input: { title: string }
    events: { type: "ASSIGN"; to: string } | { type: "CLOSE" }
  },
  actors: { notify: activityLogic<{ title: string }, { id: string }>() }
}).createMachine({
  id: "ticket",
  context: ({ input }) => ({ title: input.title, assignee: null, notified: null }),
  initial: "open",
  states: {
    open: {
      on: {
        ASSIGN: { actions: [assign({ assignee: ({ event }) => event.to }), emit(({ event }) => ({ type: "ticket.assigned", to: event.to }))] },
        CLOSE: "closing"
      }
    },
    closing: {
      invoke: { id: "notify", src: "notify", input: ({ context }) => ({ title: context.title }), onDone: { target: "closed", actions: assign({ notified: ({ event }) => event.output.id }) } }
    },
    closed: { type: "final" }
  }
})

export const ticketWorkflow = defineWorkflow({
  type: "ticket",
  version: 1,
  kind: "aggregate",
  machine,
  events: {
    input: Schema.Struct({ title: Schema.String }),
    accepts: { ASSIGN: Schema.Struct({ to: Schema.String }), CLOSE: Schema.Struct({}) },
    emits: [TicketAssigned]
  },
  activities: {
    notify: defineActivity({ run: (input: { title: string }, run) => Effect.succeed({ id: `sent:${input.title}:${run.idempotencyKey.length > 0}` }) })
  }
})

/**
 * The workflow the client suites drive, shaped like the example: a
 * signup that takes an email, waits for a CONFIRM (or RESENDs), expires on a
 * timer, sends a welcome mail through an activity and finishes with an output.
 * The mail bounces — a non-retryable failure, so the instance fails — for the
 * addresses in `mail.bouncing`, which is what `retry` and `WorkflowFailed` need.
 */
import { Effect, Schema } from "effect"
import { assign, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "../../src/engine/index.js"

export class MailBounced extends Schema.TaggedError<MailBounced>()("MailBounced", { email: Schema.String }) {
  override get message() {
    return `mail to ${this.email} bounced`
  }
}

/** Addresses whose welcome mail bounces (the server runs in the test's process). */
export const mail = { bouncing: new Set<string>() }

interface Context {
  readonly email: string
  readonly expiresInMs: number
  readonly resends: number
  readonly code: string | null
  readonly welcomeId: string | null
}

export interface SignupOutput {
  readonly email: string
  readonly confirmed: boolean
  readonly resends: number
  readonly welcomeId: string | null
}

const machine = setup({
  types: {} as {
    context: Context
    input: { email: string; expiresInMs?: number }
    events: { type: "CONFIRM"; code: string } | { type: "RESEND" }
    output: SignupOutput
  },
  actors: { welcome: activityLogic<{ email: string }, { messageId: string }>() },
  delays: { expiry: ({ context }: { context: Context }) => context.expiresInMs }
}).createMachine({
  id: "signup",
  context: ({ input }) => ({ email: input.email, expiresInMs: input.expiresInMs ?? 24 * 3_600_000, resends: 0, code: null, welcomeId: null }),
  initial: "waiting",
  states: {
    waiting: {
      on: {
        CONFIRM: { target: "welcoming", actions: assign({ code: ({ event }) => event.code }) },
        RESEND: { actions: assign({ resends: ({ context }) => context.resends + 1 }) }
      },
      after: { expiry: "expired" }
    },
    welcoming: {
      invoke: {
        id: "welcome",
        src: "welcome",
        input: ({ context }) => ({ email: context.email }),
        onDone: { target: "welcomed", actions: assign({ welcomeId: ({ event }) => event.output.messageId }) }
      }
    },
    welcomed: { type: "final" },
    expired: { type: "final" }
  },
  output: ({ context }) => ({ email: context.email, confirmed: context.code !== null, resends: context.resends, welcomeId: context.welcomeId })
})

/** The same signup under another type name (the list suite counts its own instances). */
const defineSignup = <const Type extends string>(type: Type) =>
  defineWorkflow({
    type,
    version: 1,
    kind: "saga",
    machine,
    events: {
      input: Schema.Struct({ email: Schema.String, expiresInMs: Schema.optional(Schema.Number) }),
      accepts: {
        CONFIRM: Schema.Struct({ code: Schema.String.check(Schema.isPattern(/^\d{6}$/, { message: "must be six digits" })) }),
        RESEND: Schema.Struct({})
      },
      emits: []
    },
    activities: {
      welcome: defineActivity({
        run: (input: { email: string }) =>
          mail.bouncing.has(input.email) ? Effect.fail(new MailBounced({ email: input.email })) : Effect.succeed({ messageId: `msg-${input.email}` }),
        error: MailBounced,
        nonRetryable: ["MailBounced"]
      })
    }
  })

export const signupWorkflow = defineSignup("signup")
export const newsletterWorkflow = defineSignup("newsletter")

export const workflows = [signupWorkflow, newsletterWorkflow] as const

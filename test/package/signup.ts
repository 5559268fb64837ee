/**
 * A user's workflow, written as a project outside this repository would write
 * it (importing only "orrery", "effect" and "xstate"): a signup waits for a
 * confirmation code for 24 hours, then welcomes the new member through a
 * mailer service, or expires.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { activityLogic, defineActivity, defineEvent, defineWorkflow } from "orrery"

export class MailerDown extends Schema.TaggedError<MailerDown>()("MailerDown", { reason: Schema.String }) {}

export interface MailerShape {
  /** Sends once per key: the same key gives back the same message id. */
  readonly send: (to: string, subject: string, key: string) => Effect.Effect<{ readonly messageId: string }, MailerDown>
}

export class Mailer extends Context.Service<Mailer, MailerShape>()("test/package/Mailer") {
  /** A mailer that keeps what it sent in memory. */
  static readonly recording = () => {
    const sent = new Map<string, { to: string; subject: string }>()
    const layer = Layer.succeed(Mailer, {
      send: (to, subject, key) =>
        Effect.sync(() => {
          if (!sent.has(key)) sent.set(key, { to, subject })
          return { messageId: `msg-${[...sent.keys()].indexOf(key) + 1}` }
        })
    })
    return { layer, sent }
  }
}

export const SignupConfirmed = defineEvent("signup.confirmed", Schema.Struct({ email: Schema.String }))
export const SignupExpired = defineEvent("signup.expired", Schema.Struct({ email: Schema.String }))

const machine = setup({
  types: {} as {
    context: { email: string; attempts: number; messageId: string | null; status: "waiting" | "welcomed" | "expired" }
    input: { email: string }
    events: { type: "CONFIRM"; code: string } | { type: "RESEND" }
    output: { email: string; status: "welcomed" | "expired"; messageId: string | null }
  },
  actors: { sendWelcome: activityLogic<{ email: string }, { messageId: string }>() },
  guards: { rightCode: ({ event }) => event.type === "CONFIRM" && event.code === "123456" }
}).createMachine({
  id: "signup",
  context: ({ input }) => ({ email: input.email, attempts: 0, messageId: null, status: "waiting" }),
  initial: "waiting",
  states: {
    waiting: {
      after: { 86_400_000: { target: "expired", actions: emit(({ context }) => ({ type: "signup.expired", email: context.email })) } },
      on: {
        CONFIRM: [
          { guard: "rightCode", target: "welcoming", actions: emit(({ context }) => ({ type: "signup.confirmed", email: context.email })) },
          { actions: assign({ attempts: ({ context }) => context.attempts + 1 }) }
        ],
        RESEND: {}
      }
    },
    welcoming: {
      invoke: {
        id: "welcome",
        src: "sendWelcome",
        input: ({ context }) => ({ email: context.email }),
        onDone: { target: "welcomed", actions: assign({ messageId: ({ event }) => event.output.messageId }) }
      }
    },
    welcomed: { type: "final", entry: assign({ status: "welcomed" }) },
    expired: { type: "final", entry: assign({ status: "expired" }) }
  },
  output: ({ context }) => ({ email: context.email, status: context.status === "welcomed" ? "welcomed" : "expired", messageId: context.messageId })
})

export const signupWorkflow = defineWorkflow({
  type: "signup",
  version: 1,
  kind: "saga",
  machine,
  events: {
    input: Schema.Struct({ email: Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/, { message: "must be an email address" })) }),
    accepts: { CONFIRM: Schema.Struct({ code: Schema.String }), RESEND: Schema.Struct({}) },
    emits: [SignupConfirmed, SignupExpired]
  },
  activities: {
    sendWelcome: defineActivity({
      run: (input: { email: string }, run) => Mailer.use((mailer) => mailer.send(input.email, "Welcome", run.idempotencyKey)),
      error: MailerDown
    })
  }
})

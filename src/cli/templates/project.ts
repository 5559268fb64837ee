/**
 * The files `orrery init` writes, as text: a small project with one workflow
 * of its own (an activity and a timer), its test on `orrery/testing`, and a
 * README whose two commands work. Kept as strings in a module (not files to
 * copy) so that the build carries them into dist with nothing else to do.
 */

export interface ProjectVersions {
  readonly orrery: string
  readonly effect: string
  readonly xstate: string
  readonly typescript: string
  readonly vitest: string
  readonly typesNode: string
}

export const packageJson = (name: string, versions: ProjectVersions) =>
  `${JSON.stringify(
    {
      name,
      version: "0.1.0",
      private: true,
      type: "module",
      scripts: { start: "orrery start", test: "vitest run", typecheck: "tsc --noEmit" },
      dependencies: { orrery: versions.orrery, effect: versions.effect, xstate: versions.xstate },
      devDependencies: { "@types/node": versions.typesNode, typescript: versions.typescript, vitest: versions.vitest }
    },
    null,
    2
  )}\n`

export const tsconfig = `${JSON.stringify(
  {
    compilerOptions: {
      target: "ES2023",
      lib: ["ES2023"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"]
    },
    include: ["src", "test", "orrery.config.ts"]
  },
  null,
  2
)}\n`

export const vitestConfig = `import { defineConfig } from "vitest/config"

export default defineConfig({
  // The first test Orrery in a test process prepares its database image: a few seconds on a busy machine.
  test: { testTimeout: 30_000, hookTimeout: 30_000 }
})
`

export const gitignore = `node_modules/
.orrery/
`

export const config = `// What \`orrery start\` (and every other orrery command) serves: this project's workflows.
import { defineConfig } from "orrery"
import { Mailer, signupWorkflow } from "./src/signup.js"

export default defineConfig({ workflows: [signupWorkflow], services: Mailer.console })
`

export const workflow = `/**
 * A signup: it waits for the user to confirm their address; confirmed, it
 * sends a welcome mail (an activity); unconfirmed after 24 hours (a timer),
 * it expires.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { assign, emit, setup } from "xstate"
import { activityLogic, defineActivity, defineEvent, defineWorkflow } from "orrery"

/** What the activity needs from the world: swap the layer for your real mailer. */
export class Mailer extends Context.Service<Mailer, {
  /** Sends one mail per key: a retry with the same key sends nothing new. */
  readonly send: (to: string, text: string, key: string) => Effect.Effect<{ readonly messageId: string }>
}>()("app/Mailer") {
  /** Prints instead of sending. */
  static readonly console = Layer.succeed(Mailer, {
    send: (to, text, key) => Effect.sync(() => {
      console.log(\`mail to \${to}: \${text}\`)
      return { messageId: key }
    })
  })
}

export const Welcomed = defineEvent("signup.welcomed", Schema.Struct({ email: Schema.String }))
export const Expired = defineEvent("signup.expired", Schema.Struct({ email: Schema.String }))

const machine = setup({
  types: {} as {
    context: { email: string; messageId: string | null }
    input: { email: string }
    events: { type: "CONFIRM" }
    output: { email: string; welcomed: boolean }
  },
  actors: { sendWelcome: activityLogic<{ email: string }, { messageId: string }>() },
  delays: { confirmWindow: 24 * 60 * 60 * 1000 }
}).createMachine({
  id: "signup",
  context: ({ input }) => ({ email: input.email, messageId: null }),
  initial: "waiting",
  states: {
    waiting: {
      on: { CONFIRM: "welcoming" },
      after: { confirmWindow: { target: "expired", actions: emit(({ context }) => ({ type: "signup.expired", email: context.email })) } }
    },
    welcoming: {
      invoke: {
        id: "welcome",
        src: "sendWelcome",
        input: ({ context }) => ({ email: context.email }),
        onDone: {
          target: "welcomed",
          actions: [
            assign({ messageId: ({ event }) => event.output.messageId }),
            emit(({ context }) => ({ type: "signup.welcomed", email: context.email }))
          ]
        }
      }
    },
    welcomed: { type: "final" },
    expired: { type: "final" }
  },
  output: ({ context }) => ({ email: context.email, welcomed: context.messageId !== null })
})

export const signupWorkflow = defineWorkflow({
  type: "signup",
  version: 1,
  kind: "saga",
  machine,
  events: {
    input: Schema.Struct({ email: Schema.String }),
    accepts: { CONFIRM: Schema.Struct({}) },
    emits: [Welcomed, Expired]
  },
  activities: {
    sendWelcome: defineActivity({
      run: (input: { email: string }, run) => Mailer.use((mailer) => mailer.send(input.email, "Welcome!", run.idempotencyKey))
    })
  }
})
`

export const test = `import { Effect, Layer } from "effect"
import { afterEach, expect, it } from "vitest"
import { createTestOrrery, type TestOrrery } from "orrery/testing"
import { Mailer, signupWorkflow } from "../src/signup.js"

/** A mailer that keeps what it sent, for the test to read back. */
const fakeMailer = () => {
  const sent: Array<string> = []
  const layer = Layer.succeed(Mailer, { send: (to, _text, key) => Effect.sync(() => (sent.push(to), { messageId: key })) })
  return { layer, sent }
}

let t: TestOrrery<typeof signupWorkflow> | undefined
afterEach(async () => t?.close())

it("welcomes a user who confirms", async () => {
  const mailer = fakeMailer()
  t = await createTestOrrery({ workflows: [signupWorkflow], services: mailer.layer })
  const signup = await t.client.start("signup", { email: "ada@example.com" })
  await signup.send({ type: "CONFIRM" })
  expect(await signup.result()).toEqual({ email: "ada@example.com", welcomed: true })
  expect(mailer.sent).toEqual(["ada@example.com"])
})

it("expires after 24 hours without waiting for them", async () => {
  const mailer = fakeMailer()
  t = await createTestOrrery({ workflows: [signupWorkflow], services: mailer.layer })
  const signup = await t.client.start("signup", { email: "bob@example.com" })
  await t.time.advance("24h")
  expect((await signup.get()).state).toBe("expired")
  expect(mailer.sent).toEqual([])
})
`

export const readme = (name: string) => `# ${name}

Durable workflows with [Orrery](https://www.npmjs.com/package/orrery).

\`\`\`sh
npm install && npm start
\`\`\`

starts Orrery with this project's workflows (\`orrery.config.ts\`) on an embedded
database in \`./.orrery/data\`: the HTTP API at http://127.0.0.1:7311 (ORRERY_PORT
to change it), its docs at /docs and the inspector at /inspect.

\`\`\`sh
npm test
\`\`\`

runs the tests in \`test/\`, written with \`orrery/testing\`: time jumps, so a
24-hour timer fires at once.

Then, while it runs: \`npx orrery list\`, \`npx orrery show signup <id>\`,
\`npx orrery history signup <id>\`, \`npx orrery send signup <id> CONFIRM\`.
The workflow is in \`src/signup.ts\`.
`

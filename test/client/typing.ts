/**
 * Compile-time checks of the client's types, run by `npm run typecheck` (which
 * covers test/): every `@ts-expect-error` below must meet an error, so the
 * typecheck fails as soon as the types stop catching a wrong type name, input,
 * event type or payload. Nothing here runs.
 */
import { createClient, type HttpClient, type WorkflowView } from "../../src/client.js"
import { type SignupOutput, signupWorkflow, type workflows } from "./signup.js"

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const same = <A, B>(_proof: Equals<A, B>) => undefined

export const typed = async () => {
  const client: HttpClient<typeof workflows> = createClient<typeof workflows>({ url: "http://127.0.0.1:7311", token: "t" })
  const signup = await client.start("signup", { email: "a@example.com" }, { id: "s-1", idempotencyKey: "k-1" })
  await signup.send({ type: "CONFIRM", code: "123456" })
  await signup.send({ type: "RESEND" })
  same<Awaited<ReturnType<typeof signup.result>>, SignupOutput>(true)
  const view = await signup.get()
  same<(typeof view)["context"]["resends"], number>(true)

  // @ts-expect-error: no workflow type "signin"
  await client.start("signin", { email: "a@example.com" })
  // @ts-expect-error: the input's field is `email`
  await client.start("signup", { emial: "a@example.com" })
  // @ts-expect-error: `email` is a string
  await client.start("signup", { email: 42 })
  // @ts-expect-error: signup accepts CONFIRM and RESEND only
  await signup.send({ type: "CANCEL" })
  // @ts-expect-error: CONFIRM carries a string code
  await signup.send({ type: "CONFIRM", code: 123456 })
  // @ts-expect-error: CONFIRM needs its code
  await signup.send({ type: "CONFIRM" })

  const again = client.handle("newsletter", "n-1")
  await again.send({ type: "RESEND" })
  // @ts-expect-error: no workflow type "signin"
  client.handle("signin", "x")
  // @ts-expect-error: an unknown event type on a handle too
  await again.send({ type: "UNSUBSCRIBE" })
}

export const byDefinition = async () => {
  // No type parameter: the definition itself types the input, the events and the output.
  const client = createClient({ url: "http://127.0.0.1:7311" })
  const signup = await client.start(signupWorkflow, { email: "a@example.com", expiresInMs: 1000 })
  same<Awaited<ReturnType<typeof signup.result>>, SignupOutput>(true)
  await signup.send({ type: "CONFIRM", code: "123456" })
  // @ts-expect-error: the definition's input has no `name`
  await client.start(signupWorkflow, { email: "a@example.com", name: "A" })
  // @ts-expect-error: `expiresInMs` is a number
  await client.start(signupWorkflow, { email: "a@example.com", expiresInMs: "1s" })
  // @ts-expect-error: an unknown event type
  await signup.send({ type: "FLY" })
  // @ts-expect-error: a wrong payload
  await signup.send({ type: "CONFIRM", code: true })
  const handle = client.handle(signupWorkflow, "s-1")
  const view: WorkflowView<typeof signupWorkflow> = await handle.get()
  same<(typeof view)["output"], SignupOutput | undefined>(true)

  // An untyped client takes any name and any event: the server checks them.
  await client.start("anything", { whatever: true })
  await client.handle("anything", "x").send({ type: "WHATEVER", extra: 1 })
}

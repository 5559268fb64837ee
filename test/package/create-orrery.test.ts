/**
 * `createOrrery`: Orrery in the caller's own process, driven through the
 * client interface (the same calls and typed errors as over HTTP), on both
 * drivers.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import postgres from "postgres"
import { afterAll, describe, expect, it } from "vitest"
import {
  createOrrery,
  EventNotAccepted,
  InstanceFinal,
  InstanceNotFound,
  InvalidEvent,
  type Orrery,
  ResultTimeout,
  WorkflowCancelled
} from "orrery"
import { drivers, freshSchema, postgresUrl } from "../support/drivers.js"
import { Mailer, signupWorkflow } from "./signup.js"

const schemas: Array<string> = []
afterAll(async () => {
  if (schemas.length === 0) return
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => {} })
  for (const schema of schemas) await sql.unsafe(`drop schema if exists ${schema} cascade`)
  await sql.end()
})

const open = (driver: (typeof drivers)[number], mailer: ReturnType<typeof Mailer.recording>) => {
  if (driver === "pglite") return createOrrery({ workflows: [signupWorkflow], services: mailer.layer, database: { memory: true } })
  const schema = freshSchema()
  schemas.push(schema)
  return createOrrery({ workflows: [signupWorkflow], services: mailer.layer, database: { url: postgresUrl }, schema })
}

describe.each(drivers)("createOrrery on %s", (driver) => {
  it("starts, drives and waits for a workflow through the in-process client, with typed errors", async () => {
    const mailer = Mailer.recording()
    const orrery: Orrery<typeof signupWorkflow> = await open(driver, mailer)
    try {
      const signup = await orrery.start("signup", { email: "ada@example.com" }, { id: "s-1", idempotencyKey: "k-1" })
      expect(signup.created).toBe(true)
      expect(signup.instance).toMatchObject({ id: "s-1", type: "signup", status: "running", state: "waiting" })

      const again = await orrery.start(signupWorkflow, { email: "ada@example.com" }, { idempotencyKey: "k-1" })
      expect([again.created, again.id]).toEqual([false, "s-1"])

      const wrong = await signup.send({ type: "CONFIRM", code: "000000" })
      expect(wrong.context.attempts).toBe(1)
      await expect(orrery.start("signup", { email: "not an address" })).rejects.toBeInstanceOf(InvalidEvent)

      await signup.send({ type: "CONFIRM", code: "123456" })
      const output = await signup.result({ timeout: "30s" })
      expect(output).toEqual({ email: "ada@example.com", status: "welcomed", messageId: "msg-1" })
      expect([...mailer.sent.values()]).toEqual([{ to: "ada@example.com", subject: "Welcome" }])

      const handle = orrery.handle("signup", "s-1")
      const view = await handle.get()
      expect(view).toMatchObject({ status: "done", state: "welcomed", output })
      expect(view.createdAt).toBeInstanceOf(Date)
      const history = await handle.history()
      expect(history.filter((entry) => entry.kind === "domain").map((entry) => entry.type)).toEqual(["signup.confirmed"])
      expect(history.some((entry) => entry.type === "activity.completed")).toBe(true)
      expect(await handle.pending()).toEqual([])
      const replayed = await handle.replay()
      expect(replayed.divergence).toBeNull()
      expect(replayed.steps.at(-1)?.state).toBe("welcomed")

      const refused = await handle.send({ type: "RESEND" }).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(InstanceFinal)
      const missing = await orrery.handle("signup", "nobody").get().catch((error: unknown) => error)
      expect(missing).toBeInstanceOf(InstanceNotFound)
      expect(missing).toMatchObject({ _tag: "InstanceNotFound", workflowType: "signup", instanceId: "nobody" })

      const page = await orrery.list({ type: "signup" })
      expect(page.items.map((item) => item.id)).toEqual(["s-1"])
    } finally {
      await orrery.close()
    }
  })

  it("rejects result() with WorkflowCancelled for a cancelled instance and ResultTimeout for one still running", async () => {
    const mailer = Mailer.recording()
    const orrery = await open(driver, mailer)
    try {
      const waiting = await orrery.start(signupWorkflow, { email: "bob@example.com" })
      await expect(waiting.result({ timeout: 50 })).rejects.toBeInstanceOf(ResultTimeout)
      const notAccepted = await waiting.send({ type: "CONFIRM" } as never).catch((error: unknown) => error)
      expect(notAccepted).toBeInstanceOf(InvalidEvent)
      await waiting.cancel("changed their mind")
      const cancelled = await waiting.result().catch((error: unknown) => error)
      expect(cancelled).toBeInstanceOf(WorkflowCancelled)
      expect(cancelled).toMatchObject({ reason: "changed their mind" })
      const unknownEvent = await orrery.start(signupWorkflow, { email: "eve@example.com" }).then((s) => s.send({ type: "UNKNOWN" } as never)).catch((error: unknown) => error)
      expect(unknownEvent).toBeInstanceOf(EventNotAccepted)
    } finally {
      await orrery.close()
    }
  })
})

describe("createOrrery on a PGlite folder", () => {
  it("keeps what it recorded across a close and a reopen of the same folder", async () => {
    const folder = mkdtempSync(join(tmpdir(), "orrery-create-"))
    try {
      const first = await createOrrery({ workflows: [signupWorkflow], services: Mailer.recording().layer, database: { dataDir: join(folder, "data") } })
      await first.start("signup", { email: "kept@example.com" }, { id: "kept" })
      await first.close()
      const second = await createOrrery({ workflows: [signupWorkflow], services: Mailer.recording().layer, database: { dataDir: join(folder, "data") } })
      try {
        expect(await second.handle("signup", "kept").get()).toMatchObject({ status: "running", state: "waiting", context: { email: "kept@example.com" } })
      } finally {
        await second.close()
      }
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})

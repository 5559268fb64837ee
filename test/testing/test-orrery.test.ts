/**
 * `orrery/testing` as a user's test uses it: the real engine and worker on an
 * in-memory database, time moved by the test.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { assign, setup } from "xstate"
import { afterEach, describe, expect, it } from "vitest"
import { activityLogic, defineActivity, defineWorkflow } from "orrery"
import { createTestOrrery, SettleTimeout, type TestOrrery } from "orrery/testing"

interface Sent {
  readonly text: string
  /** The engine's now when the activity ran. */
  readonly at: number
}

class Outbox extends Context.Service<Outbox, { readonly send: (text: string) => Effect.Effect<void> }>()("test/Outbox") {
  static readonly recording = () => {
    const sent: Array<Sent> = []
    return { sent, layer: Layer.succeed(Outbox, { send: (text) => Effect.clockWith((clock) => Effect.sync(() => void sent.push({ text, at: clock.currentTimeMillisUnsafe() }))) }) }
  }
}

const hour = 3_600_000
/** A trial: a welcome after 1 hour, a reminder 23 hours later, then it expires; or it is converted. */
const trialMachine = setup({
  types: {} as { context: { user: string; sent: number }; input: { user: string }; events: { type: "CONVERT" } },
  actors: { send: activityLogic<{ text: string }, null>() },
  delays: { welcomeAfter: hour, reminderAfter: 23 * hour, quick: 50 }
}).createMachine({
  id: "trial",
  context: ({ input }) => ({ user: input.user, sent: 0 }),
  initial: "fresh",
  states: {
    fresh: { after: { welcomeAfter: "welcoming" }, on: { CONVERT: "converted" } },
    welcoming: {
      invoke: { src: "send", input: ({ context }) => ({ text: `welcome ${context.user}` }), onDone: { target: "trying", actions: assign({ sent: ({ context }) => context.sent + 1 }) } }
    },
    trying: { after: { reminderAfter: "reminding" }, on: { CONVERT: "converted" } },
    reminding: {
      invoke: { src: "send", input: ({ context }) => ({ text: `remember ${context.user}` }), onDone: { target: "expired", actions: assign({ sent: ({ context }) => context.sent + 1 }) } }
    },
    converted: { type: "final" },
    expired: { type: "final" }
  }
})

const trialWorkflow = defineWorkflow({
  type: "trial",
  version: 1,
  kind: "saga",
  machine: trialMachine,
  events: { input: Schema.Struct({ user: Schema.String }), accepts: { CONVERT: Schema.Struct({}) }, emits: [] },
  activities: { send: defineActivity({ run: (input: { text: string }) => Outbox.use((outbox) => outbox.send(input.text)).pipe(Effect.as(null)) }) }
})

/** Waits on a real 50 ms timer: time also runs by itself. */
const pingMachine = setup({ types: {} as { input: { n: number } } }).createMachine({
  id: "ping",
  initial: "waiting",
  states: { waiting: { after: { 50: "done" } }, done: { type: "final" } }
})
const pingWorkflow = defineWorkflow({ type: "ping", version: 1, kind: "saga", machine: pingMachine, events: { input: Schema.Struct({ n: Schema.Number }), accepts: {}, emits: [] }, activities: {} })

/** An activity that never answers: settle must say what it is waiting for. */
const stuckMachine = setup({ types: {} as { input: { n: number } }, actors: { hang: activityLogic<unknown, null>() } }).createMachine({
  id: "stuck",
  initial: "hanging",
  states: { hanging: { invoke: { id: "forever", src: "hang", onDone: "done" } }, done: { type: "final" } }
})
const stuckWorkflow = defineWorkflow({
  type: "stuck",
  version: 1,
  kind: "saga",
  machine: stuckMachine,
  events: { input: Schema.Struct({ n: Schema.Number }), accepts: {}, emits: [] },
  activities: { hang: defineActivity({ run: () => Effect.never }) }
})

let t: TestOrrery<any> | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

describe("createTestOrrery", () => {
  it("fires a day of timers in order, each one's work done before the next, without waiting for them", async () => {
    const outbox = Outbox.recording()
    const trial = await createTestOrrery({ workflows: [trialWorkflow], services: outbox.layer, startAt: new Date("2027-01-01T00:00:00Z") })
    t = trial
    const started = trial.time.now().getTime()
    expect(started).toBeGreaterThanOrEqual(Date.parse("2027-01-01T00:00:00Z"))
    const ada = await trial.client.start("trial", { user: "ada" }, { id: "ada" })
    const bob = await trial.client.start("trial", { user: "bob" }, { id: "bob" })

    await trial.time.advance("2h")
    expect((await ada.get()).state).toBe("trying")
    expect(outbox.sent.map((sent) => sent.text).sort()).toEqual(["welcome ada", "welcome bob"])
    // Each welcome went out when its timer fell due, by the engine's clock: an hour in, not two.
    for (const sent of outbox.sent) expect(sent.at - started).toBeGreaterThanOrEqual(hour)
    for (const sent of outbox.sent) expect(sent.at - started).toBeLessThan(2 * hour)

    await bob.send({ type: "CONVERT" })
    const wall = performance.now()
    await trial.time.advance("24h")
    const wallMs = performance.now() - wall
    expect((await ada.get()).state).toBe("expired")
    expect((await ada.get()).context).toEqual({ user: "ada", sent: 2 })
    expect((await bob.get()).state).toBe("converted")
    expect(outbox.sent.map((sent) => sent.text).sort()).toEqual(["remember ada", "welcome ada", "welcome bob"])
    expect(outbox.sent.filter((sent) => sent.text === "remember ada")).toHaveLength(1)
    expect(outbox.sent.some((sent) => sent.text === "remember bob")).toBe(false)
    // The reminder fell due 24 hours after start, by the clock; a day of waiting took well under a minute of wall time.
    const reminder = outbox.sent.find((sent) => sent.text === "remember ada")!
    expect(reminder.at - started).toBeGreaterThanOrEqual(24 * hour)
    expect(wallMs).toBeLessThan(60_000)
    expect(trial.time.now().getTime() - started).toBeGreaterThanOrEqual(26 * hour)
    // The history records the timers as fired, in order.
    const fired = (await ada.history()).filter((entry) => entry.type === "timer.fired")
    expect(fired).toHaveLength(2)
    const firedAfter = fired.map((entry) => Date.parse((entry.data as { firedAt: string }).firedAt) - started)
    expect(firedAfter[0]).toBeGreaterThanOrEqual(hour)
    expect(firedAfter[0]).toBeLessThan(2 * hour)
    expect(firedAfter[1]).toBeGreaterThanOrEqual(24 * hour)
    expect(firedAfter[1]).toBeLessThan(25 * hour)
  })

  it("fires a chain of timers whose later one is set by the work of the earlier, in one advance", async () => {
    const outbox = Outbox.recording()
    const trial = await createTestOrrery({ workflows: [trialWorkflow], services: outbox.layer })
    t = trial
    const handles = []
    for (let i = 0; i < 10; i++) handles.push(await trial.client.start("trial", { user: `u${i}` }))
    const frozenFrom = trial.time.now().getTime()
    // The reminder falls due 23 h after the welcome went out, 24 h after the start: within this advance for every trial.
    await trial.time.advance("24h")
    for (const handle of handles) expect((await handle.get()).state).toBe("expired")
    expect(outbox.sent.filter((sent) => sent.text.startsWith("remember"))).toHaveLength(10)
    // Time stood still while it advanced: every message went out at its timer's due time, by the clock.
    const welcomes = outbox.sent.filter((sent) => sent.text.startsWith("welcome"))
    for (const welcome of welcomes) expect(welcome.at).toBeLessThanOrEqual(frozenFrom + hour)
    expect(trial.time.now().getTime()).toBeGreaterThanOrEqual(frozenFrom + 24 * hour)
  })

  it("lets time run by itself: a 50 ms timer fires without advance", async () => {
    t = await createTestOrrery({ workflows: [pingWorkflow] })
    const ping = await t.client.start("ping", { n: 1 })
    expect(await ping.result({ timeout: "30s" })).toBeUndefined()
    expect((await ping.get()).state).toBe("done")
  })

  it("names the work that does not finish when settling times out", async () => {
    t = await createTestOrrery({ workflows: [stuckWorkflow], settleTimeout: 300 })
    await t.client.start("stuck", { n: 1 }, { id: "s-1" })
    const error = await t.time.settle().then(() => undefined, (failure: unknown) => failure)
    expect(error).toBeInstanceOf(SettleTimeout)
    expect((error as SettleTimeout).pending).toEqual([expect.objectContaining({ kind: "activity", workflowType: "stuck", instanceId: "s-1" })])
    expect((error as Error).message).toMatch(/work still due after 300 ms: activity .* of stuck s-1/)
  })

  it("refuses a duration it cannot read, before moving time", async () => {
    t = await createTestOrrery({ workflows: [pingWorkflow] })
    const before = t.time.now().getTime()
    await expect(t.time.advance("a day")).rejects.toThrow(/duration like "24h", got "a day"/)
    expect(t.time.now().getTime() - before).toBeLessThan(10_000)
  })

  it("keeps each test Orrery's database its own", async () => {
    const first = await createTestOrrery({ workflows: [pingWorkflow] })
    const second = await createTestOrrery({ workflows: [pingWorkflow] })
    try {
      await first.client.start("ping", { n: 1 }, { id: "only-here" })
      expect((await first.client.list({ type: "ping" })).items.map((item) => item.id)).toEqual(["only-here"])
      expect((await second.client.list({ type: "ping" })).items).toEqual([])
    } finally {
      await first.close()
      await second.close()
    }
  })
})

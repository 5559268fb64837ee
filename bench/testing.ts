/**
 * `npm run bench -- testing`: what `orrery/testing` costs a user's test suite.
 *
 * - Start-up: the first `createTestOrrery` in a process (it makes the migrated
 *   database image) and the following ones (each a copy of it), against the
 *   physical limit: a bare in-memory PGlite created from the same kind of image.
 * - `time.advance("24h")` over N instances of a workflow whose day holds two
 *   timers and two activities each (welcome after 1 h, reminder after 24 h):
 *   wall time, and wall time per fired timer.
 *
 * Options: `--starts <n>` (default 10), `--instances <n,n,…>` (default 1,10,100).
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect, Schema } from "effect"
import { assign, setup } from "xstate"
import { activityLogic, defineActivity, defineWorkflow } from "../src/index.js"
import { createTestOrrery } from "../src/testing.js"
import type { Benchmark } from "./support.js"

export const description = "orrery/testing: createTestOrrery start-up and time.advance over a day of timers, against a bare PGlite"

const hour = 3_600_000
const trialMachine = setup({
  types: {} as { context: { sent: number }; input: { user: string } },
  actors: { send: activityLogic<{ text: string }, null>() },
  delays: { welcomeAfter: hour, reminderAfter: 23 * hour }
}).createMachine({
  context: { sent: 0 },
  initial: "fresh",
  states: {
    fresh: { after: { welcomeAfter: "welcoming" } },
    welcoming: { invoke: { id: "welcome", src: "send", input: { text: "welcome" }, onDone: { target: "trying", actions: assign({ sent: ({ context }) => context.sent + 1 }) } } },
    trying: { after: { reminderAfter: "reminding" } },
    reminding: { invoke: { id: "remind", src: "send", input: { text: "remember" }, onDone: { target: "expired", actions: assign({ sent: ({ context }) => context.sent + 1 }) } } },
    expired: { type: "final" }
  }
})
const trialWorkflow = defineWorkflow({
  type: "trial",
  version: 1,
  kind: "saga",
  machine: trialMachine,
  events: { input: Schema.Struct({ user: Schema.String }), accepts: {}, emits: [] },
  activities: { send: defineActivity({ run: () => Effect.succeed(null) }) }
})

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
const ms = (value: number) => Math.round(value * 10) / 10

const option = (args: ReadonlyArray<string>, name: string) => {
  const at = args.indexOf(name)
  return at === -1 ? undefined : args[at + 1]
}

export const run: Benchmark = async ({ args, signal, progress }) => {
  const starts = Number(option(args, "--starts") ?? 10)
  const sizes = (option(args, "--instances") ?? "1,10,100").split(",").map(Number)

  // The physical limit of a start: an in-memory PGlite from an image, nothing else.
  const template = await PGlite.create()
  const image = await template.dumpDataDir("none")
  await template.close()
  const bare: Array<number> = []
  for (let i = 0; i < starts && !signal.aborted; i++) {
    const before = performance.now()
    const db = await PGlite.create({ loadDataDir: image })
    await db.query("select 1")
    bare.push(performance.now() - before)
    await db.close()
  }
  progress(`bare PGlite from an image: median ${ms(median(bare))} ms`)

  const before = performance.now()
  const first = await createTestOrrery({ workflows: [trialWorkflow] })
  const firstMs = performance.now() - before
  await first.close()
  const warm: Array<number> = []
  for (let i = 0; i < starts && !signal.aborted; i++) {
    const started = performance.now()
    const t = await createTestOrrery({ workflows: [trialWorkflow] })
    warm.push(performance.now() - started)
    await t.close()
  }
  progress(`createTestOrrery: first ${ms(firstMs)} ms, then median ${ms(median(warm))} ms`)

  const advances: Array<{ instances: number; timers: number; advanceMs: number; perTimerMs: number; allExpired: boolean }> = []
  for (const instances of sizes) {
    if (signal.aborted) break
    const t = await createTestOrrery({ workflows: [trialWorkflow] })
    try {
      const handles = []
      for (let i = 0; i < instances; i++) handles.push(await t.client.start("trial", { user: `u${i}` }))
      const started = performance.now()
      await t.time.advance("24h")
      const advanceMs = performance.now() - started
      const views = await Promise.all(handles.map((handle) => handle.get()))
      const allExpired = views.every((view) => view.state === "expired" && (view.context as { sent: number }).sent === 2)
      if (!allExpired) throw new Error(`after advance("24h") not every trial expired with two messages sent: ${JSON.stringify(views[0])} ${JSON.stringify(await handles[0]!.history())}`)
      advances.push({ instances, timers: instances * 2, advanceMs: ms(advanceMs), perTimerMs: ms(advanceMs / (instances * 2)), allExpired })
      progress(`advance("24h") over ${instances} instance(s): ${ms(advanceMs)} ms`)
    } finally {
      await t.close()
    }
  }
  if (signal.aborted) throw new Error("interrupted")

  const table = [
    "| case | wall ms |",
    "| --- | ---: |",
    `| bare in-memory PGlite from an image (median of ${starts}) | ${ms(median(bare))} |`,
    `| first createTestOrrery in a process (makes the migrated image) | ${ms(firstMs)} |`,
    `| createTestOrrery after it (median of ${starts}) | ${ms(median(warm))} |`,
    ...advances.map((a) => `| time.advance("24h"), ${a.instances} instance(s), ${a.timers} timers + ${a.timers} activities | ${a.advanceMs} (${a.perTimerMs} per timer) |`)
  ].join("\n")
  return {
    environment: { pglite: "in memory", workflow: "2 timers (1 h, 23 h later) and 2 activities per instance" },
    results: {
      start: { bareMedianMs: ms(median(bare)), firstMs: ms(firstMs), warmMedianMs: ms(median(warm)), warmMs: warm.map(ms), ratioToBare: ms(median(warm) / median(bare)) },
      advance: advances
    },
    table
  }
}

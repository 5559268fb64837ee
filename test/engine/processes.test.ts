/**
 * Workers as separate processes on one Postgres: killed with SIGKILL mid-run
 * and restarted, and two of them sharing the work. PGlite is one process by
 * design (its folder is locked), so these run on Postgres only.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { Engine } from "../../src/engine/index.js"
import { EventLog } from "../../src/log/index.js"
import { drivers, freshSchema, postgresUrl } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"
import { relayWorkflow } from "./processes/relay.js"
import { type FakeService, startFakeService } from "./processes/service.js"

const spawnWorker = (schema: string, service: FakeService, id: string, extraEnv: Record<string, string> = {}) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/engine/processes/worker.ts"], {
      env: { ...process.env, DATABASE_URL: postgresUrl, ORRERY_SCHEMA: schema, SERVICE_URL: service.url, WORKER_ID: id, LEASE_MS: "1500", ...extraEnv },
      stdio: ["ignore", "pipe", "inherit"]
    })
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("worker up")) resolve(child)
    })
    child.on("exit", (code) => reject(new Error(`worker ${id} exited early with ${code}`)))
  })

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())))

/** Everything every relay instance must show at the end: three steps, once each, in order, gap-free. */
const checkInstances = (ids: ReadonlyArray<string>, service: FakeService) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    for (const id of ids) {
      const events = yield* log.readStream(`relay-${id}`)
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1))
      const steps = events.filter((e) => e.type === "relay.step_done").map((e) => (e.data as { step: string }).step)
      expect(steps).toEqual(["reserve", "charge", "ship"])
      for (const step of ["reserve", "charge", "ship"]) {
        const scheduled = events.filter((e) => e.type === "activity.scheduled" && (e.data as { src: string }).src === step)
        expect(scheduled).toHaveLength(1)
        const key = `relay-${id}/${(scheduled[0]!.data as { activityId: string }).activityId}`
        expect(service.effects.get(key)).toBe(1)
      }
    }
    expect(service.effects.size).toBe(ids.length * 3)
  })

describe.runIf(drivers.includes("postgres"))("worker processes on Postgres", () => {
  it("survives SIGKILL of its worker at 5 random moments: every saga done, every effect once", async () => {
    const service = await startFakeService()
    const schema = freshSchema()
    let worker: ChildProcess | undefined
    try {
      await withOrrery("postgres", { workflows: [relayWorkflow(service.url)], worker: false, schema }, Effect.gen(function*() {
        const engine = yield* Engine
        const ids = Array.from({ length: 100 }, (_, i) => `crash-${i}`)
        for (const id of ids) yield* engine.start("relay", { n: 1 }, { id })
        worker = yield* Effect.promise(() => spawnWorker(schema, service, "w-0"))
        for (let kill = 1; kill <= 5; kill++) {
          yield* Effect.sleep(`${150 + Math.floor(Math.random() * 450)} millis`)
          worker.kill("SIGKILL")
          yield* Effect.promise(() => exited(worker!))
          worker = yield* Effect.promise(() => spawnWorker(schema, service, `w-${kill}`))
        }
        yield* until(engine.list({ type: "relay", status: "done", limit: 500 }), (page) => page.items.length === 100, 120_000)
        yield* checkInstances(ids, service)
        // Work was lost mid-flight and redone: some keys were called more than once, yet applied once.
        const totalCalls = [...service.calls.values()].reduce((a, b) => a + b, 0)
        expect(totalCalls).toBeGreaterThanOrEqual(300)
      }))
    } finally {
      worker?.kill("SIGKILL")
      await service.close()
    }
  }, 180_000)

  it("shares 200 sagas between two worker processes, each activity run once per recorded attempt", async () => {
    const service = await startFakeService()
    const schema = freshSchema()
    const workers: Array<ChildProcess> = []
    try {
      await withOrrery("postgres", { workflows: [relayWorkflow(service.url)], worker: false, schema }, Effect.gen(function*() {
        const engine = yield* Engine
        const log = yield* EventLog
        // Leases long enough that a worker starved of CPU for a second (two cores, other suites running) keeps its tasks:
        // this test is about sharing work, the crash test above about taking it over.
        const lease = { LEASE_MS: "10000" }
        workers.push(yield* Effect.promise(() => spawnWorker(schema, service, "a", lease)), yield* Effect.promise(() => spawnWorker(schema, service, "b", lease)))
        const ids = Array.from({ length: 200 }, (_, i) => `pair-${i}`)
        for (const id of ids) yield* engine.start("relay", { n: 1 }, { id })
        yield* until(engine.list({ type: "relay", status: "done", limit: 500 }), (page) => page.items.length === 200, 120_000)
        yield* checkInstances(ids, service)
        for (const id of ids) {
          const events = yield* log.readStream(`relay-${id}`)
          for (const scheduled of events.filter((e) => e.type === "activity.scheduled")) {
            const activityId = (scheduled.data as { activityId: string }).activityId
            const failedAttempts = events.filter((e) => e.type === "activity.attempt_failed" && (e.data as { activityId: string }).activityId === activityId).length
            expect(service.calls.get(`relay-${id}/${activityId}`)).toBe(failedAttempts + 1)
          }
        }
        expect(service.byWorker.get("a")).toBeGreaterThan(0)
        expect(service.byWorker.get("b")).toBeGreaterThan(0)
      }))
    } finally {
      for (const worker of workers) worker.kill("SIGTERM")
      await Promise.all(workers.map(exited))
      await service.close()
    }
  }, 180_000)

  it("stops within a bounded time on SIGTERM, handing unfinished work back at once", async () => {
    const service = await startFakeService({ delayMs: 4_000 })
    const schema = freshSchema()
    const workers: Array<ChildProcess> = []
    try {
      await withOrrery("postgres", { workflows: [relayWorkflow(service.url)], worker: false, schema, leaseMs: 60_000 }, Effect.gen(function*() {
        const engine = yield* Engine
        yield* engine.start("relay", { n: 1 }, { id: "graceful" })
        // A long lease: only an explicit release lets another worker take the task soon.
        const first = yield* Effect.promise(() => spawnWorker(schema, service, "first", { DRAIN_MS: "300", LEASE_MS: "60000" }))
        workers.push(first)
        yield* until(Effect.sync(() => service.calls.size), (n) => n === 1)
        const stopping = performance.now()
        first.kill("SIGTERM")
        yield* Effect.promise(() => exited(first))
        expect(performance.now() - stopping).toBeLessThan(3_000)
        const pending = yield* engine.pending("relay", "graceful")
        expect(pending).toMatchObject([{ kind: "activity", lockedBy: null }])
        workers.push(yield* Effect.promise(() => spawnWorker(schema, service, "second", { LEASE_MS: "60000" })))
        const done = yield* until(engine.get("relay", "graceful"), (i) => i.status === "done", 30_000)
        expect(done.state).toBe("done")
      }))
    } finally {
      for (const worker of workers) worker.kill("SIGKILL")
      await service.close()
    }
  }, 60_000)
})

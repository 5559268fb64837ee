/**
 * Work spread over workers, as deployed: one API process (`orrery start
 * --no-worker`) and three `orrery worker` processes on one Postgres. The API
 * on an empty database records nothing; 200 sagas of three activities each
 * (600 activities) are started over HTTP; each worker runs a fair share (none
 * under 15 %), every activity result in history names the worker that ran it,
 * and /metrics — read from the workers table by the API process, which runs
 * nothing itself — counts the same per worker.
 */
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CliProcess, eventually, freePort, killAll, root, spawnCli } from "../support/cli-process.js"
import { drivers, postgresUrl } from "../support/drivers.js"

const config = path.join(root, "test/engine/spread/orrery.config.ts")
const sagas = 200
const activitiesPerSaga = 3

afterAll(killAll)

/** Per-worker series of one metric, from a Prometheus text page. */
const series = (page: string, metric: string, labels: string): Map<string, number> => {
  const found = new Map<string, number>()
  const line = new RegExp(`^${metric}\\{worker="([^"]+)"${labels}\\} (\\d+)$`, "gm")
  for (const match of page.matchAll(line)) found.set(match[1]!, Number(match[2]))
  return found
}

// Several processes on one database: Postgres only (PGlite is one process's).
if (drivers.includes("postgres")) describe("work spread over worker processes", () => {
  const database = `orrery_spread_${randomBytes(6).toString("hex")}`
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => {} })
  const url = new URL(postgresUrl)
  url.pathname = `/${database}`
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} })
  const env = { DATABASE_URL: url.toString(), ORRERY_CONFIG: config }
  let api: CliProcess
  let base: string
  const workers: Array<CliProcess> = []

  beforeAll(async () => {
    await admin.unsafe(`create database ${database}`)
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    api = spawnCli(["start", "--no-worker", "--port", String(port)], env)
    await api.waitFor(/^running/)
  }, 60_000)

  afterAll(async () => {
    for (const child of [api, ...workers]) {
      if (child !== undefined && child.child.exitCode === null) child.child.kill("SIGTERM")
    }
    await Promise.all([api, ...workers].filter((child) => child !== undefined).map((child) => child.exited))
    await sql.end()
    await admin.unsafe(`drop database if exists ${database} with (force)`)
    await admin.end()
  }, 60_000)

  const metrics = async () => (await fetch(`${base}/metrics`)).text()

  it("start without --demo on an empty database records nothing", async () => {
    expect(api.stdout()).toContain("no worker in this process (--no-worker)")
    expect(api.stdout()).not.toContain("demo")
    const [counts] = await sql<Array<{ events: number; instances: number; tasks: number }>>`
      select (select count(*)::int from orrery.events) as events, (select count(*)::int from orrery.instances) as instances,
        (select count(*)::int from orrery.tasks) as tasks`
    expect(counts).toEqual({ events: 0, instances: 0, tasks: 0 })
  })

  it("three worker processes each run a fair share, named in history and counted in /metrics", async () => {
    workers.push(...[1, 2, 3].map(() => spawnCli(["worker"], env)))
    await Promise.all(workers.map((worker) => worker.waitFor(/^worker \S+ on postgres/)))
    const ids = workers.map((worker) => /^worker (\S+) on postgres/m.exec(worker.stdout())![1]!)
    // Every worker is known to the others (and to the API) before any work is there.
    await eventually(async () => {
      const up = series(await metrics(), "orrery_worker_up", "")
      return ids.every((id) => up.get(id) === 1) ? true : undefined
    }, 30_000, "three workers up in /metrics")

    const started = Date.now()
    for (let batch = 0; batch < sagas; batch += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const answer = await fetch(`${base}/workflows/spread`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ input: { n: batch + i }, id: `s-${batch + i}` })
          })
          expect(answer.status).toBe(201)
        })
      )
    }
    await eventually(async () => {
      const [row] = await sql<Array<{ done: number }>>`select count(*)::int as done from orrery.instances where status = 'done'`
      return row!.done === sagas ? true : undefined
    }, 45_000, `${sagas} sagas done`)
    const seconds = (Date.now() - started) / 1000

    // Each activity result, read back from the instances' histories over the API, names its worker.
    const byWorker = new Map<string, number>()
    for (let i = 0; i < sagas; i++) {
      const answer = await fetch(`${base}/workflows/spread/s-${i}/history`)
      const { items } = (await answer.json()) as { items: Array<{ type: string; worker?: string; data: { worker?: string } }> }
      const results = items.filter((item) => item.type === "activity.completed")
      expect(results).toHaveLength(activitiesPerSaga)
      for (const result of results) {
        expect(result.worker).toBe(result.data.worker)
        byWorker.set(result.worker!, (byWorker.get(result.worker!) ?? 0) + 1)
      }
    }
    const total = sagas * activitiesPerSaga
    expect([...byWorker.keys()].sort()).toEqual([...ids].sort())
    const shares = ids.map((id) => (byWorker.get(id) ?? 0) / total)
    console.log(`spread of ${total} activities in ${seconds.toFixed(1)} s: ${shares.map((share) => `${(share * 100).toFixed(1)} %`).join(", ")}`)
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.15)

    // The API process runs nothing, yet reports every worker's counts (as of their last beat).
    const counted = await eventually(async () => {
      const completed = series(await metrics(), "orrery_worker_tasks_total", `,kind="activity",outcome="completed"`)
      return ids.every((id) => completed.get(id) === byWorker.get(id)) ? completed : undefined
    }, 20_000, "/metrics to agree with history")
    expect([...counted.values()].reduce((sum, n) => sum + n, 0)).toBe(total)
  }, 120_000)
})

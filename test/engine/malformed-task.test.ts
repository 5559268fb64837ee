/**
 * A task row whose payload does not decode — written behind the engine's back —
 * is reported as a MalformedTask: recorded in its instance's history, the
 * instance failed with it, the row gone. The worker keeps running the rest.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine, EngineRuntime } from "../../src/engine/index.js"
import { Database } from "../../src/log/index.js"
import { drivers } from "../support/drivers.js"
import { until, withOrrery } from "../support/engine.js"
import { Gateway, paymentWorkflow, tallyWorkflow } from "./fixtures.js"

describe.each(drivers)("malformed tasks on %s", (driver) => {
  it("parks a task whose payload does not decode as MalformedTask and keeps running other tasks", async () => {
    const gateway = new Gateway()
    await withOrrery(driver, { workflows: [paymentWorkflow(gateway), tallyWorkflow] }, Effect.gen(function*() {
      const engine = yield* Engine
      const { schema } = yield* EngineRuntime
      const db = yield* Database
      yield* engine.start("tally", {}, { id: "t1" })
      const insert = (kind: string, stream: string, type: string, id: string, key: string, payload: unknown) =>
        Effect.promise(() =>
          db.query(`insert into ${schema}.tasks (kind, stream_id, workflow_type, instance_id, key, payload) values ($1, $2, $3, $4, $5, $6::text::jsonb)`, [kind, stream, type, id, key, JSON.stringify(payload)])
        )
      // A timer without its event, and a kind no engine writes (for an instance that does not exist).
      yield* insert("timer", "tally-t1", "tally", "t1", "bogus", { timerId: "bogus", dueAt: "soon" })
      yield* insert("teleport", "tally-nobody", "tally", "nobody", "beam", { to: "mars" })

      // Other work goes on beside them.
      yield* engine.start("payment", { amount: 7 }, { id: "p1" })
      const shipped = yield* until(engine.get("payment", "p1"), (view) => view.state === "shipped")
      expect(shipped.status).toBe("running")

      const failed = yield* until(engine.get("tally", "t1"), (view) => view.status === "failed")
      expect(failed.failure).toMatchObject({
        reason: expect.stringContaining("malformed"),
        malformedTask: { _tag: "MalformedTask", kind: "timer", key: "bogus", stream: "tally-t1", reason: expect.stringContaining("event") }
      })
      const history = yield* engine.history("tally", "t1")
      const recorded = history.find((entry) => entry.type === "task.malformed")
      expect(recorded).toMatchObject({ kind: "record", data: { kind: "timer", key: "bogus", payload: { timerId: "bogus", dueAt: "soon" } } })
      expect(yield* engine.pending("tally", "t1")).toEqual([])

      // Both rows are gone: nothing is claimed again and again.
      const left = yield* until(
        Effect.promise(() => db.query<{ count: number }>(`select count(*)::int as count from ${schema}.tasks where key in ('bogus', 'beam')`)),
        ([row]) => row!.count === 0
      )
      expect(left[0]!.count).toBe(0)
    }))
  })
})

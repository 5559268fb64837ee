/**
 * Steps that are ready in the same turn of the event loop — a worker finishing
 * many activities at once — go to the database as one statement and share one
 * commit (`record_steps`, each step in its own savepoint so that one instance's
 * conflict does not undo another's step). A lone step goes as it is.
 */
import type { Queryable } from "../log/index.js"
import type { EngineStatements } from "./store.js"

export interface StepResult {
  readonly version: number
  readonly tasks: ReadonlyArray<{ readonly id: number; readonly kind: string; readonly key: string }>
}

/** A step the database refused, with the SQLSTATE the caller understands (OR001, OR002, 23505…). */
export class StepRefused extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

interface Pending {
  readonly params: ReadonlyArray<unknown>
  readonly resolve: (result: StepResult) => void
  readonly reject: (error: unknown) => void
}

const maxBatch = 64

export const makeStepBatcher = (db: Queryable, sql: EngineStatements) => {
  let queue: Array<Pending> = []
  let scheduled = false

  const flush = async () => {
    scheduled = false
    const batch = queue.splice(0, maxBatch)
    if (queue.length > 0) schedule()
    if (batch.length === 1) {
      const [only] = batch
      return db.query<{ result: StepResult }>(sql.recordStep, only!.params).then(([row]) => only!.resolve(row!.result), only!.reject)
    }
    try {
      const [row] = await db.query<{ results: Array<{ ok: boolean; result?: StepResult; code?: string; message?: string }> }>(
        sql.recordSteps,
        [JSON.stringify(batch.map((pending) => pending.params))]
      )
      row!.results.forEach((outcome, index) => {
        const pending = batch[index]!
        if (outcome.ok) pending.resolve(outcome.result!)
        else pending.reject(new StepRefused(outcome.code ?? "XX000", outcome.message ?? "step refused"))
      })
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    }
  }

  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(() => void flush())
  }

  return (params: ReadonlyArray<unknown>): Promise<StepResult> =>
    new Promise((resolve, reject) => {
      queue.push({ params, resolve, reject })
      schedule()
    })
}

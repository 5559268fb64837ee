/** Runs sequences on both sides, compares after every step, and says precisely where they part. */
import { Effect } from "effect"
import { type EngineOutcome, makeDurable } from "./durable.js"
import type { Sequence } from "./generate.js"
import { hex } from "./prng.js"
import { type Input, type Outcome, Reference } from "./reference.js"
import type { DifferentialWorkflow } from "./workflows.js"

/** JSON with object keys sorted (jsonb does not keep key order). */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v
  ) ?? "undefined"

export interface Mismatch {
  readonly field: string
  readonly xstate: unknown
  readonly engine: unknown
}

export interface Failure {
  readonly workflow: string
  readonly driver: string
  readonly sequence: Sequence
  readonly instanceId: string
  /** 0 is the start; n is the n-th input. */
  readonly step: number
  readonly mismatches: ReadonlyArray<Mismatch>
  readonly xstate: Outcome
  readonly engine: EngineOutcome
}

/** Field by field; empty when both sides agree. */
export const compare = (xstate: Outcome, engine: EngineOutcome): Array<Mismatch> => {
  const mismatches: Array<Mismatch> = []
  const same = (x: unknown, y: unknown) => canonical(x) === canonical(y)
  const check = (field: string, x: unknown, y: unknown) => {
    if (!same(x, y)) mismatches.push({ field, xstate: x, engine: y })
  }
  if (engine.missing !== undefined) mismatches.push({ field: "delivery", xstate: "the input can happen", engine: engine.missing })
  check("accepted", xstate.accepted, engine.accepted)
  const a = xstate.observation
  const b = engine.observation
  if (b === undefined) return mismatches
  check("status", a.status, b.status)
  check("state value", a.value, b.value)
  check("context", a.context, b.context)
  if (a.status === "done" && b.status === "done") check("output", a.output, b.output)
  check("emitted domain events", xstate.emitted, engine.emitted)
  check("messages to children", xstate.sent, engine.sent ?? [])
  check("child workflows started", xstate.started, engine.started ?? [])
  if ((engine.causes ?? []).some((cause) => cause === "undefined") || (engine.causes ?? []).length > 1) {
    mismatches.push({ field: "causation of the domain events", xstate: "all caused by this input", engine: engine.causes })
  }
  // Effects in flight: only while running (a failed instance keeps its timers until they fire and are dropped).
  if (a.status === "active" && b.status === "active") {
    check("activities in flight", a.activities, b.activities)
    check("pending timers", a.timers, b.timers)
  }
  return mismatches
}

const describeInput = (input: Input): string => {
  switch (input.kind) {
    case "event":
      return `event ${canonical(input.event)}`
    case "message":
      return `message ${canonical(input.event)}`
    case "timer":
      return `timer ${input.timerId} fires ${canonical(input.event)}`
    case "activity":
    case "child":
      return `${input.kind} ${input.invokeId} (${input.src}) ${input.ok ? "completes" : "fails"} with ${canonical(input.value)}`
  }
}

export const formatFailure = (failure: Failure): string => {
  const { sequence } = failure
  const at = failure.step === 0 ? "the start" : `step ${failure.step} of ${sequence.steps.length} (${describeInput(sequence.steps[failure.step - 1]!)})`
  const { observation: xo, ...xrest } = failure.xstate
  const { observation: eo, ...erest } = failure.engine
  return [
    `machine ${failure.workflow} on ${failure.driver}: sequence ${sequence.label}${sequence.seed === undefined ? "" : ` (seed ${hex(sequence.seed)})`}, instance ${failure.instanceId}`,
    `${at} differs in ${failure.mismatches.map((m) => m.field).join(", ")}:`,
    ...failure.mismatches.map((m) => `  ${m.field}:\n    xstate: ${canonical(m.xstate)}\n    engine: ${canonical(m.engine)}`),
    "inputs:",
    `  0. start ${canonical(sequence.input)}`,
    ...sequence.steps.slice(0, failure.step).map((input, i) => `  ${i + 1}. ${describeInput(input)}`),
    "both sides after it:",
    `  xstate: ${canonical({ ...xrest, ...xo })}`,
    `  engine: ${canonical({ ...erest, ...eo })}`,
    ...(sequence.seed === undefined ? [] : [`reproduce: DIFFERENTIAL_ONLY=${failure.workflow} DIFFERENTIAL_WALK=${hex(sequence.seed)} npx vitest run test/engine/differential.test.ts`])
  ].join("\n")
}

export interface RunOptions {
  readonly driver: string
  readonly concurrency: number
  readonly isWorkflowType: (src: string) => boolean
  /** Instance ids get this prefix (distinct per run on a shared schema). */
  readonly prefix: string
}

/** All sequences of one workflow on the engine in scope: the first difference of each failing sequence. */
export const runSequences = (workflow: DifferentialWorkflow, sequences: ReadonlyArray<Sequence>, options: RunOptions) =>
  Effect.gen(function*() {
    const durable = yield* makeDurable
    const runOne = (sequence: Sequence, ordinal: number) =>
      Effect.gen(function*() {
        const instanceId = `${options.prefix}-${ordinal}`
        const reference = new Reference(workflow, options.isWorkflowType, sequence.input)
        const instance = durable.instance(workflow.type, instanceId)
        const fail = (step: number, xstate: Outcome, engine: EngineOutcome, mismatches: ReadonlyArray<Mismatch>): Failure => ({
          workflow: workflow.type,
          driver: options.driver,
          sequence,
          instanceId,
          step,
          mismatches,
          xstate,
          engine
        })
        try {
          const xstate = reference.start()
          const engine = yield* instance.start(sequence.input)
          const mismatches = compare(xstate, engine)
          if (mismatches.length > 0) return fail(0, xstate, engine, mismatches)
          if (!xstate.accepted) return undefined
          for (const [index, input] of sequence.steps.entries()) {
            const x = reference.apply(input)
            const e = yield* instance.apply(input)
            const differ = compare(x, e)
            if (differ.length > 0) return fail(index + 1, x, e, differ)
          }
          return undefined
        } finally {
          reference.stop()
        }
      })
    const results = yield* Effect.forEach(sequences, runOne, { concurrency: options.concurrency })
    return results.filter((result): result is Failure => result !== undefined)
  })

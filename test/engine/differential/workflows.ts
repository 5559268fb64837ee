/**
 * Every workflow the differential test runs, with what it needs to drive one:
 * start inputs, event payloads, stub outputs and errors for what it invokes,
 * messages other instances send it. Hand-written samples (samples.ts) come
 * first; what they leave out is derived — payloads from the schemas
 * (`Arbitrary`), activity outputs by running the activity's program once with
 * its domain's default services.
 */
import { Arbitrary, Effect, Exit, Layer, Schema } from "effect"
import { fromPromise, type AnyStateMachine } from "xstate"
import type { WorkflowDefinition } from "../../../src/engine/index.js"
import type { PayloadSchema } from "../../../src/log/index.js"
import { cartDomain } from "../../../machines/cart/index.js"
import { domain as chapterDomain } from "../../../machines/chapter/index.js"
import { travelDomain } from "../../../sagas/booking/index.js"
import { domain as chapterGenerationDomain } from "../../../sagas/chapter-generation/index.js"
import { domain as ebookGenerationDomain } from "../../../sagas/ebook-generation/index.js"
import { orderDomain } from "../../../sagas/order/index.js"
import { fragileWorkflow, Gateway, paymentWorkflow } from "../fixtures.js"
import { relayWorkflow } from "../processes/relay.js"
import { edgesWorkflow } from "./edges.js"
import { hashSeed } from "./prng.js"
import { type Samples, samples } from "./samples.js"

/** Workflows and the services their activities use (a `Domain` is one). */
interface Source {
  readonly workflows: ReadonlyArray<WorkflowDefinition<any>>
  readonly services: Layer.Layer<any, never, any>
}

const sources: ReadonlyArray<Source> = [
  // The engine's test fixtures (the relay saga's activities call a service that is never asked here).
  { workflows: [paymentWorkflow(new Gateway()), fragileWorkflow({ failuresLeft: 0, calls: 0 }), relayWorkflow("http://127.0.0.1:9")], services: Layer.empty as unknown as Layer.Layer<any, never, any> },
  // Transitions that change nothing in XState's snapshot but still act (see edges.ts).
  { workflows: [edgesWorkflow], services: Layer.empty as unknown as Layer.Layer<any, never, any> },
  // The shipped domains, one by one until src/domains.ts exists.
  cartDomain(),
  orderDomain(),
  travelDomain(),
  chapterDomain(),
  chapterGenerationDomain(),
  ebookGenerationDomain(),
  // src/domains.ts (`export const domains: (config) => ReadonlyArray<Domain>`) is being written and was not
  // there yet; once it is, this one line adds every shipped domain's workflows (ones already listed are
  // skipped, by type and version), together with `import { domains } from "../../../src/domains.js"`:
  // ...domains(config),
  // (orrery.config.ts's `shippedDomains()` would do the same for the domains the CLI serves.)
]

export type Payload = Readonly<Record<string, unknown>>

export interface DifferentialWorkflow {
  readonly type: string
  readonly definition: WorkflowDefinition<any>
  /** The machine with every invoked actor replaced by one that never answers: XState's side runs this. */
  readonly machine: AnyStateMachine
  readonly inputs: ReadonlyArray<unknown>
  readonly events: Readonly<Record<string, ReadonlyArray<Payload>>>
  readonly messages: Readonly<Record<string, ReadonlyArray<Payload>>>
  readonly maxSteps: number
  /** Stub outputs and errors for an invoked src; `prepare` first for srcs without hand-written ones. */
  readonly outputsOf: (src: string) => ReadonlyArray<unknown>
  readonly errorsOf: (src: string) => ReadonlyArray<unknown>
  /** Runs the activity once with the domain's services (and this input) when no stub is written for it. */
  readonly prepare: (src: string, input: unknown) => Promise<void>
}

const never = fromPromise<never, unknown>(() => new Promise<never>(() => {}))

/** Strings Postgres' jsonb takes as they are (no NUL, no lone surrogates), so a sample tests the machine, not the codec. */
const jsonSafe = (value: unknown) => !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(value))

/** What the engine does to a payload before the machine sees it: decode, then encode. */
const normalize = (schema: PayloadSchema, value: unknown, what: string): unknown => {
  try {
    return JSON.parse(JSON.stringify(Schema.encodeUnknownSync(schema)(Schema.decodeUnknownSync(schema)(value))))
  } catch (error) {
    throw new Error(`differential samples: ${what} ${JSON.stringify(value)} does not match its schema: ${String(error)}`)
  }
}

/** A few schema-derived samples (fixed seed), encoded. */
const derived = (schema: PayloadSchema, label: string, count: number): Array<unknown> => {
  try {
    const values = Effect.runSync(Arbitrary.sampleEffect(Arbitrary.schema(schema as Schema.Top), { count: count * 3, seed: hashSeed(label), size: 4 }))
    return values.map((value) => Schema.encodeUnknownSync(schema)(value)).filter(jsonSafe).slice(0, count)
  } catch {
    return []
  }
}

const distinct = <A>(values: ReadonlyArray<A>): Array<A> => {
  const seen = new Set<string>()
  return values.filter((value) => {
    const key = JSON.stringify(value)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

const errorPayload = (definition: WorkflowDefinition<any>, src: string, error: unknown): unknown => {
  const schema = definition.activities[src]?.error
  if (schema !== undefined) {
    try {
      return JSON.parse(JSON.stringify(Schema.encodeUnknownSync(schema)(error)))
    } catch {}
  }
  const e = error as { _tag?: unknown; message?: unknown }
  return { _tag: typeof e?._tag === "string" ? e._tag : "UnknownException", message: typeof e?.message === "string" ? e.message : String(error) }
}

/** A workflow with its hand-written samples (or none), completed by derived ones. */
export const makeDifferentialWorkflow = (definition: WorkflowDefinition<any>, services: Layer.Layer<any, never, any>, given: Samples = samples[definition.type] ?? {}): DifferentialWorkflow => {
  const type = definition.type
  const inputs = distinct([
    ...(given.inputs ?? []).map((input) => normalize(definition.events.input, input, `${type} input`)),
    ...derived(definition.events.input, `${type}/input`, given.inputs === undefined ? 3 : 1)
  ])
  if (inputs.length === 0) throw new Error(`differential samples: no start input for ${type}: add one to samples.ts`)
  const events = Object.fromEntries(
    Object.entries(definition.events.accepts).map(([eventType, schema]) => {
      const written = (given.events?.[eventType] ?? []).map((payload) => normalize(schema, payload, `${type} ${eventType}`) as Payload)
      return [eventType, distinct([...written, ...(derived(schema, `${type}/${eventType}`, written.length === 0 ? 3 : 2) as Array<Payload>)])]
    })
  )
  for (const eventType of Object.keys(given.events ?? {})) {
    if (!(eventType in definition.events.accepts)) throw new Error(`differential samples: ${type} does not accept ${eventType}`)
  }
  const machine = definition.machine.provide({
    actors: Object.fromEntries(Object.keys(definition.machine.implementations.actors).map((src) => [src, never]))
  }) as AnyStateMachine
  const ran = new Map<string, { outputs: Array<unknown>; errors: Array<unknown> }>()
  const genericError = [{ _tag: "DifferentialStubError", message: "a stub failure" }]
  return {
    type,
    definition,
    machine,
    inputs,
    events,
    messages: given.messages ?? {},
    maxSteps: given.maxSteps ?? 24,
    outputsOf: (src) => given.outputs?.[src] ?? ran.get(src)?.outputs ?? (src in definition.activities ? [] : [null]),
    errorsOf: (src) => given.errors?.[src] ?? (ran.get(src)?.errors.length ? ran.get(src)!.errors : genericError),
    prepare: async (src, input) => {
      if (given.outputs?.[src] !== undefined || ran.has(src)) return
      const activity = definition.activities[src]
      if (activity === undefined) return
      const exit = await Effect.runPromiseExit(
        activity.run(input, { idempotencyKey: `${type}/differential/${src}@1`, attempt: 1, workflowType: type, instanceId: "differential" }).pipe(
          Effect.timeout("10 seconds"),
          Effect.provide(services)
        ) as Effect.Effect<unknown, unknown>
      )
      if (Exit.isSuccess(exit)) {
        const value = activity.output === undefined ? exit.value : Schema.encodeUnknownSync(activity.output)(exit.value)
        ran.set(src, { outputs: [JSON.parse(JSON.stringify(value ?? null))], errors: [] })
      } else {
        const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
        ran.set(src, { outputs: [], errors: [errorPayload(definition, src, failure?._tag === "Fail" ? failure.error : new Error(String(exit.cause)))] })
      }
    }
  }
}

const seen = new Set<string>()
const unique = sources.flatMap((source) =>
  source.workflows.flatMap((definition) => {
    const key = `${definition.type}@${definition.version}`
    if (seen.has(key)) return []
    seen.add(key)
    return [{ definition, services: source.services }]
  })
)

/** Every definition (registered together: the cart starts `order` children, chapter-generation a `chapter`). */
export const allDefinitions: ReadonlyArray<WorkflowDefinition<any>> = unique.map((entry) => entry.definition)

export const differentialWorkflows: ReadonlyArray<DifferentialWorkflow> = unique.map((entry) => makeDifferentialWorkflow(entry.definition, entry.services))

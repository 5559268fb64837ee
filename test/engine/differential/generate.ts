/**
 * The event sequences: paths through the machine's graph from `xstate/graph`
 * (a shortest path to every state, one path through every transition — built
 * on `getAdjacencyMap` — and simple paths), then seeded random walks; a machine
 * with fewer than 200 sequences in all gets every one of them instead.
 * A sequence is a start input and a list of inputs; each input is chosen among
 * what can happen in the state reached so far (XState's side decides: the
 * events the workflow accepts, the result of each activity or child in flight,
 * each pending timer, the messages other instances send it). Some inputs the
 * state does not take are mixed in: both sides must refuse them.
 */
import { type AnyActorRef, type AnyMachineSnapshot, createActor } from "xstate"
import { getAdjacencyMap, getShortestPaths, getSimplePaths } from "xstate/graph"
import { hashSeed, hex, type Rng, rng } from "./prng.js"
import { type Candidate, type Input, machineEventOf, type MachineEvent, Reference } from "./reference.js"
import type { DifferentialWorkflow } from "./workflows.js"

export interface Sequence {
  /** `shortest#3`, `simple#12`, `walk#57`. */
  readonly label: string
  /** The walk's seed (random walks only). */
  readonly seed?: number
  readonly input: unknown
  readonly steps: ReadonlyArray<Input>
}

export interface GenerateOptions {
  /** At least this many sequences in all. */
  readonly total: number
  /** At least this many random walks among them. */
  readonly minWalks: number
  /** At most this many graph paths. */
  readonly maxPaths: number
  /** Mixed into every walk's seed. */
  readonly baseSeed: number
}

const stable = (value: unknown) => JSON.stringify(value)

// -- random walks ---------------------------------------------------------------

const choose = (random: Rng, candidates: ReadonlyArray<Candidate>): Candidate | undefined => {
  const handled = candidates.filter((candidate) => candidate.handled)
  const results = handled.filter((candidate) => candidate.category === "result")
  const groups: Array<[number, ReadonlyArray<Candidate>]> = [
    [4, results],
    [3, handled.filter((candidate) => candidate.category === "event" || candidate.category === "message")],
    [1, handled.filter((candidate) => candidate.category === "timer")],
    // Refusal probes: inputs the state does not take.
    [1, candidates.filter((candidate) => !candidate.handled)]
  ]
  const open = groups.filter(([, group]) => group.length > 0)
  if (open.length === 0) return undefined
  let roll = random.next() * open.reduce((sum, [weight]) => sum + weight, 0)
  let group = open[open.length - 1]![1]
  for (const [weight, members] of open) {
    if ((roll -= weight) < 0) {
      group = members
      break
    }
  }
  if (group === results) {
    // Mostly successes: failures end most sagas.
    const ok = group.filter((candidate) => candidate.input.kind !== "event" && "ok" in candidate.input && candidate.input.ok)
    const failed = group.filter((candidate) => !ok.includes(candidate))
    if (ok.length > 0 && (failed.length === 0 || random.chance(0.75))) return random.pick(ok)
    return random.pick(failed)
  }
  return random.pick(group)
}

const prepare = async (workflow: DifferentialWorkflow, reference: Reference) => {
  for (const invocation of reference.invocations()) await workflow.prepare(invocation.src, invocation.input)
}

export const randomWalk = async (workflow: DifferentialWorkflow, isWorkflowType: (src: string) => boolean, seed: number, label: string): Promise<Sequence> => {
  const random = rng(seed)
  const input = random.pick(workflow.inputs)
  const reference = new Reference(workflow, isWorkflowType, input)
  const steps: Array<Input> = []
  try {
    if (!reference.start().accepted) return { label, seed, input, steps }
    const length = 3 + random.int(Math.max(1, workflow.maxSteps - 2))
    while (steps.length < length) {
      await prepare(workflow, reference)
      const candidate = choose(random, reference.enabled())
      if (candidate === undefined) {
        // The instance is over: now and then, check that both sides refuse what comes after.
        const types = Object.entries(workflow.events).filter(([, payloads]) => payloads.length > 0)
        if (types.length > 0 && random.chance(0.4)) {
          const [type, payloads] = random.pick(types)
          steps.push({ kind: "event", event: { ...random.pick(payloads), type } })
        }
        break
      }
      steps.push(candidate.input)
      reference.apply(candidate.input)
    }
    return { label, seed, input, steps }
  } finally {
    reference.stop()
  }
}

// -- graph paths ------------------------------------------------------------------

/** The machine's pure transition with an inert scope (and a stand-in parent, for `sendParent`), as `xstate/graph` wants it. */
const graphLogic = (workflow: DifferentialWorkflow) => {
  const machine = workflow.machine
  const self = createActor(machine) as unknown as { _parent: AnyActorRef; system: unknown }
  self._parent = { id: "parent", sessionId: "parent", send: () => {} } as unknown as AnyActorRef
  const scope = { self, defer: () => {}, id: "", logger: () => {}, sessionId: "", stopChild: () => {}, system: self.system, emit: () => {}, actionExecutor: () => {} }
  return {
    initial: (input: unknown) => machine.getInitialSnapshot(scope as never, input) as AnyMachineSnapshot,
    logic: {
      getInitialSnapshot: (_scope: unknown, input: unknown) => machine.getInitialSnapshot(scope as never, input),
      transition: (snapshot: AnyMachineSnapshot, event: MachineEvent) => {
        try {
          return machine.transition(snapshot, event as never, scope as never)
        } catch (error) {
          return { ...snapshot, status: "error", error }
        }
      }
    }
  }
}

/** The events a snapshot alone tells are possible (delayed raises are offered by type; a replay keeps only those pending). */
const graphEvents = (workflow: DifferentialWorkflow) => (snapshot: AnyMachineSnapshot): Array<MachineEvent> => {
  if (snapshot.status !== "active") return []
  const nodes = snapshot._nodes as unknown as ReadonlyArray<{ ownEvents: ReadonlyArray<string>; after: ReadonlyArray<{ eventType: string }> }>
  const own = new Set(nodes.flatMap((node) => node.ownEvents))
  const events: Array<MachineEvent> = []
  for (const [type, payloads] of Object.entries(workflow.events)) {
    if (own.has(type) && payloads.length > 0) events.push({ ...payloads[0], type })
  }
  for (const [invokeId, ref] of Object.entries(snapshot.children as Record<string, AnyActorRef | undefined>)) {
    if (ref === undefined || typeof ref.src !== "string") continue
    for (const output of workflow.outputsOf(ref.src)) events.push({ type: `xstate.done.actor.${invokeId}`, output, actorId: invokeId })
    const [error] = workflow.errorsOf(ref.src)
    if (error !== undefined) events.push({ type: `xstate.error.actor.${invokeId}`, error, actorId: invokeId })
  }
  for (const node of nodes) for (const after of node.after) events.push({ type: after.eventType })
  for (const type of own) {
    if (type in workflow.events || type.startsWith("xstate.") || type === "*") continue
    const payloads = workflow.messages[type]
    events.push(payloads !== undefined && payloads.length > 0 ? { ...payloads[0], type } : { type })
  }
  return events
}

const serializeFull = (snapshot: AnyMachineSnapshot) =>
  stable({ value: snapshot.value, context: snapshot.context, children: Object.keys(snapshot.children).sort(), status: snapshot.status })
const serializeValue = (snapshot: AnyMachineSnapshot) => stable({ value: snapshot.value, children: Object.keys(snapshot.children).sort(), status: snapshot.status })

type GraphPath = { readonly steps: ReadonlyArray<{ readonly event: MachineEvent }> }

/** A path's events as inputs, replayed on XState: stops at the first event that is not an input that can happen then. */
const toSequence = async (workflow: DifferentialWorkflow, isWorkflowType: (src: string) => boolean, input: unknown, events: ReadonlyArray<MachineEvent>, label: string): Promise<Sequence> => {
  const reference = new Reference(workflow, isWorkflowType, input)
  const steps: Array<Input> = []
  try {
    if (!reference.start().accepted) return { label, input, steps }
    for (const event of events) {
      await prepare(workflow, reference)
      const wanted = stable(event)
      const candidate = reference.enabled().find((c) => stable(machineEventOf(c.input)) === wanted)
      if (candidate === undefined) break
      steps.push(candidate.input)
      reference.apply(candidate.input)
    }
    return { label, input, steps }
  } finally {
    reference.stop()
  }
}

export const graphPaths = async (workflow: DifferentialWorkflow, isWorkflowType: (src: string) => boolean, maxPaths: number, random: Rng): Promise<Array<Sequence>> => {
  const { initial, logic } = graphLogic(workflow)
  const events = graphEvents(workflow)
  type Found = { readonly input: unknown; readonly events: ReadonlyArray<MachineEvent> }
  const shortestOnes: Array<Found> = []
  const transitionOnes: Array<Found> = []
  const simpleOnes: Array<Found> = []
  const eventsOf = (path: GraphPath) => path.steps.map((step) => step.event).filter((event) => event.type !== "xstate.init")
  for (const input of workflow.inputs.slice(0, 2)) {
    const fromState = initial(input)
    if (fromState.status !== "active") continue
    // State coverage: a shortest path to every state (with its context when that space is finite).
    let shortest: ReadonlyArray<GraphPath & { readonly state: AnyMachineSnapshot }>
    try {
      shortest = getShortestPaths(logic as never, { events, fromState, serializeState: serializeFull, limit: 3_000 } as never) as never
    } catch {
      // Context that grows without bound (a cart's quantities, a booking's attempts): one node per state value.
      shortest = getShortestPaths(logic as never, { events, fromState, serializeState: serializeValue } as never) as never
    }
    for (const path of shortest) shortestOnes.push({ input, events: eventsOf(path) })
    // Transition coverage: every edge of the state-value graph once (self-loops too, such as a timer
    // that re-enters its state), reached by a shortest path to its source.
    const byValue = getShortestPaths(logic as never, { events, fromState, serializeState: serializeValue } as never) as unknown as ReadonlyArray<GraphPath & { readonly state: AnyMachineSnapshot }>
    const pathTo = new Map(byValue.map((path) => [serializeValue(path.state), eventsOf(path)]))
    const adjacency = getAdjacencyMap(logic as never, { events, fromState, serializeState: serializeValue } as never) as unknown as Record<string, { readonly transitions: Record<string, { readonly event: MachineEvent }> }>
    for (const [serial, node] of Object.entries(adjacency)) {
      const prefix = pathTo.get(serial)
      if (prefix === undefined) continue
      for (const { event } of Object.values(node.transitions)) transitionOnes.push({ input, events: [...prefix, event] })
    }
    for (const path of getSimplePaths(logic as never, { events, fromState, serializeState: serializeValue } as never) as unknown as ReadonlyArray<GraphPath>) {
      simpleOnes.push({ input, events: eventsOf(path) })
    }
  }
  // Shortest paths, then transition coverage, then simple paths picked evenly (deterministically), up to the cap.
  const shuffled = (items: ReadonlyArray<Found>) => items.map((item) => ({ item, key: random.next() })).sort((a, b) => a.key - b.key).map(({ item }) => item)
  const chosen: Array<[string, Found]> = [
    ...shortestOnes.map((found) => ["shortest", found] as [string, Found]),
    ...transitionOnes.map((found) => ["transition", found] as [string, Found]),
    ...shuffled(simpleOnes).map((found) => ["simple", found] as [string, Found])
  ].slice(0, maxPaths)
  const sequences: Array<Sequence> = []
  for (const [index, [kind, found]] of chosen.entries()) {
    sequences.push(await toSequence(workflow, isWorkflowType, found.input, found.events, `${kind}#${index}`))
  }
  return sequences
}

// -- every sequence, for machines small enough ------------------------------------------

/**
 * Every input sequence (every prefix, up to `maxSteps` inputs and the output
 * and error variants sampled), breadth first; undefined when there are more
 * than `limit`. Tiny machines (fragile, relay) have fewer than 200 sequences
 * in all: they get all of them instead of random ones.
 */
export const exhaustive = async (workflow: DifferentialWorkflow, isWorkflowType: (src: string) => boolean, limit: number): Promise<Array<Sequence> | undefined> => {
  const found: Array<Sequence> = []
  for (const input of workflow.inputs) {
    const queue: Array<ReadonlyArray<Input>> = [[]]
    const seen = new Set<string>()
    while (queue.length > 0) {
      const steps = queue.shift()!
      const key = stable([input, steps])
      if (seen.has(key)) continue
      seen.add(key)
      found.push({ label: `every#${found.length}`, input, steps })
      if (found.length > limit) return undefined
      if (steps.length >= workflow.maxSteps) continue
      const reference = new Reference(workflow, isWorkflowType, input)
      try {
        if (!reference.start().accepted) continue
        for (const step of steps) reference.apply(step)
        await prepare(workflow, reference)
        const next = reference.enabled()
        // After the end: one refused input shows that both sides refuse.
        if (next.length === 0 && steps.at(-1)?.kind !== "event") {
          const [type, payloads] = Object.entries(workflow.events).find(([, p]) => p.length > 0) ?? []
          if (type !== undefined) queue.push([...steps, { kind: "event", event: { ...payloads![0], type } }])
        }
        for (const candidate of next) queue.push([...steps, candidate.input])
      } finally {
        reference.stop()
      }
    }
  }
  return found
}

// -- all of them --------------------------------------------------------------------

export const generate = async (workflow: DifferentialWorkflow, isWorkflowType: (src: string) => boolean, options: GenerateOptions): Promise<{ readonly sequences: Array<Sequence>; readonly exhaustive: boolean }> => {
  const every = await exhaustive(workflow, isWorkflowType, options.total)
  if (every !== undefined) return { sequences: every, exhaustive: true }
  const base = (options.baseSeed ^ hashSeed(workflow.type)) >>> 0
  const seen = new Set<string>()
  const sequences: Array<Sequence> = []
  const add = (sequence: Sequence) => {
    const key = stable([sequence.input, sequence.steps])
    if (seen.has(key)) return false
    seen.add(key)
    sequences.push(sequence)
    return true
  }
  for (const sequence of await graphPaths(workflow, isWorkflowType, options.maxPaths, rng(base))) add(sequence)
  let walks = 0
  for (let i = 0; (walks < options.minWalks || sequences.length < options.total) && i < options.total * 20; i++) {
    const seed = hashSeed(`${hex(base)}:${i}`)
    if (add(await randomWalk(workflow, isWorkflowType, seed, `walk#${i}`))) walks++
  }
  return { sequences, exhaustive: false }
}

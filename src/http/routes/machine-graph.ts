/**
 * A machine's definition as a graph, for the catalogue and the inspector: every
 * state node (flat, each naming its parent) with its kind and invokes, and
 * every transition with its event, guard, delay and targets. Read from XState's
 * own parsed tree (`machine.root`); `after` transitions are the
 * `xstate.after.<delay>.<state>` entries of a node's transitions, `always`
 * transitions are listed apart (XState keeps them out of the map).
 */
import { Schema } from "effect"
import type { AnyStateMachine } from "xstate"
import type { WorkflowDefinition } from "../../engine/index.js"

export interface StateNodeGraph {
  readonly id: string
  readonly key: string
  readonly parent: string | null
  readonly kind: "atomic" | "compound" | "parallel" | "final" | "history"
  readonly initial: ReadonlyArray<string>
  readonly history: "shallow" | "deep" | null
  readonly tags: ReadonlyArray<string>
  readonly description: string | null
  readonly invokes: ReadonlyArray<{ readonly id: string; readonly src: string }>
}

export interface TransitionGraph {
  readonly source: string
  /** The event type; "" for an eventless (`always`) transition. */
  readonly event: string
  readonly trigger: "event" | "after" | "always" | "done" | "error"
  readonly guard: string | null
  /** The delay's name or its milliseconds, for `after` transitions. */
  readonly delay: string | number | null
  readonly delayMs: number | null
  readonly targets: ReadonlyArray<string>
  readonly reenter: boolean
}

export interface MachineVersionGraph {
  readonly version: number
  readonly kind: "aggregate" | "saga"
  readonly machineId: string
  readonly initial: ReadonlyArray<string>
  readonly input: unknown
  readonly accepts: Readonly<Record<string, unknown>>
  readonly emits: ReadonlyArray<string>
  readonly activities: ReadonlyArray<string>
  readonly states: ReadonlyArray<StateNodeGraph>
  readonly transitions: ReadonlyArray<TransitionGraph>
}

// XState's node and transition objects, as far as this module reads them.
interface Node {
  readonly id: string
  readonly key: string
  readonly type: StateNodeGraph["kind"]
  readonly history: false | "shallow" | "deep"
  readonly parent?: Node
  readonly tags: ReadonlyArray<string>
  readonly description?: string
  readonly states: Readonly<Record<string, Node>>
  readonly initial?: { readonly target?: ReadonlyArray<Node> }
  readonly transitions: Map<string, ReadonlyArray<Transition>>
  readonly always?: ReadonlyArray<Transition>
  readonly invoke: ReadonlyArray<{ readonly id: string; readonly src: unknown }>
}

interface Transition {
  readonly eventType: string
  readonly guard?: unknown
  readonly delay?: unknown
  readonly target?: ReadonlyArray<Node>
  readonly reenter: boolean
}

/** How long an inline guard's shortened source may grow before it is cut with "…". */
const inlineGuardLength = 40

/**
 * An inline guard function as a short line of its source: the body of an arrow
 * function without its parameters (`({ event }) => event.output.refunded` reads
 * `event.output.refunded`), whitespace folded and one space around each
 * comparison or logical operator, cut at 40 characters; a named
 * function by its name; "guard" when nothing readable is left.
 */
export const inlineGuardText = (fn: { readonly name?: string }): string => {
  const source = Function.prototype.toString.call(fn).replace(/\s+/g, " ").trim()
  const arrow = /^(?:async\s*)?(?:\([^)]*\)|[\w$]+)\s*=>\s*(.*)$/s.exec(source)
  let body = arrow?.[1]?.trim()
  if (body !== undefined) {
    const returned = /^\{\s*return\s+([^;]*);?\s*\}$/.exec(body)
    if (returned?.[1] !== undefined) body = returned[1].trim()
    else if (body.startsWith("{")) body = undefined
  }
  if (body === undefined || body === "") {
    const name = fn.name ?? ""
    return name !== "" && name !== "guard" && !name.startsWith("bound ") ? name : "guard"
  }
  // Compilers fold the spaces around operators (`a<b`): put them back, outside string literals.
  body = body.replace(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)|\s*(===|!==|==|!=|=>|<=|>=|&&|\|\||\?\?|<|>)\s*/g, (match, quoted, operator) =>
    quoted !== undefined ? quoted : ` ${operator} `
  )
  return body.length > inlineGuardLength ? `${body.slice(0, inlineGuardLength - 1).trimEnd()}…` : body
}

/** `isPaid`, `and(isPaid, not(isLate))`, `stateIn("a")`, or an inline function's short source (`context.attempt < 3`). */
export const describeGuard = (guard: unknown): string | null => {
  if (guard === undefined || guard === null) return null
  if (typeof guard === "string") return guard
  if (typeof guard === "object") return String((guard as { type?: unknown }).type ?? "guard")
  if (typeof guard === "function") {
    const fn = guard as { name: string; guards?: ReadonlyArray<unknown>; stateValue?: unknown }
    if (fn.stateValue !== undefined) return `stateIn(${JSON.stringify(fn.stateValue)})`
    if (Array.isArray(fn.guards)) return `${fn.name}(${fn.guards.map((inner) => describeGuard(inner) ?? "?").join(", ")})`
    return inlineGuardText(fn)
  }
  return "guard"
}

const triggerOf = (event: string): TransitionGraph["trigger"] =>
  event === "" ? "always" : event.startsWith("xstate.after.") ? "after" : event.startsWith("xstate.done.") ? "done" : event.startsWith("xstate.error.") ? "error" : "event"

const delayOf = (machine: AnyStateMachine, delay: unknown): { delay: string | number | null; delayMs: number | null } => {
  if (typeof delay === "number") return { delay, delayMs: delay }
  if (typeof delay === "string") {
    const configured = (machine.implementations.delays as Record<string, unknown> | undefined)?.[delay]
    return { delay, delayMs: typeof configured === "number" ? configured : null }
  }
  return delay === undefined ? { delay: null, delayMs: null } : { delay: "(computed)", delayMs: null }
}

const srcOf = (src: unknown) => (typeof src === "string" ? src : "(inline)")

export const graphOf = (machine: AnyStateMachine) => {
  const states: Array<StateNodeGraph> = []
  const transitions: Array<TransitionGraph> = []
  const edge = (node: Node, transition: Transition) =>
    transitions.push({
      source: node.id,
      event: transition.eventType,
      trigger: triggerOf(transition.eventType),
      guard: describeGuard(transition.guard),
      ...delayOf(machine, transition.delay),
      targets: (transition.target ?? []).map((target) => target.id),
      reenter: transition.reenter
    })
  const visit = (node: Node) => {
    states.push({
      id: node.id,
      key: node.key,
      parent: node.parent?.id ?? null,
      kind: node.type,
      initial: node.type === "compound" ? (node.initial?.target ?? []).map((target) => target.id) : [],
      history: node.history === false ? null : node.history,
      tags: [...node.tags],
      description: node.description ?? null,
      invokes: node.invoke.map((invoke) => ({ id: invoke.id, src: srcOf(invoke.src) }))
    })
    for (const list of node.transitions.values()) for (const transition of list) edge(node, transition)
    for (const transition of node.always ?? []) edge(node, transition)
    for (const child of Object.values(node.states)) visit(child)
  }
  const root = machine.root as unknown as Node
  visit(root)
  return { machineId: root.id, initial: (root.initial?.target ?? []).map((target) => target.id), states, transitions }
}

const jsonSchemaOf = (schema: Schema.Top): unknown => {
  try {
    return Schema.toJsonSchemaDocument(schema).schema
  } catch {
    // A schema with no JSON Schema form (a declared class, a custom check) is still valid: show that it exists.
    return {}
  }
}

export const versionGraph = (definition: WorkflowDefinition<any>): MachineVersionGraph => ({
  version: definition.version,
  kind: definition.kind,
  ...graphOf(definition.machine),
  input: jsonSchemaOf(definition.events.input),
  accepts: Object.fromEntries(Object.entries(definition.events.accepts).map(([type, schema]) => [type, jsonSchemaOf(schema)])),
  emits: definition.events.emits.map((eventType) => eventType.type),
  activities: Object.keys(definition.activities)
})

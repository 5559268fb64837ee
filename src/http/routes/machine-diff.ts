/**
 * Two versions of a machine compared: the states and transitions one has and the
 * other has not. States are matched by their path of keys from the top
 * (`locked.latched`, what `GET /workflows?state=` takes), not by id, so a renamed
 * machine id or a state's own `id` does not count as a change; transitions by their
 * source, event and targets (as paths), so a changed guard or action alone is no
 * change. Pure: the route adds the instances standing in removed states.
 */
import type { MachineVersionGraph, StateNodeGraph, TransitionGraph } from "./machine-graph.js"

/** A state one version has and the other has not. */
export interface StateChange {
  /** Its keys from the top joined by dots. */
  readonly path: string
  /** Its id and its parent's in the version that has it (for drawing it there). */
  readonly id: string
  readonly parent: string | null
  readonly kind: StateNodeGraph["kind"]
}

/** A transition one version has and the other has not. */
export interface TransitionChange {
  /** The source state's path ("" for the machine itself). */
  readonly source: string
  readonly event: string
  readonly trigger: TransitionGraph["trigger"]
  readonly guard: string | null
  /** The target states' paths. */
  readonly targets: ReadonlyArray<string>
  /** Source and target ids in the version that has it. */
  readonly sourceId: string
  readonly targetIds: ReadonlyArray<string>
}

export interface VersionDiff {
  readonly states: { readonly added: ReadonlyArray<StateChange>; readonly removed: ReadonlyArray<StateChange> }
  readonly transitions: { readonly added: ReadonlyArray<TransitionChange>; readonly removed: ReadonlyArray<TransitionChange> }
}

/**
 * Every state's path of keys from the top, by id; the machine's root is "".
 *
 * @example
 * statePathsOf(versionGraph(gate)).get("gate.locked.latched") // "locked.latched"
 */
export const statePathsOf = (graph: Pick<MachineVersionGraph, "states">): ReadonlyMap<string, string> => {
  const byId = new Map(graph.states.map((state) => [state.id, state]))
  const paths = new Map<string, string>()
  const pathOf = (state: StateNodeGraph): string => {
    const known = paths.get(state.id)
    if (known !== undefined) return known
    const parent = state.parent === null ? undefined : byId.get(state.parent)
    const path = parent === undefined ? "" : parent.parent === null ? state.key : `${pathOf(parent)}.${state.key}`
    paths.set(state.id, path)
    return path
  }
  for (const state of graph.states) pathOf(state)
  return paths
}

/** What the comparison reads of a version's graph. */
type Graph = Pick<MachineVersionGraph, "machineId" | "states" | "transitions">

const transitionChanges = (graph: Graph): Map<string, TransitionChange> => {
  const paths = statePathsOf(graph)
  const pathOf = (id: string) => paths.get(id) ?? id
  // `after`, `done` and `error` events name state ids (`xstate.after.1000.gate.open`): read them as paths too.
  const rootPrefix = `${graph.machineId}.`
  const changes = new Map<string, TransitionChange>()
  for (const transition of graph.transitions) {
    const change: TransitionChange = {
      source: pathOf(transition.source),
      event: transition.event,
      trigger: transition.trigger,
      guard: transition.guard,
      targets: transition.targets.map(pathOf),
      sourceId: transition.source,
      targetIds: transition.targets
    }
    const event = transition.trigger === "event" || transition.trigger === "always" ? transition.event : transition.event.split(rootPrefix).join("")
    changes.set(JSON.stringify([change.source, event, change.targets]), change)
  }
  return changes
}

const onlyIn = <A>(mine: ReadonlyMap<string, A>, theirs: ReadonlyMap<string, unknown>): Array<A> =>
  [...mine].filter(([key]) => !theirs.has(key)).map(([, value]) => value)

/**
 * What `to` adds to `from` and what it removes: states by path, transitions by source, event and targets.
 *
 * @example
 * const diff = diffVersions(versionGraph(gateV1), versionGraph(gateV2))
 * diff.states.removed.map((state) => state.path) // ["jammed", "locked.latched"]
 */
export const diffVersions = (from: Graph, to: Graph): VersionDiff => {
  const statesOf = (graph: Graph) => {
    const paths = statePathsOf(graph)
    return new Map(
      graph.states
        .filter((state) => state.parent !== null)
        .map((state): [string, StateChange] => [paths.get(state.id)!, { path: paths.get(state.id)!, id: state.id, parent: state.parent, kind: state.kind }])
    )
  }
  const [fromStates, toStates] = [statesOf(from), statesOf(to)]
  const [fromTransitions, toTransitions] = [transitionChanges(from), transitionChanges(to)]
  return {
    states: { added: onlyIn(toStates, fromStates), removed: onlyIn(fromStates, toStates) },
    transitions: { added: onlyIn(toTransitions, fromTransitions), removed: onlyIn(fromTransitions, toTransitions) }
  }
}

/**
 * Whether an instance whose state value is `value` stands in the state at `path`: in it,
 * or in a state inside it (`{"locked": "latched"}` stands in `locked` and `locked.latched`).
 *
 * @example
 * standsIn({ locked: "latched" }, "locked.latched") // true
 * standsIn({ locked: "latched" }, "locked.bolted") // false
 */
export const standsIn = (value: unknown, path: string): boolean => {
  const keys = path.split(".")
  let at = value
  for (const [index, key] of keys.entries()) {
    // A string is a leaf: the path must end at it.
    if (typeof at === "string") return at === key && index === keys.length - 1
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return false
    at = (at as Record<string, unknown>)[key]
  }
  return true
}

/**
 * XState's pure transitions, run through one reused inert actor scope per
 * machine instead of a throw-away actor per call (xstate's `transition()` builds
 * a new actor and system each time: ~17 µs; this path is several times faster
 * and is what makes replay fast). Actions are collected, never executed.
 *
 * The scope's actor has a stand-in parent, so a child workflow's `sendParent`
 * resolves to an action the engine can route, where `transition()` would throw.
 * Results are checked against xstate's own `transition()` in the tests.
 *
 * The transitions each microstep took are collected too, from the
 * `@xstate.microstep` inspection event XState sends through the scope's
 * system: the engine records them with the input (the heatmap counts them).
 */
import {
  type AnyActorRef,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
  type ExecutableActionObject,
  createActor
} from "xstate"

/** The stand-in parent: `sendParent(...)` targets it; the engine routes those to the parent instance. */
export const parentRef = { id: "orrery.parent", sessionId: "orrery.parent", send: () => {} } as unknown as AnyActorRef

/** A transition as XState parsed it, as far as the engine reads it. */
export interface TransitionDefinition {
  readonly source: { readonly id: string }
  readonly eventType: string
  readonly target?: ReadonlyArray<{ readonly id: string }>
}

interface InertScope {
  readonly scope: Record<string, unknown> & { actionExecutor: (action: ExecutableActionObject) => void }
  /** Where the running call puts each microstep's transitions. */
  taken: Array<ReadonlyArray<TransitionDefinition>>
}

interface MicrostepEvent {
  readonly type: string
  readonly _transitions?: ReadonlyArray<TransitionDefinition>
}

const scopes = new WeakMap<AnyStateMachine, InertScope>()

const scopeOf = (machine: AnyStateMachine): InertScope => {
  let inert = scopes.get(machine)
  if (inert === undefined) {
    const self = createActor(machine) as unknown as { _parent: AnyActorRef; system: { _sendInspectionEvent: (event: MicrostepEvent) => void } }
    self._parent = parentRef
    // This system belongs to the inert actor alone: nobody else inspects it, so take its
    // microsteps directly (a reference pushed per microstep; replay ignores them).
    self.system._sendInspectionEvent = (event) => {
      if (event.type === "@xstate.microstep" && event._transitions !== undefined && event._transitions.length > 0) inert!.taken.push(event._transitions)
    }
    inert = {
      taken: [],
      scope: {
        self,
        defer: () => {},
        id: "",
        logger: () => {},
        sessionId: "",
        stopChild: () => {},
        system: self.system,
        emit: () => {},
        actionExecutor: () => {}
      }
    }
    scopes.set(machine, inert)
  }
  return inert
}

const collecting = <A>(
  machine: AnyStateMachine,
  run: (scope: unknown) => A
): [A, Array<ExecutableActionObject>, Array<ReadonlyArray<TransitionDefinition>>] => {
  const inert = scopeOf(machine)
  const actions: Array<ExecutableActionObject> = []
  const taken: Array<ReadonlyArray<TransitionDefinition>> = []
  inert.scope.actionExecutor = (action) => {
    actions.push(action)
  }
  inert.taken = taken
  try {
    return [run(inert.scope), actions, taken]
  } finally {
    inert.scope.actionExecutor = () => {}
    inert.taken = []
  }
}

export const pureInitialTransition = (machine: AnyStateMachine, input: unknown) =>
  collecting(machine, (scope) => machine.getInitialSnapshot(scope as never, input) as AnyMachineSnapshot)

export const pureTransition = (machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: EventObject) =>
  collecting(machine, (scope) => machine.transition(snapshot, event, scope as never) as AnyMachineSnapshot)

/** A persisted snapshot (plain JSON) back into a live one, children included; nothing is started. */
export const restoreSnapshot = (machine: AnyStateMachine, persisted: unknown): AnyMachineSnapshot =>
  machine.restoreSnapshot(persisted as never, scopeOf(machine).scope as never) as AnyMachineSnapshot

/** The JSON to store for a snapshot. */
export const persistSnapshot = (machine: AnyStateMachine, snapshot: AnyMachineSnapshot): unknown =>
  machine.getPersistedSnapshot(snapshot)

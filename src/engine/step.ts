/**
 * One step of an instance, as a pure function: a snapshot and an input in; the
 * next snapshot, the domain events it emitted and the effects it asks for out.
 * Nothing here touches the database or the clock — the engine records what
 * this returns, and replay calls it again to check what was recorded.
 */
import { Schema } from "effect"
import type { AnyMachineSnapshot, AnyStateMachine, EventObject, ExecutableActionObject } from "xstate"
import { parentRef, pureInitialTransition, pureTransition, type TransitionDefinition } from "./pure.js"

export type MachineEvent = { readonly type: string; readonly [key: string]: unknown }

export type StepEffect =
  | { readonly kind: "activity"; readonly invokeId: string; readonly src: string; readonly input: unknown }
  | { readonly kind: "child"; readonly invokeId: string; readonly workflowType: string; readonly input: unknown }
  | { readonly kind: "stop"; readonly invokeId: string }
  | { readonly kind: "timer"; readonly timerId: string; readonly event: MachineEvent; readonly delay: number }
  | { readonly kind: "cancel"; readonly sendId: string }
  | {
      readonly kind: "send"
      readonly to: { readonly child: string } | "parent"
      readonly event: MachineEvent
      readonly delay?: number
      readonly sendId?: string
    }

export interface Step {
  readonly snapshot: AnyMachineSnapshot
  readonly emitted: ReadonlyArray<MachineEvent>
  readonly effects: ReadonlyArray<StepEffect>
  /** XState's transitions taken, microstep by microstep; `takenTransitions` names them. */
  readonly microsteps: ReadonlyArray<ReadonlyArray<TransitionDefinition>>
}

/**
 * A transition a step took, as the input's `metadata.transitions` records it:
 * `[source state id, event type, ...target state ids]` — the event is "" for an
 * eventless (`always`) transition, and a targetless transition has no targets.
 * The ids and event types are those of the machine's graph (`GET /machines`).
 * A tuple rather than an object: it is written with every input.
 */
export type TakenTransition = readonly [source: string, event: string, ...targets: Array<string>]

/**
 * The transitions a step took, in the order XState took them: the input's own,
 * then eventless and raised ones; in a parallel state one per region.
 *
 * @example
 * const step = nextStep(machine, snapshot, { type: "PAY" }, invocables)
 * takenTransitions(step!) // [["order.awaitingPayment", "PAY", "order.paid"]]
 */
export const takenTransitions = (step: Pick<Step, "microsteps">): Array<TakenTransition> =>
  step.microsteps.flatMap((transitions) =>
    transitions.map((transition): TakenTransition => [transition.source.id, transition.eventType, ...(transition.target ?? []).map((target) => target.id)])
  )

/** The machine asked for something the engine cannot do durably; the instance fails with this reason. */
export class UnsupportedAction extends Schema.TaggedError<UnsupportedAction>()("UnsupportedAction", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** How the step tells an invoked activity from a child workflow. */
export interface Invocables {
  readonly isActivity: (src: string) => boolean
  readonly isWorkflow: (src: string) => boolean
}

const interpret = (actions: ReadonlyArray<ExecutableActionObject>, invocables: Invocables) => {
  const emitted: Array<MachineEvent> = []
  const effects: Array<StepEffect> = []
  for (const action of actions) {
    const params = action.params as Record<string, any> | undefined
    switch (action.type) {
      case "xstate.emit":
        emitted.push(params!.event)
        break
      case "xstate.spawnChild": {
        const src = params!.src
        if (typeof src !== "string") {
          throw new UnsupportedAction({ reason: `invoke ${params!.id} must name its actor in setup({ actors }) so that the engine can find it` })
        }
        if (invocables.isActivity(src)) effects.push({ kind: "activity", invokeId: params!.id, src, input: params!.input })
        else if (invocables.isWorkflow(src)) effects.push({ kind: "child", invokeId: params!.id, workflowType: src, input: params!.input })
        else throw new UnsupportedAction({ reason: `invoke ${params!.id} uses ${src}, which is neither an activity of this workflow nor a workflow type` })
        break
      }
      case "xstate.stopChild": {
        const ref = params as unknown as { id?: string } | undefined
        if (ref?.id !== undefined) effects.push({ kind: "stop", invokeId: ref.id })
        break
      }
      case "xstate.raise":
        // Without a delay XState handled it inside the macrostep already.
        if (params!.delay !== undefined) {
          if (params!.id === undefined) {
            throw new UnsupportedAction({ reason: `a delayed raise of ${params!.event.type} needs an id` })
          }
          effects.push({ kind: "timer", timerId: params!.id, event: params!.event, delay: params!.delay })
        }
        break
      case "xstate.cancel":
        effects.push({ kind: "cancel", sendId: params!.sendId })
        break
      case "xstate.sendTo": {
        const target = params!.to
        const to = target === parentRef ? "parent" : { child: String(target?.id ?? params!.targetId) }
        if (params!.delay !== undefined && params!.id === undefined) {
          throw new UnsupportedAction({ reason: `a delayed send of ${params!.event.type} needs an id` })
        }
        effects.push({
          kind: "send",
          to,
          event: params!.event,
          ...(params!.delay === undefined ? {} : { delay: params!.delay, sendId: params!.id })
        })
        break
      }
      default:
        // Named custom actions are side effects XState would run; durable workflows do theirs in activities.
        break
    }
  }
  return { emitted, effects }
}

export const startStep = (machine: AnyStateMachine, input: unknown, invocables: Invocables): Step => {
  const [snapshot, actions, microsteps] = pureInitialTransition(machine, input)
  return { snapshot, ...interpret(actions, invocables), microsteps }
}

/**
 * Undefined when the machine ignores the event. XState returns the very same
 * snapshot then — but also for a taken transition that changes nothing in the
 * snapshot (a targetless emit, a state re-entering itself), so in that case ask
 * it whether it selected a transition at all.
 */
export const nextStep = (
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: MachineEvent,
  invocables: Invocables
): Step | undefined => {
  const [next, actions, microsteps] = pureTransition(machine, snapshot, event as EventObject)
  if (next === snapshot && machine.getTransitionData(snapshot as never, event as never).length === 0) return undefined
  return { snapshot: next, ...interpret(actions, invocables), microsteps }
}

/** The event types the snapshot's active states would take, without XState's internal ones. */
export const acceptedEvents = (snapshot: AnyMachineSnapshot): ReadonlyArray<string> => {
  const types = new Set<string>()
  for (const node of snapshot._nodes as ReadonlyArray<{ ownEvents: ReadonlyArray<string> }>) {
    for (const type of node.ownEvents) if (!type.startsWith("xstate.") && type !== "*") types.add(type)
  }
  return [...types].sort()
}

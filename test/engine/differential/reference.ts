/**
 * XState's side: the workflow's machine run by XState's own `createActor`,
 * with every invoked actor replaced by one that never answers and a simulated
 * clock that is never advanced. Activity results, child results, timer firings
 * and messages are sent to it as the ordinary events they are.
 *
 * The actor gets a stand-in parent, as an instance started by the engine has:
 * a standalone `chapter` calls `sendParent`, which a root actor cannot do.
 *
 * An input is taken when XState selects a transition for it (seen through
 * its inspection API), not only when the snapshot object changes: re-entering
 * a state or a targetless `emit` leave the very same snapshot object.
 *
 * One documented engine rule is applied on top of XState, because XState has
 * no such notion: domain events are validated against the workflow's declared
 * schemas, and an undeclared or invalid `emit` fails the instance (its state
 * stays where it was). Everything else is XState's own behaviour.
 */
import { Result, Schema } from "effect"
import { type AnyActorRef, type AnyMachineSnapshot, createActor, fromCallback, SimulatedClock } from "xstate"
import type { DifferentialWorkflow } from "./workflows.js"

export type MachineEvent = { readonly type: string; readonly [key: string]: unknown }

/** One input to an instance: what the engine records as one transaction. */
export type Input =
  | { readonly kind: "event"; readonly event: MachineEvent }
  | { readonly kind: "activity" | "child"; readonly invokeId: string; readonly src: string; readonly ok: boolean; readonly value: unknown }
  | { readonly kind: "timer"; readonly timerId: string; readonly event: MachineEvent }
  | { readonly kind: "message"; readonly event: MachineEvent }

export const machineEventOf = (input: Input): MachineEvent => {
  switch (input.kind) {
    case "event":
    case "timer":
    case "message":
      return input.event
    case "activity":
    case "child":
      return input.ok
        ? { type: `xstate.done.actor.${input.invokeId}`, output: input.value, actorId: input.invokeId }
        : { type: `xstate.error.actor.${input.invokeId}`, error: input.value, actorId: input.invokeId }
  }
}

export type Status = "active" | "done" | "error" | "stopped"

export interface Observation {
  readonly status: Status
  readonly value: unknown
  readonly context: unknown
  readonly output: unknown
  /** Invoke ids of the activities in flight. */
  readonly activities: ReadonlyArray<string>
  /** Ids of the pending timers (`after` and delayed raises). */
  readonly timers: ReadonlyArray<string>
}

/** An event sent to an invoked child (`sendTo`), by invoke id. */
export interface Sent {
  readonly to: string
  readonly event: unknown
}

export interface Outcome {
  readonly accepted: boolean
  /** The step's domain events as the log holds them: `{ type, ...encoded payload }`. */
  readonly emitted: ReadonlyArray<MachineEvent>
  /** Events the step sent to children (undelayed `sendTo`). */
  readonly sent: ReadonlyArray<Sent>
  /** Invoke ids of the child workflows the step started. */
  readonly started: ReadonlyArray<string>
  readonly observation: Observation
  /** Set when the step broke the emit rule (see above). */
  readonly rule?: string
}

export interface Candidate {
  readonly input: Input
  /** Whether the current state takes it (`snapshot.can`); inputs it does not take probe refusals. */
  readonly handled: boolean
  readonly category: "event" | "result" | "timer" | "message"
}

export const json = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)))

interface ScheduledEvent {
  readonly id: string
  readonly event: MachineEvent
  readonly source: unknown
  readonly target: unknown
}

export class Reference {
  private readonly clock = new SimulatedClock()
  private readonly parent: AnyActorRef
  private readonly actor: ReturnType<typeof createActor>
  private buffer: Array<MachineEvent> = []
  /** Invoked actors whose result was delivered: no longer in flight, though XState keeps them in `children`. */
  private readonly finished = new WeakSet<object>()
  /** The observation after the emit rule failed the instance. */
  private frozen: Observation | undefined
  /** The event being sent, and whether XState took a transition for it. */
  private sending: object | undefined
  private transitioned = false
  private sent: Array<Sent> = []

  constructor(
    private readonly workflow: DifferentialWorkflow,
    private readonly isWorkflowType: (src: string) => boolean,
    input: unknown
  ) {
    this.parent = createActor(fromCallback(({ receive }) => receive(() => {})), { clock: this.clock }) as unknown as AnyActorRef
    this.parent.start()
    this.actor = createActor(workflow.machine, { input, clock: this.clock, parent: this.parent } as never)
    this.actor.on("*", (event: MachineEvent) => {
      this.buffer.push(event)
    })
    // An error status is observed, not thrown.
    this.actor.subscribe({ error: () => {} })
    // Whether an event was taken: XState selected a transition for it. (A transition whose actions change
    // nothing in the snapshot — re-entering the same state, an emit or sendTo without assign — leaves the
    // very same snapshot object, so "the snapshot changed" is not the test.)
    this.actor.system.inspect((inspection: any) => {
      if (inspection.type === "@xstate.microstep" && inspection.actorRef === this.actor && inspection.event === this.sending && inspection._transitions.length > 0) {
        this.transitioned = true
      }
      // What the machine sends its children (the engine records these as messages to child instances).
      if (inspection.type === "@xstate.event" && inspection.sourceRef === this.actor && inspection.actorRef !== this.actor && inspection.actorRef !== this.parent && inspection.event.type !== "xstate.init") {
        this.sent.push({ to: inspection.actorRef.id, event: json(inspection.event) })
      }
    })
  }

  private snapshot = () => this.actor.getSnapshot() as AnyMachineSnapshot

  private check(emitted: ReadonlyArray<MachineEvent>): { readonly events: Array<MachineEvent>; readonly rule?: string } {
    const events: Array<MachineEvent> = []
    for (const { type, ...payload } of emitted) {
      const eventType = this.workflow.definition.events.emits.find((candidate) => candidate.type === type)
      if (eventType === undefined) return { events, rule: `emitted ${type}, which the workflow does not declare` }
      const encoded = Schema.encodeUnknownResult(eventType.schema)(payload)
      if (Result.isFailure(encoded)) return { events, rule: `emitted an invalid ${type}: ${encoded.failure.message}` }
      events.push({ type, ...(json(encoded.success) as object) })
    }
    return { events }
  }

  /** Child workflows invoked now that were not before. */
  private startedSince(before: Readonly<Record<string, unknown>>): Array<string> {
    return this.running()
      .filter((child) => child.kind === "child" && before[child.invokeId] !== this.snapshot().children[child.invokeId])
      .map((child) => child.invokeId)
      .sort()
  }

  start(): Outcome {
    this.buffer = []
    this.sent = []
    this.actor.start()
    const checked = this.check(this.buffer)
    if (checked.rule !== undefined) {
      this.frozen = { ...this.observe(), status: "error" }
      return { accepted: false, emitted: [], sent: [], started: [], observation: this.frozen, rule: checked.rule }
    }
    const accepted = this.snapshot().status !== "error"
    return { accepted, emitted: checked.events, sent: accepted ? this.sent : [], started: accepted ? this.startedSince({}) : [], observation: this.observe() }
  }

  terminal(): boolean {
    return this.frozen !== undefined || this.snapshot().status !== "active"
  }

  apply(input: Input): Outcome {
    // A done or failed actor takes nothing (XState would only warn): refused.
    if (this.terminal()) return { accepted: false, emitted: [], sent: [], started: [], observation: this.observe() }
    const before = this.snapshot()
    const observed = this.observe()
    this.buffer = []
    this.sent = []
    // A timer that fires leaves the scheduler whether or not the state takes it; so does a finished activity.
    if (input.kind === "timer") (this.actor.system as any).scheduler.cancel(this.actor, input.timerId)
    if (input.kind === "activity" || input.kind === "child") {
      const ref = before.children[input.invokeId]
      if (ref !== undefined) this.finished.add(ref)
    }
    const event = machineEventOf(input)
    this.sending = event
    this.transitioned = false
    this.actor.send(event as never)
    this.sending = undefined
    const after = this.snapshot()
    const accepted = this.transitioned || after !== before
    const checked = this.check(this.buffer)
    if (accepted && checked.rule !== undefined) {
      this.frozen = { ...observed, status: "error" }
      return { accepted: true, emitted: [], sent: [], started: [], observation: this.frozen, rule: checked.rule }
    }
    return { accepted, emitted: checked.events, sent: this.sent, started: this.startedSince(before.children), observation: this.observe() }
  }

  private scheduled(): Array<ScheduledEvent> {
    const all = (this.actor.system as any)._snapshot._scheduledEvents as Record<string, ScheduledEvent>
    return Object.values(all).filter((scheduled) => scheduled.source === this.actor && scheduled.target === this.actor)
  }

  private running(): Array<{ readonly invokeId: string; readonly src: string; readonly kind: "activity" | "child"; readonly input: unknown }> {
    const children = this.snapshot().children as Record<string, AnyActorRef | undefined>
    return Object.entries(children).flatMap(([invokeId, ref]) => {
      if (ref === undefined || this.finished.has(ref) || typeof ref.src !== "string") return []
      const src = ref.src
      const kind = src in this.workflow.definition.activities ? "activity" : this.isWorkflowType(src) ? "child" : undefined
      if (kind === undefined) return []
      return [{ invokeId, src, kind, input: (ref.getSnapshot() as { input?: unknown }).input }]
    })
  }

  observe(): Observation {
    if (this.frozen !== undefined) return this.frozen
    const snapshot = this.snapshot()
    return {
      status: snapshot.status as Status,
      value: json(snapshot.value),
      context: json(snapshot.context),
      output: snapshot.status === "done" ? json(snapshot.output) : undefined,
      activities: this.running().filter((child) => child.kind === "activity").map((child) => child.invokeId).sort(),
      timers: this.scheduled().map((scheduled) => scheduled.id).sort()
    }
  }

  /** The activities and children in flight, with their inputs (for stubs derived by running the activity). */
  invocations() {
    return this.terminal() ? [] : this.running()
  }

  /** Every input that can happen now. */
  enabled(): Array<Candidate> {
    if (this.terminal()) return []
    const snapshot = this.snapshot()
    const can = (event: MachineEvent) => {
      try {
        return snapshot.can(event as never)
      } catch {
        return true
      }
    }
    const candidates: Array<Candidate> = []
    for (const [type, payloads] of Object.entries(this.workflow.events)) {
      for (const payload of payloads) {
        const event = { ...payload, type }
        candidates.push({ input: { kind: "event", event }, handled: can(event), category: "event" })
      }
    }
    for (const child of this.running()) {
      const results = [
        ...this.workflow.outputsOf(child.src).map((value) => ({ ok: true, value })),
        ...this.workflow.errorsOf(child.src).map((value) => ({ ok: false, value }))
      ]
      for (const { ok, value } of results) {
        const input: Input = { kind: child.kind, invokeId: child.invokeId, src: child.src, ok, value }
        candidates.push({ input, handled: can(machineEventOf(input)), category: "result" })
      }
    }
    for (const scheduled of this.scheduled()) {
      candidates.push({ input: { kind: "timer", timerId: scheduled.id, event: json(scheduled.event) as MachineEvent }, handled: can(scheduled.event), category: "timer" })
    }
    for (const [type, payloads] of Object.entries(this.workflow.messages)) {
      for (const payload of payloads) {
        const event = { ...payload, type }
        candidates.push({ input: { kind: "message", event }, handled: can(event), category: "message" })
      }
    }
    return candidates
  }

  stop() {
    // An actor with a parent cannot be stopped directly; its parent would do this.
    ;(this.actor as unknown as { _stop: () => void })._stop()
    this.parent.stop()
  }
}

/** Two machine graphs compared (machine-diff.ts), and whether a state value stands in a state path. */
import { describe, expect, it } from "vitest"
import { assign, fromPromise, setup } from "xstate"
import { diffVersions, standsIn, statePathsOf } from "../../src/http/routes/machine-diff.js"
import { graphOf } from "../../src/http/routes/machine-graph.js"

/** A machine with a delay, an actor's done and error, an always, a guard and a compound state; `changed` renames it and moves p.y to p.z. */
const machine = (changed: boolean) =>
  setup({ actors: { work: fromPromise(async () => 1) }, guards: { ready: () => true, set: () => true } }).createMachine({
    id: changed ? "renamed" : "m",
    initial: "a",
    context: { n: 0 },
    states: {
      a: { after: { 1000: "b" }, on: { GO: { target: "p", guard: changed ? "set" : "ready", actions: assign({ n: 1 }) } } },
      b: { invoke: { id: "job", src: "work", onDone: "c", onError: "a" } },
      c: { always: "p" },
      p: {
        initial: "x",
        states: changed ? { x: { on: { NEXT: "z" } }, z: { type: "final" } } : { x: { on: { NEXT: "y" } }, y: { type: "final" } },
        onDone: "a"
      }
    }
  })

describe("comparing two versions' graphs", () => {
  it("matches states by path and transitions by source, event and targets, across a renamed machine id and a changed guard", () => {
    const diff = diffVersions(graphOf(machine(false)), graphOf(machine(true)))
    expect(diff.states.added).toEqual([{ path: "p.z", id: "renamed.p.z", parent: "renamed.p", kind: "final" }])
    expect(diff.states.removed).toEqual([{ path: "p.y", id: "m.p.y", parent: "m.p", kind: "final" }])
    // The delay, the actor's done and error, the always and the compound's done name state ids: read as paths, they are the same.
    expect(diff.transitions.added.map((t) => [t.source, t.event, t.targets])).toEqual([["p.x", "NEXT", ["p.z"]]])
    expect(diff.transitions.removed.map((t) => [t.source, t.event, t.targets, t.sourceId, t.targetIds])).toEqual([["p.x", "NEXT", ["p.y"], "m.p.x", ["m.p.y"]]])
  })

  it("finds nothing between a version and itself, and reverses when read the other way", () => {
    const [before, after] = [graphOf(machine(false)), graphOf(machine(true))]
    expect(diffVersions(before, before)).toEqual({ states: { added: [], removed: [] }, transitions: { added: [], removed: [] } })
    const back = diffVersions(after, before)
    expect([back.states.added.map((s) => s.path), back.states.removed.map((s) => s.path)]).toEqual([["p.y"], ["p.z"]])
  })

  it("paths every state from the top, the machine itself as the empty path", () => {
    expect([...statePathsOf(graphOf(machine(false))).values()]).toEqual(["", "a", "b", "c", "p", "p.x", "p.y"])
  })

  it("tells whether a state value stands in a state: in it, or in a state inside it", () => {
    expect(standsIn("a", "a")).toBe(true)
    expect(standsIn("a", "a.b")).toBe(false)
    expect(standsIn("ab", "a")).toBe(false)
    expect(standsIn({ p: "x" }, "p")).toBe(true)
    expect(standsIn({ p: "x" }, "p.x")).toBe(true)
    expect(standsIn({ p: "x" }, "p.y")).toBe(false)
    expect(standsIn({ p: "x" }, "x")).toBe(false)
    expect(standsIn({ review: { code: "approved", docs: "pending" } }, "review.docs.pending")).toBe(true)
    expect(standsIn({ review: { code: "approved", docs: "pending" } }, "review.code.pending")).toBe(false)
    expect(standsIn(null, "a")).toBe(false)
  })
})

/**
 * The inspector's statechart module, in Node with the real ELK: every shipped machine
 * (and the generated sprawl) lays out with each state once, children inside their
 * parents, an arrow per transition target with its label placed; a parallel state's
 * regions divided; and state values light the right states.
 */
import ELK from "elkjs/lib/elk.bundled.js"
import { describe, expect, it } from "vitest"
import { shippedDomains } from "../../orrery.config.js"
import { versionGraph } from "../../src/http/routes/machine-graph.js"
import { sprawlWorkflow } from "./sprawl.js"
// @ts-expect-error: a browser module written in JavaScript (checked by its own tsconfig)
import { activeStates, labelLines, layOut, transitionLabel } from "../../src/inspector/web/statechart.js"

const workflows = [...shippedDomains().flatMap((domain) => domain.workflows), sprawlWorkflow]
const elk = () => new (ELK as unknown as new () => { layout: (graph: unknown) => Promise<unknown> })()

interface Box { id: string; x: number; y: number; width: number; height: number; initialMark: boolean }

describe("statechart layout", () => {
  it.each(workflows.map((workflow) => [workflow.type, workflow] as const))("lays out %s: every state once, inside its parent, an arrow per target", async (_type, workflow) => {
    const graph = versionGraph(workflow)
    const laid = await layOut(graph, elk())
    const states = laid.nodes.filter((node: Box) => !node.initialMark)
    expect(states.map((node: Box) => node.id).sort()).toEqual(graph.states.map((state) => state.id).sort())
    const byId = new Map<string, Box>(laid.nodes.map((node: Box) => [node.id, node]))
    for (const state of graph.states) {
      const box = byId.get(state.id)!
      expect(box.width).toBeGreaterThan(0)
      if (state.parent === null) continue
      const parent = byId.get(state.parent)!
      expect(box.x).toBeGreaterThanOrEqual(parent.x)
      expect(box.y).toBeGreaterThanOrEqual(parent.y)
      expect(box.x + box.width).toBeLessThanOrEqual(parent.x + parent.width + 0.5)
      expect(box.y + box.height).toBeLessThanOrEqual(parent.y + parent.height + 0.5)
    }
    const arrows = laid.edges.filter((edge: { id: string }) => edge.id.startsWith("t"))
    expect(arrows).toHaveLength(graph.transitions.reduce((sum, t) => sum + t.targets.length, 0))
    for (const arrow of arrows) {
      expect(arrow.points.length).toBeGreaterThanOrEqual(2)
      expect(arrow.label).not.toBe("")
      // Each arrow ends on its target's border (ELK routes to the box; absolute coordinates must agree).
      const target = byId.get(arrow.target)!
      const end = arrow.points.at(-1)
      expect(end.x).toBeGreaterThanOrEqual(target.x - 1)
      expect(end.x).toBeLessThanOrEqual(target.x + target.width + 1)
      expect(end.y).toBeGreaterThanOrEqual(target.y - 1)
      expect(end.y).toBeLessThanOrEqual(target.y + target.height + 1)
    }
  })

  it("divides a parallel state's regions with a line across the gap between each two, and draws history states as H and H*", async () => {
    const graph = versionGraph(sprawlWorkflow)
    const laid = await layOut(graph, elk())
    const byId = new Map<string, Box & { key: string; region: boolean }>(laid.nodes.map((node: Box & { key: string; region: boolean }) => [node.id, node]))
    const regions = ["sprawl.review.legal", "sprawl.review.finance", "sprawl.review.ops"].map((id) => byId.get(id)!)
    expect(regions.every((region) => region.region)).toBe(true)
    const review = byId.get("sprawl.review")!
    expect(laid.dividers).toHaveLength(2)
    for (const divider of laid.dividers) {
      expect(divider.parallel).toBe("sprawl.review")
      // Each divider lies inside the parallel state and between two regions, touching neither.
      expect(Math.min(divider.x1, divider.x2)).toBeGreaterThanOrEqual(review.x)
      expect(Math.max(divider.x1, divider.x2)).toBeLessThanOrEqual(review.x + review.width)
      for (const region of regions) {
        const crosses = divider.x1 === divider.x2 ? region.x < divider.x1 && divider.x1 < region.x + region.width : region.y < divider.y1 && divider.y1 < region.y + region.height
        expect(crosses).toBe(false)
      }
    }
    const histories = graph.states.filter((state) => state.kind === "history")
    expect(histories.map((state) => byId.get(state.id)!.key).sort()).toEqual(histories.map((state) => (state.history === "deep" ? "H*" : "H")).sort())
    // Every label has a box from ELK, as tall as its lines.
    for (const edge of laid.edges.filter((edge: { id: string }) => edge.id.startsWith("t"))) {
      expect(edge.labelBox).not.toBeNull()
      expect(edge.labelBox.height).toBeGreaterThanOrEqual(edge.labelLines.length * 15)
    }
  })

  it("names arrows by their trigger: events, delays, actors done or failed, guards", () => {
    const base = { source: "m.a", guard: null, delay: null, delayMs: null, targets: ["m.b"], reenter: false }
    expect(transitionLabel({ ...base, event: "PAY", trigger: "event" })).toBe("PAY")
    expect(transitionLabel({ ...base, event: "xstate.after.hold.m.a", trigger: "after", delay: "hold", delayMs: 900_000 })).toBe("after 15m")
    expect(transitionLabel({ ...base, event: "xstate.after.x.m.a", trigger: "after", delay: "x", delayMs: null })).toBe("after x")
    expect(transitionLabel({ ...base, event: "xstate.done.actor.charge", trigger: "done" })).toBe("done: charge")
    expect(transitionLabel({ ...base, event: "xstate.error.actor.charge", trigger: "error", guard: "isDeclined" })).toBe("error: charge [isDeclined]")
    expect(transitionLabel({ ...base, event: "", trigger: "always" })).toBe("always")
    // A long label puts its guard on a line of its own.
    expect(labelLines({ ...base, event: "PAY", trigger: "event", guard: "isPaid" })).toEqual(["PAY [isPaid]"])
    expect(labelLines({ ...base, event: "xstate.done.actor.refundPayment", trigger: "done", guard: "event.output.refunded" })).toEqual(["done: refundPayment", "[event.output.refunded]"])
  })

  it("lights the states a value makes active, nested and parallel, and not the machine itself", () => {
    const state = (id: string, parent: string | null, key: string) => ({ id, key, parent, kind: "atomic", initial: [], history: null, tags: [], description: null, invokes: [] })
    const graph = {
      machineId: "m",
      transitions: [],
      states: [state("m", null, "m"), state("m.a", "m", "a"), state("m.a.x", "m.a", "x"), state("m.a.y", "m.a", "y"), state("m.b", "m", "b"), state("m.b.z", "m.b", "z")]
    }
    expect([...activeStates(graph, "b")]).toEqual(["m.b"])
    expect([...activeStates(graph, { a: "y" })]).toEqual(["m.a", "m.a.y"])
    expect([...activeStates(graph, { a: "x", b: "z" })]).toEqual(["m.a", "m.a.x", "m.b", "m.b.z"])
    expect([...activeStates(graph, "gone")]).toEqual([])
  })
})

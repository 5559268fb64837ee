/**
 * The statechart as a person sees it, measured in chromium: for every machine the
 * server serves (the shipped ones and a generated one of more than 50 states, nested
 * and parallel, see sprawl.ts), each transition's label lies on its own arrow (sampled
 * along the drawn path with getPointAtLength) and on no other label, no state's box
 * and no state's text; the whole chart is on screen after load at 1280×800 and
 * 1920×1080; zoom, pan and fit move the SVG's view box; and an instance's chart keeps
 * its text at a readable size, panned rather than shrunk.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningApp, hasChromium, launchBrowser, readToken, startApp } from "./app.js"

const tokenKey = "orrery.inspector.token"
const configFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "sprawl.ts")
const sizes = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 }
] as const
/** How far (chart units) a label's box may lie from its own arrow. */
const onItsArrow = 3
/** Overlaps smaller than this (chart units) are rounding, not overlaps. */
const slack = 0.5

interface Box { x: number; y: number; width: number; height: number }
interface Geometry {
  states: Array<{ id: string; leaf: boolean; box: Box; texts: Box[] }>
  marks: Box[]
  labels: Array<{ edge: string; text: string; box: Box; distance: number; sampled: number }>
  screen: { window: { width: number; height: number }; stage: Box; items: Array<{ what: string; box: Box }> }
  viewBox: string
  scale: number
}

/** Runs in the page: every state, label and arrow of the chart, as drawn. */
const readGeometry = (): Geometry => {
  // The page's own globals (this project's types have no DOM).
  const { document, window } = globalThis as any
  const svg = document.querySelector("svg.chart")
  const plain = (box: Box): Box => ({ x: box.x, y: box.y, width: box.width, height: box.height })
  const states = [...svg.querySelectorAll("g.state")].map((group) => {
    const shape = group.querySelector(":scope > .state-box, :scope > .history-ring")
    return {
      id: group.getAttribute("data-state")!,
      leaf: !group.classList.contains("compound"),
      box: plain(shape.getBBox()),
      texts: [...group.querySelectorAll(":scope > text")].map((text) => plain(text.getBBox()))
    }
  })
  const marks = [...svg.querySelectorAll("circle.initial-mark")].map((mark) => plain(mark.getBBox()))
  const labels = [...svg.querySelectorAll("g.edge-label")].map((group) => {
    const edge = group.getAttribute("data-edge")!
    const arrow = svg.querySelector(`g.transition[data-edge="${edge}"] path`)
    const box = plain((group).getBBox())
    const total = arrow.getTotalLength()
    let distance = Infinity
    let sampled = 0
    for (let at = 0; at <= total + 0.5; at += 1) {
      const point = arrow.getPointAtLength(Math.min(at, total))
      const dx = Math.max(box.x - point.x, 0, point.x - (box.x + box.width))
      const dy = Math.max(box.y - point.y, 0, point.y - (box.y + box.height))
      distance = Math.min(distance, Math.hypot(dx, dy))
      sampled += 1
    }
    return { edge, text: group.querySelector("title")?.textContent ?? "", box, distance, sampled }
  })
  const stage = document.querySelector(".chart-stage")
  const items = [
    ...[...svg.querySelectorAll("g.state > .state-box, g.state > .history-ring")].map((shape) => ({ what: shape.parentElement!.getAttribute("data-state")!, box: plain(shape.getBoundingClientRect()) })),
    ...[...svg.querySelectorAll("g.edge-label")].map((label) => ({ what: `label ${label.getAttribute("data-edge")}`, box: plain(label.getBoundingClientRect()) })),
    ...[...svg.querySelectorAll("g.transition path, g.initial-arrow path")].map((arrow) => ({ what: `arrow ${arrow.parentElement!.getAttribute("data-edge")}`, box: plain(arrow.getBoundingClientRect()) }))
  ]
  return {
    states,
    marks,
    labels,
    screen: { window: { width: window.innerWidth, height: window.innerHeight }, stage: plain(stage.getBoundingClientRect()), items },
    viewBox: svg.getAttribute("viewBox")!,
    scale: Number(stage.dataset.scale)
  }
}

const overlaps = (a: Box, b: Box) =>
  Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > slack && Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > slack
const contains = (outer: Box, inner: Box, tolerance = slack) =>
  inner.x >= outer.x - tolerance && inner.y >= outer.y - tolerance && inner.x + inner.width <= outer.x + outer.width + tolerance && inner.y + inner.height <= outer.y + outer.height + tolerance
const viewBoxOf = (page: Page) => page.locator("svg.chart").getAttribute("viewBox").then((box) => box!.split(" ").map(Number))

describe.skipIf(!hasChromium)("the statechart in chromium", () => {
  let app: RunningApp
  let browser: Browser
  let types: string[] = []
  const problems: string[] = []

  beforeAll(async () => {
    ;[app, browser] = await Promise.all([startApp("pglite", { configFile }), launchBrowser()])
    types = (await app.api("GET", "/machines")).items.map((item: { type: string }) => item.type)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await app?.stop()
  })

  const open = async (hash: string, size: { width: number; height: number }): Promise<Page> => {
    const context = await browser.newContext({ viewport: size })
    await context.addInitScript(([key, value]) => (globalThis as any).sessionStorage.setItem(key, value), [tokenKey, readToken])
    const page = await context.newPage()
    page.on("pageerror", (error) => problems.push(`${hash}: ${error.message}`))
    await page.goto(`${app.url}/inspect#${hash}`)
    await page.locator(".chart-stage[data-scale] svg.chart g.state").first().waitFor()
    // Settled: the view box no longer moves (the stage is sized, then the chart fitted to it).
    let last = ""
    await expect.poll(async () => {
      const now = await page.locator("svg.chart").getAttribute("viewBox")
      const settled = now === last
      last = now ?? ""
      return settled
    }, { timeout: 10_000, interval: 150 }).toBe(true)
    return page
  }

  it("serves the shipped machines and the generated one of more than 50 states, nested and parallel", async () => {
    expect(types).toEqual(expect.arrayContaining(["cart", "order", "booking", "chapter", "chapter-generation", "ebook-generation", "sprawl"]))
    const sprawl = (await app.api("GET", "/machines/sprawl")).versions[0]
    expect(sprawl.states.length - 1).toBeGreaterThanOrEqual(50)
    expect(sprawl.states.some((state: any) => state.kind === "parallel")).toBe(true)
    expect(sprawl.states.filter((state: any) => state.kind === "history").map((state: any) => state.history).sort()).toEqual(["deep", "deep", "shallow", "shallow"])
    expect(Math.max(...sprawl.states.map((state: any) => state.id.split(".").length))).toBeGreaterThanOrEqual(4)
  })

  for (const size of sizes) {
    it(`at ${size.width}×${size.height}, every machine's labels sit on their own arrows, clear of each other and of the states, and the whole chart is on screen`, async () => {
      const scales: string[] = []
      for (const type of types) {
        const page = await open(`/machines/${type}`, size)
        const geometry = await page.evaluate(readGeometry)
        const graph = (await app.api("GET", `/machines/${type}`)).versions.at(-1)
        const where = `${type} at ${size.width}×${size.height}`

        // Every state drawn, every transition target an arrow with its label.
        expect(geometry.states.map((state) => state.id).sort(), where).toEqual(graph.states.map((state: any) => state.id).sort())
        expect(geometry.labels.length, where).toBe(graph.transitions.reduce((sum: number, t: any) => sum + t.targets.length, 0))
        for (const label of geometry.labels) {
          expect(label.text, where).not.toContain("(inline)")
          expect(label.sampled, `${where}: ${label.edge}`).toBeGreaterThan(2)
          expect(label.distance, `${where}: "${label.text}" (${label.edge}) from its arrow`).toBeLessThanOrEqual(onItsArrow)
        }
        for (const [index, label] of geometry.labels.entries()) {
          for (const other of geometry.labels.slice(index + 1)) {
            expect(overlaps(label.box, other.box), `${where}: "${label.text}" on "${other.text}"`).toBe(false)
          }
          for (const state of geometry.states) {
            // A leaf's box is all state; a compound's may hold labels, but none on its border.
            const clash = state.leaf ? overlaps(label.box, state.box) : overlaps(label.box, state.box) && !contains(state.box, label.box)
            expect(clash, `${where}: "${label.text}" on the box of ${state.id}`).toBe(false)
            for (const text of state.texts) expect(overlaps(label.box, text), `${where}: "${label.text}" on the text of ${state.id}`).toBe(false)
          }
          for (const mark of geometry.marks) expect(overlaps(label.box, mark), `${where}: "${label.text}" on an initial dot`).toBe(false)
        }

        // The whole chart on screen: inside the window and inside the chart's own frame.
        const { window: screen, stage, items } = geometry.screen
        expect(contains({ x: 0, y: 0, ...screen }, stage, 1), `${where}: the chart's frame`).toBe(true)
        for (const item of items) expect(contains(stage, item.box, 1), `${where}: ${item.what} on screen`).toBe(true)
        scales.push(`${type} ${geometry.scale.toFixed(2)}`)
        await page.context().close()
      }
      console.log(`fitted scale at ${size.width}×${size.height}: ${scales.join(", ")}`)
    }, 180_000)
  }

  it("zooms with the buttons, the keys and the wheel, pans by dragging, and fits again", async () => {
    for (const type of ["order", "sprawl"]) {
      const page = await open(`/machines/${type}`, sizes[0])
      const fitted = await viewBoxOf(page)
      const area = (box: number[]) => box[2]! * box[3]!

      await page.click(".chart-controls .zoom-in")
      const zoomedIn = await viewBoxOf(page)
      expect(area(zoomedIn)).toBeLessThan(area(fitted) * 0.9)
      await page.click(".chart-controls .zoom-out")
      await page.click(".chart-controls .zoom-out")
      expect(area(await viewBoxOf(page))).toBeGreaterThan(area(zoomedIn) * 1.2)

      await page.click(".chart-controls .fit")
      expect(await viewBoxOf(page)).toEqual(fitted)

      // Keys on the focused chart: + zooms in, − out, 0 fits.
      await page.focus(".chart-stage")
      await page.keyboard.press("+")
      const byKey = await viewBoxOf(page)
      expect(area(byKey)).toBeLessThan(area(fitted) * 0.9)
      await page.keyboard.press("-")
      await page.keyboard.press("-")
      expect(area(await viewBoxOf(page))).toBeGreaterThan(area(byKey) * 1.2)
      await page.keyboard.press("0")
      expect(await viewBoxOf(page)).toEqual(fitted)

      // The wheel zooms about the pointer: the chart point under it stays put.
      const stage = (await page.locator(".chart-stage").boundingBox())!
      const at = { x: stage.x + stage.width * 0.3, y: stage.y + stage.height * 0.4 }
      const under = (box: number[]) => ({ x: box[0]! + ((at.x - stage.x) / stage.width) * box[2]!, y: box[1]! + ((at.y - stage.y) / stage.height) * box[3]! })
      await page.mouse.move(at.x, at.y)
      await page.mouse.wheel(0, -300)
      await expect.poll(async () => area(await viewBoxOf(page))).toBeLessThan(area(fitted) * 0.9)
      const wheeled = await viewBoxOf(page)
      expect(Math.abs(under(wheeled).x - under(fitted).x)).toBeLessThan(2)
      expect(Math.abs(under(wheeled).y - under(fitted).y)).toBeLessThan(2)

      // Dragging pans: the view box moves by the drag over the scale, its size stays.
      await page.mouse.move(at.x, at.y)
      await page.mouse.down()
      await page.mouse.move(at.x + 40, at.y + 10, { steps: 4 })
      await page.mouse.move(at.x + 120, at.y + 60, { steps: 4 })
      await page.mouse.up()
      const panned = await viewBoxOf(page)
      const scale = stage.width / wheeled[2]!
      expect(panned[2]).toBeCloseTo(wheeled[2]!, 1)
      expect(Math.abs(panned[0]! - (wheeled[0]! - 120 / scale))).toBeLessThan(2)
      expect(Math.abs(panned[1]! - (wheeled[1]! - 60 / scale))).toBeLessThan(2)

      await page.click(".chart-controls .fit")
      expect(await viewBoxOf(page)).toEqual(fitted)
      await page.context().close()
    }
  }, 120_000)

  it("a drag that ends on a state does not pick it; a click does", async () => {
    const page = await open("/machines/order", sizes[0])
    const state = (await page.locator('svg.chart g.state[data-state="order.shipping"] > .state-box').boundingBox())!
    const centre = { x: state.x + state.width / 2, y: state.y + state.height / 2 }
    await page.mouse.move(centre.x - 80, centre.y)
    await page.mouse.down()
    await page.mouse.move(centre.x, centre.y, { steps: 5 })
    await page.mouse.up()
    await page.waitForTimeout(200)
    expect(await page.evaluate(() => (globalThis as any).location.hash)).toBe("#/machines/order")
    const moved = (await page.locator('svg.chart g.state[data-state="order.shipping"] > .state-box').boundingBox())!
    await page.mouse.click(moved.x + moved.width / 2, moved.y + moved.height / 2)
    await expect.poll(() => page.locator('select[name="state"]').inputValue()).toBe("shipping")
    expect(await page.evaluate(() => (globalThis as any).location.hash)).toBe("#/machines/order?state=shipping")
    await page.context().close()
  })

  it("an instance's chart keeps its text readable beside the step panel: its lit state in view, the rest a drag away", async () => {
    const id = `chart-${Date.now()}`
    await app.api("POST", "/workflows/sprawl", { id, input: {} })
    for (const size of sizes) {
      const page = await open(`/instances/sprawl/${id}`, size)
      await page.locator("svg.chart g.state.active").first().waitFor()
      const geometry = await page.evaluate(readGeometry)
      // The sprawl does not fit beside the step panel at a readable size: it is shown at the smallest readable scale.
      expect(geometry.scale).toBeGreaterThanOrEqual(0.85)
      const nameHeight = await page.locator('svg.chart g.state[data-state="sprawl.intake.received0"] > .state-name').evaluate((text) => text.getBoundingClientRect().height)
      expect(nameHeight).toBeGreaterThanOrEqual(11)
      const stage = geometry.screen.stage
      const lit = (await page.locator('svg.chart g.state.active[data-state="sprawl.intake.received0"] > .state-box').boundingBox())!
      expect(contains(stage, lit, 1)).toBe(true)
      const before = await viewBoxOf(page)
      await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2)
      await page.mouse.down()
      await page.mouse.move(stage.x + stage.width / 2 - 150, stage.y + stage.height / 2 - 100, { steps: 5 })
      await page.mouse.up()
      const after = await viewBoxOf(page)
      expect(after[0]).toBeGreaterThan(before[0]!)
      expect(after[1]).toBeGreaterThan(before[1]!)
      console.log(`instance chart at ${size.width}×${size.height}: scale ${geometry.scale.toFixed(2)}, state names ${nameHeight.toFixed(1)}px tall`)
      await page.context().close()
    }
  }, 60_000)

  it("no page threw", () => {
    expect(problems).toEqual([])
  })
})

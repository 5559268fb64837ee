/**
 * The growth curve as a picture: each figure at each size divided by its value
 * at the first size, rates on the left (below 1: slower), costs on the right
 * (above 1: dearer), with the 1.3× bound drawn on both.
 *
 * Drawn with Vega-Lite: the chart is a declarative spec (data, marks and
 * encodings), which vega-lite compiles and vega renders to SVG in Node with no
 * browser and no canvas; resvg turns the SVG into the PNG. Both are widely used
 * and kept, and neither downloads anything at run time.
 */
import { Resvg } from "@resvg/resvg-js"
import * as vega from "vega"
import * as vegaLite from "vega-lite"

/** The bound issue 12 sets on every per-call figure at 10 M events. */
const bound = 1.3

/** Rates are figures per second ("appends/s", not "bytes/saga"); everything else (latencies, bytes, seconds) is a cost. */
const isRate = (figure: string) => /\/s\b/.test(figure)

/**
 * The PNG of `ratios` (one record per size, as the growth benchmark reports them).
 *
 * @example
 * fs.writeFileSync("growth.png", await plotGrowth([{ size: 0, "sagas/s": 1 }, { size: 1_000_000, "sagas/s": 0.97 }]))
 */
export const plotGrowth = async (ratios: ReadonlyArray<Record<string, number | null>>): Promise<Uint8Array> => {
  const values = ratios.flatMap((ratio) =>
    Object.entries(ratio)
      .filter(([figure, value]) => figure !== "size" && value !== null && value > 0)
      .map(([figure, value]) => ({ events: ratio.size!.toLocaleString("en-US"), order: ratio.size, figure, ratio: value, kind: isRate(figure) ? "rates" : "costs" }))
  )
  const panel = (kind: "rates" | "costs") => ({
    title: kind === "rates" ? "rates ÷ first size (below 1: slower)" : "costs ÷ first size (above 1: dearer)",
    width: 380,
    height: 300,
    transform: [{ filter: `datum.kind === '${kind}'` }],
    layer: [
      {
        mark: { type: "rule", strokeDash: [4, 4], color: "#999" },
        encoding: { y: { datum: kind === "rates" ? 1 / bound : bound } }
      },
      {
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "events", type: "ordinal", sort: { field: "order" }, title: "events in the log", axis: { labelAngle: 0 } },
          y: { field: "ratio", type: "quantitative", scale: { type: "log" }, title: "÷ value at the first size" },
          color: { field: "figure", type: "nominal", scale: { scheme: "tableau20" }, legend: { orient: "bottom", columns: 2, labelLimit: 260 } }
        }
      }
    ]
  })
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Orrery growth benchmark",
    data: { values },
    hconcat: [panel("rates"), panel("costs")],
    resolve: { scale: { color: "independent" } },
    background: "white"
  }
  const view = new vega.View(vega.parse(vegaLite.compile(spec as vegaLite.TopLevelSpec).spec), { renderer: "none" })
  try {
    const svg = await view.toSVG()
    return new Resvg(svg, { background: "white", fitTo: { mode: "zoom", value: 2 } }).render().asPng()
  } finally {
    view.finalize()
  }
}

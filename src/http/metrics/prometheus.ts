/**
 * The little of Prometheus's text exposition format (0.0.4) the API needs:
 * counters, gauges and histograms with labels. Written here rather than pulled
 * in as a dependency because it is this small.
 */
export type Labels = Readonly<Record<string, string | number>>

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

const labelText = (labels: Labels, extra?: readonly [string, string]) => {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabel(String(value))}"`)
  if (extra !== undefined) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`)
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`
}

const number = (value: number) => (Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN")

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))

interface Family {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge" | "histogram"
  readonly render: () => ReadonlyArray<string>
}

const header = (family: Omit<Family, "render">) => [`# HELP ${family.name} ${family.help.replace(/\n/g, " ")}`, `# TYPE ${family.name} ${family.type}`]

export const renderFamilies = (families: ReadonlyArray<Family>) =>
  `${families.flatMap((family) => [...header(family), ...family.render()]).join("\n")}\n`

/** A counter or gauge keeping one value per label set. */
export const makeSeries = (name: string, help: string, type: "counter" | "gauge") => {
  const values = new Map<string, { labels: Labels; value: number }>()
  return {
    name,
    help,
    type,
    inc: (labels: Labels = {}, by = 1) => {
      const key = keyOf(labels)
      const entry = values.get(key)
      if (entry === undefined) values.set(key, { labels, value: by })
      else entry.value += by
    },
    set: (labels: Labels, value: number) => void values.set(keyOf(labels), { labels, value }),
    reset: () => values.clear(),
    render: () => [...values.values()].map(({ labels, value }) => `${name}${labelText(labels)} ${number(value)}`)
  }
}

export const makeHistogram = (name: string, help: string, buckets: ReadonlyArray<number>) => {
  const bounds = [...buckets].sort((a, b) => a - b)
  const series = new Map<string, { labels: Labels; counts: Array<number>; sum: number; count: number }>()
  return {
    name,
    help,
    type: "histogram" as const,
    observe: (labels: Labels, value: number) => {
      const key = keyOf(labels)
      let entry = series.get(key)
      if (entry === undefined) {
        entry = { labels, counts: bounds.map(() => 0), sum: 0, count: 0 }
        series.set(key, entry)
      }
      // Buckets are cumulative in the exposition; store per bucket, sum up when rendering.
      const index = bounds.findIndex((bound) => value <= bound)
      if (index !== -1) entry.counts[index]!++
      entry.sum += value
      entry.count++
    },
    render: () =>
      [...series.values()].flatMap(({ labels, counts, sum, count }) => {
        let running = 0
        return [
          ...bounds.map((bound, index) => {
            running += counts[index]!
            return `${name}_bucket${labelText(labels, ["le", number(bound)])} ${running}`
          }),
          `${name}_bucket${labelText(labels, ["le", "+Inf"])} ${count}`,
          `${name}_sum${labelText(labels)} ${number(sum)}`,
          `${name}_count${labelText(labels)} ${count}`
        ]
      })
  }
}

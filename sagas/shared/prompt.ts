/**
 * Prompts as titled sections (`## Title` then its text). A real model reads them
 * as plain Markdown; the deterministic model parses them back, so that it sees
 * exactly what an HTTP model would see and nothing more.
 */
export type Sections = ReadonlyArray<readonly [title: string, body: string]>

export const renderSections = (sections: Sections): string =>
  sections.map(([title, body]) => `## ${title}\n${body.trim()}\n`).join("\n")

export const parseSections = (prompt: string): ReadonlyMap<string, string> => {
  const sections = new Map<string, string>()
  let title: string | undefined
  let lines: Array<string> = []
  const flush = () => {
    if (title !== undefined) sections.set(title.toLowerCase(), lines.join("\n").trim())
  }
  for (const line of prompt.split("\n")) {
    const heading = /^## (.+)$/.exec(line)
    if (heading !== null) {
      flush()
      title = heading[1]!.trim()
      lines = []
    } else {
      lines.push(line)
    }
  }
  flush()
  return sections
}

/** Story facts in prompts: `- character Elena, eyes: green`, `- location Marseille`, `- event Elena reaches Marseille`. */
export interface PromptFact {
  readonly kind: "character" | "location" | "event"
  readonly subject: string
  readonly attribute?: string
  readonly value?: string
}

export const renderFacts = (facts: ReadonlyArray<PromptFact>): string =>
  facts.length === 0
    ? "(none yet)"
    : facts.map((fact) => `- ${fact.kind} ${fact.subject}${fact.attribute !== undefined && fact.value !== undefined ? `, ${fact.attribute}: ${fact.value}` : ""}`).join("\n")

export const parseFacts = (text: string | undefined): ReadonlyArray<PromptFact> => {
  const facts: Array<PromptFact> = []
  for (const line of (text ?? "").split("\n")) {
    const match = /^- (character|location|event) (.+?)(?:, ([a-z][a-z ]*): (.+))?$/.exec(line.trim())
    if (match === null) continue
    facts.push({
      kind: match[1] as PromptFact["kind"],
      subject: match[2]!.trim(),
      ...(match[3] === undefined ? {} : { attribute: match[3].trim(), value: match[4]!.trim() })
    })
  }
  return facts
}

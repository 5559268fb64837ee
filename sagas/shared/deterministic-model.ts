/**
 * The deterministic language model: same prompt, same answer, no network. It
 * reads the prompt's sections (./prompt.ts) the way a real model would read the
 * Markdown, and answers each task:
 *
 * - `chapter`: prose built from the instruction; every character "has <colour>
 *   eyes", every place is one "the story moves to"; the known facts are kept.
 *   Markers in the instruction: `[contradiction]` makes the FIRST draft (no
 *   feedback yet) contradict a known fact (or itself, when nothing is known yet);
 *   `[incoherent]` makes every draft do so.
 * - `coherence`: a JSON verdict — score 0–10 and issues, a contradiction of a
 *   known fact (or within the text) being blocking.
 * - `facts`: the characters (with their eyes), places and the chapter's event, as JSON.
 * - `page`: a page of an ebook from its title, theme and number.
 *
 * `[llm-down]` anywhere in the prompt makes the call fail as a 503 would.
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { mulberry32 } from "./random.js"
import { type Completion, type CompletionRequest, LanguageModelUnavailable, type LanguageModelShape } from "./language-model.js"
import { type PromptFact, parseFacts, parseSections } from "./prompt.js"

export const deterministicModelName = "deterministic-writer"

const palette = ["green", "grey", "brown", "blue", "amber", "hazel", "black", "violet"] as const

const stopwords = new Set([
  "A", "An", "And", "As", "At", "But", "By", "Chapter", "For", "From", "He", "Her", "His", "How", "I", "If", "In", "Into",
  "It", "Its", "Let", "Near", "No", "Now", "Of", "On", "One", "Or", "She", "So", "That", "The", "Their", "Then", "There",
  "They", "This", "To", "Toward", "Towards", "Two", "We", "What", "When", "Where", "While", "Who", "With", "Write", "You"
])

const seedOf = (text: string) => createHash("sha256").update(text, "utf8").digest().readUInt32BE(0)

const wordsOf = (text: string) => text.split(/\s+/).filter((word) => word !== "").length

const cleanInstruction = (instruction: string) =>
  instruction.replace(/\[[a-z-]+\]/gi, " ").replace(/\s+/g, " ").trim().replace(/[.!?\s]+$/, "")

/** Capitalised words of the instruction: places follow in/at/to/from/into/near/towards; the others are characters. */
export const entitiesOf = (instruction: string) => {
  const characters: Array<string> = []
  const locations: Array<string> = []
  const pattern = /(\b[a-z]+\s+)?\b([A-Z][a-zà-öø-ÿ]+(?:[-'][A-Z][a-zà-öø-ÿ]+)?)\b/g
  for (const match of cleanInstruction(instruction).matchAll(pattern)) {
    const name = match[2]!
    if (stopwords.has(name)) continue
    const before = match[1]?.trim().toLowerCase()
    const list = before !== undefined && ["in", "at", "to", "from", "into", "near", "towards", "toward", "across"].includes(before) ? locations : characters
    if (!characters.includes(name) && !locations.includes(name)) list.push(name)
  }
  return { characters, locations }
}

const fillers = [
  "{a} listened to the wind for a long while and said nothing at all.",
  "Somewhere below, a door closed, and {a} counted the seconds until the silence returned.",
  "{a} and {b} spoke of small things, because the large ones had no words yet.",
  "The letter was still folded in {a}'s pocket, unread, heavier than it should have been.",
  "Rain came late that evening, thin and patient, and the streets of {loc} shone under it.",
  "{b} laughed once, too loudly, and then looked away as if the sound belonged to someone else.",
  "Nobody in {loc} remembered the last time the bells had rung at that hour.",
  "{a} made tea that nobody drank and watched the steam write nothing on the window.",
  "There were promises in the air, and debts, and it was hard to tell which was which.",
  "{b} kept the old map folded along its creases, as if unfolding it might change the roads.",
  "The market of {loc} emptied slowly, stall by stall, until only the gulls were left arguing.",
  "{a} thought of the years before, and of how easily a single choice had bent them.",
  "A cart rattled past, loaded with crates that smelled of oranges and salt.",
  "For a moment the whole room held its breath, and then the clock went on ticking."
] as const

const writeChapter = (sections: ReadonlyMap<string, string>): string => {
  const instruction = sections.get("instruction") ?? ""
  const target = Math.max(30, Number.parseInt(sections.get("target length") ?? "", 10) || 300)
  const known = parseFacts(sections.get("known facts"))
  const feedback = sections.get("feedback") ?? ""
  const firstDraft = feedback.trim() === ""
  const contradict = (firstDraft && /\[contradiction\]/i.test(instruction)) || /\[incoherent\]/i.test(instruction)
  const clean = cleanInstruction(instruction)
  const random = mulberry32(seedOf(`${sections.get("chapter") ?? ""}|${clean}|${feedback}`))

  const { characters, locations } = entitiesOf(instruction)
  const knownCharacters = known.filter((fact) => fact.kind === "character").map((fact) => fact.subject)
  const knownLocations = known.filter((fact) => fact.kind === "location").map((fact) => fact.subject)
  const cast = characters.length > 0 ? characters : knownCharacters.length > 0 ? [...new Set(knownCharacters)].slice(0, 2) : ["Mara"]
  const places = locations.length > 0 ? locations : knownLocations.length > 0 ? [knownLocations[0]!] : ["Valmont"]

  const eyesKnown = new Map<string, string>()
  for (const fact of known) if (fact.kind === "character" && fact.attribute === "eyes" && fact.value !== undefined) eyesKnown.set(fact.subject, fact.value)
  const eyesOf = (name: string) => eyesKnown.get(name) ?? palette[seedOf(name) % palette.length]!
  const otherThan = (colour: string) => palette[(palette.indexOf(colour as (typeof palette)[number]) + 1 + palette.length) % palette.length]!

  // The character whose eyes the contradiction is about: one with a known colour if there is one.
  const victim = cast.find((name) => eyesKnown.has(name)) ?? [...eyesKnown.keys()][0] ?? cast[0]!
  const contradictsKnown = contradict && eyesKnown.has(victim)

  const sentences: Array<string> = [`In this chapter, ${clean}.`]
  for (const place of places) sentences.push(`The story moves to ${place}.`)
  const described = contradictsKnown && !cast.includes(victim) ? [...cast, victim] : cast
  for (const name of described) sentences.push(`${name} has ${contradictsKnown && name === victim ? otherThan(eyesOf(name)) : eyesOf(name)} eyes.`)
  const closing: Array<string> = []
  if (contradict && !contradictsKnown) closing.push(`${victim} has ${otherThan(eyesOf(victim))} eyes.`)
  closing.push(`By nightfall, ${cast[0]} knew that nothing would be the same.`)

  const budget = target - wordsOf(closing.join(" "))
  while (wordsOf(sentences.join(" ")) < budget) {
    const template = fillers[Math.floor(random() * fillers.length)]!
    sentences.push(
      template
        .replaceAll("{a}", cast[Math.floor(random() * cast.length)]!)
        .replaceAll("{b}", cast[cast.length > 1 ? 1 : 0]!)
        .replaceAll("{loc}", places[Math.floor(random() * places.length)]!)
    )
  }
  return [...sentences, ...closing].join(" ")
}

const eyeStatements = (text: string) =>
  [...text.matchAll(/\b([A-Z][\w'-]*) has ([a-z]+) eyes\b/g)].map((match) => ({ name: match[1]!, colour: match[2]! }))

const judgeCoherence = (sections: ReadonlyMap<string, string>): string => {
  const text = sections.get("chapter text") ?? ""
  const target = Number.parseInt(sections.get("target length") ?? "", 10)
  const known = new Map<string, string>()
  for (const fact of parseFacts(sections.get("known facts"))) {
    if (fact.kind === "character" && fact.attribute === "eyes" && fact.value !== undefined) known.set(fact.subject, fact.value)
  }
  const issues: Array<{ type: string; severity: "blocking" | "warning"; description: string; fact?: string }> = []
  const stated = new Map<string, string>()
  for (const { name, colour } of eyeStatements(text)) {
    const established = known.get(name)
    if (established !== undefined && established !== colour) {
      issues.push({ type: "contradiction", severity: "blocking", description: `${name} has ${colour} eyes here, but the story established ${established} eyes`, fact: `${name}.eyes` })
    } else if (stated.has(name) && stated.get(name) !== colour) {
      issues.push({ type: "contradiction", severity: "blocking", description: `${name}'s eyes change from ${stated.get(name)} to ${colour} within the chapter`, fact: `${name}.eyes` })
    }
    if (!stated.has(name)) stated.set(name, colour)
  }
  const words = wordsOf(text)
  if (Number.isFinite(target) && target > 0 && Math.abs(words - target) / target > 0.25) {
    issues.push({ type: "length", severity: "warning", description: `${words} words for a target of ${target}` })
  }
  const blocking = issues.filter((issue) => issue.severity === "blocking").length
  const score = Math.max(0, 9 - 4 * blocking - (issues.length - blocking))
  return JSON.stringify({ score, issues })
}

const extractFacts = (sections: ReadonlyMap<string, string>): string => {
  const text = sections.get("chapter text") ?? ""
  const characters = new Map<string, { name: string; attributes: Record<string, string> }>()
  for (const { name, colour } of eyeStatements(text)) if (!characters.has(name)) characters.set(name, { name, attributes: { eyes: colour } })
  const locations = [...new Set([...text.matchAll(/The story moves to ([^.]+)\./g)].map((match) => match[1]!.trim()))].map((name) => ({ name }))
  const events = [...text.matchAll(/In this chapter, ([^.]+)\./g)].map((match) => ({ summary: match[1]!.trim() }))
  return JSON.stringify({ characters: [...characters.values()], locations, events })
}

const writePage = (sections: ReadonlyMap<string, string>): string => {
  const title = sections.get("title") ?? "Untitled"
  const theme = sections.get("theme") ?? "a quiet day"
  const page = sections.get("page") ?? "1 of 1"
  const target = Math.max(20, Number.parseInt(sections.get("target length") ?? "", 10) || 80)
  const random = mulberry32(seedOf(`${title}|${theme}|${page}`))
  const lines = [
    `${title}, page ${page}.`,
    `This page is about ${theme.replace(/\[[a-z-]+\]/gi, "").trim()}.`
  ]
  const bank = [
    "Look closely at the picture and find the smallest detail hiding in it.",
    "Every shape on this page can be coloured in a different way.",
    "Count the circles, then count the stars, and see which there are more of.",
    "A gentle breeze moves through the scene, carrying leaves and laughter.",
    "Somebody has left a trail of footprints from one corner to the other.",
    "The sun is low, and long shadows stretch across the ground.",
    "Can you name every animal before you turn the page?"
  ]
  while (wordsOf(lines.join(" ")) < target) lines.push(bank[Math.floor(random() * bank.length)]!)
  return lines.join(" ")
}

const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4))

export const makeDeterministicModel = (): LanguageModelShape => ({
  model: deterministicModelName,
  complete: (request: CompletionRequest) =>
    Effect.suspend(() => {
      if (/\[llm-down\]/i.test(request.prompt)) {
        return Effect.fail(new LanguageModelUnavailable({ status: 503, message: "the deterministic model is down for this prompt ([llm-down])" }))
      }
      const sections = parseSections(request.prompt)
      const text =
        request.task === "chapter"
          ? writeChapter(sections)
          : request.task === "coherence"
            ? judgeCoherence(sections)
            : request.task === "facts"
              ? extractFacts(sections)
              : writePage(sections)
      const completion: Completion = {
        text,
        model: deterministicModelName,
        requestId: `det_${createHash("sha256").update(request.requestKey).digest("hex").slice(0, 20)}`,
        promptTokens: tokensOf(request.system) + tokensOf(request.prompt),
        completionTokens: tokensOf(text)
      }
      return Effect.succeed(completion)
    })
})

export type { PromptFact }

/**
 * How the CLI speaks: lines on stdout, one-line refusals on stderr, and the
 * refusal classes whose exit code says whose mistake it was (1: it failed
 * while running; 2: bad usage or configuration). Light on purpose: `--help`
 * loads it.
 */

export type Say = (line: string) => void

/**
 * Characters that would change what a terminal shows rather than show
 * themselves: C0 and C1 controls (an escape sequence in a payload could
 * recolour or rewrite the screen) and Unicode's direction controls (U+202E
 * turns "exe.txt" into what reads as "txt.exe").
 */
const invisible = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * Shows such characters as `\u202e` escapes. A line of JSON stays the same JSON
 * (they can only stand inside its strings, where the escape means the same).
 *
 * @example
 * ```ts
 * visible("abc\u202Etxt.exe") // "abc\\u202etxt.exe"
 * ```
 */
export const visible = (text: string): string =>
  text.replace(invisible, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)

export const say: Say = (line) => void process.stdout.write(`${visible(line)}\n`)
export const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()
export const complain = (text: string) => void process.stderr.write(`orrery: ${visible(oneLine(text))}\n`)

/** A command could not do what it was asked (exit 1), with one line a person can act on. */
export class CommandFailed extends Error {
  readonly _tag = "CommandFailed"
  constructor(fields: { readonly message: string }) {
    super(fields.message)
  }
}

/** The command was given something it cannot use (exit 2): a malformed argument. */
export class BadUsage extends Error {
  readonly _tag = "BadUsage"
  constructor(fields: { readonly message: string }) {
    super(fields.message)
  }
}

/** Two columns, the first padded: help tables. */
export const columnsOf = (rows: ReadonlyArray<readonly [string, string]>) => {
  const width = Math.max(...rows.map(([first]) => first.length))
  return rows.map(([first, second]) => `  ${first.padEnd(width)}  ${second}`).join("\n")
}

/**
 * How the CLI speaks: lines on stdout, one-line refusals on stderr, and the
 * refusal classes whose exit code says whose mistake it was (1: it failed
 * while running; 2: bad usage or configuration). Light on purpose: `--help`
 * loads it.
 */

export type Say = (line: string) => void

export const say: Say = (line) => void process.stdout.write(`${line}\n`)
export const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()
export const complain = (text: string) => void process.stderr.write(`orrery: ${oneLine(text)}\n`)

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

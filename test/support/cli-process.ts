/**
 * The `orrery` command as a subprocess for tests, as a user runs it: the
 * package's build (./build.ts makes it once before the suite) under plain
 * Node. Spawn it, collect its output, wait for a line it prints or for its end
 * — never for a fixed time, so a slow start-up only makes a test slower.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { settings } from "../../src/config.js"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const cliMain = path.join(root, "dist/src/cli/main.js")

/** The command's arguments to Node: the built CLI, `args` after it. */
export const cliArgs = (args: ReadonlyArray<string>) => [cliMain, ...args]

/**
 * The caller's own Orrery settings must not leak into these runs. A project's
 * TypeScript (this repository's orrery.config.ts and domains, a test's project)
 * is compiled by tsx with ./tsconfig.package.json: its `import "orrery"` is
 * then the built package the command runs, one set of modules, as installed.
 */
export const baseEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const setting of Object.values(settings)) delete env[setting.env]
  delete env.ORRERY_TOKEN
  delete env.CI
  env.TSX_TSCONFIG_PATH = path.join(root, "test/support/tsconfig.package.json")
  return env
}

/** A port nobody listens on now, on the loopback address. */
export const freePort = () =>
  new Promise<number>((done, fail) => {
    const server = createServer()
    server.once("error", fail)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => done(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

export interface Ran {
  readonly code: number | null
  /** The signal that ended it (null: it exited by itself, with `code`). */
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliProcess {
  readonly child: ChildProcess
  readonly exited: Promise<Ran>
  /** Resolves once stdout has a line matching `pattern`; rejects if the process ends first. */
  readonly waitFor: (pattern: RegExp) => Promise<void>
  readonly stdout: () => string
  readonly stderr: () => string
}

/** Processes still running: a failed test's leftovers, killed by `killAll`. */
const running = new Set<ChildProcess>()

/** Starts `orrery <args>` with the base environment plus `env`. */
export const spawnCli = (args: ReadonlyArray<string>, env: Record<string, string>, cwd = root): CliProcess => {
  const child = spawn(process.execPath, cliArgs(args), { cwd, env: { ...baseEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] })
  running.add(child)
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const exited = new Promise<Ran>((resolve) =>
    child.on("close", (code, signal) => {
      running.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  )
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (stdout.split("\n").some((line) => pattern.test(line)) ? resolve() : undefined)
      child.stdout!.on("data", check)
      check()
      void exited.then(() => reject(new Error(`exited before printing ${pattern}: ${stdout}${stderr}`)))
    })
  return { child, exited, waitFor, stdout: () => stdout, stderr: () => stderr }
}

/** Kills whatever `spawnCli` started and is still running (an afterAll's safety net). */
export const killAll = () => {
  for (const child of running) child.kill("SIGKILL")
}

/** Polls `probe` until it answers something other than undefined, for at most `limitMs`. */
export const eventually = async <A>(probe: () => Promise<A | undefined>, limitMs: number, what: string): Promise<A> => {
  const deadline = Date.now() + limitMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`gave up after ${limitMs} ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

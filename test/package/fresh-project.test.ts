/**
 * Orrery as a new user gets it: the packed tarball installed into a project
 * outside this repository, its workflow type-checked against the shipped
 * declarations, served by `orrery start` from the project's own config, driven
 * with `orrery/client`, inspected with the CLI while the server runs, and
 * tested with `orrery/testing`; then a project made by `orrery init`, installed,
 * tested and started with the two commands its README gives.
 *
 * Slow by nature (`npm pack`, two `npm install`s): one file, run once. The
 * package is built once for the whole suite (../support/build.ts).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "../support/cli-process.js"

const repository = resolve(fileURLToPath(new URL("../..", import.meta.url)))
const fixture = fileURLToPath(new URL("./fixture-app", import.meta.url))
const ours = JSON.parse(readFileSync(join(repository, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> }

const exec = promisify(execFile)
/** Nothing of this repository's environment (its Orrery settings, CI) leaks into the user's project. */
const userEnv = () => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(ORRERY_|DATABASE_URL$|CI$|VITEST|NODE_OPTIONS$|TSX_)/.test(key)) env[key] = value
  }
  return env
}
const run = async (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 300_000) => {
  try {
    return await exec(command, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}: ${failed.message}\n${failed.stdout ?? ""}\n${failed.stderr ?? ""}`)
  }
}
const npm = (args: ReadonlyArray<string>, cwd: string) => run("npm", args, cwd)
const install = (cwd: string) => npm(["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], cwd)

const children = new Set<ChildProcess>()
/**
 * A long-running command; resolves once a stdout line matches, rejects if it ends first. `command` is
 * the program itself (the project's `node_modules/.bin/orrery`, or npm): npx would run it through a
 * shell that dies of the signal and report that, not the program's own exit code.
 */
const serve = (command: string, args: ReadonlyArray<string>, cwd: string, ready: RegExp, env: Record<string, string> = {}) => {
  const child = spawn(command, [...args], { cwd, env: { ...userEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true })
  children.add(child)
  let out = ""
  child.stdout!.on("data", (chunk) => (out += chunk))
  child.stderr!.on("data", (chunk) => (out += chunk))
  const exited = new Promise<number | null>((done) => child.on("close", (code) => (children.delete(child), done(code))))
  const started = new Promise<void>((done, fail) => {
    const look = () => (out.split("\n").some((line) => ready.test(line)) ? done() : undefined)
    child.stdout!.on("data", look)
    void exited.then((code) => fail(new Error(`${command} ${args.join(" ")} exited (${code}) before printing ${ready}:\n${out}`)))
  })
  /** SIGTERM to the whole group (npx, node), as Ctrl-C would. */
  const stop = async () => {
    process.kill(-child.pid!, "SIGTERM")
    return exited
  }
  return { started, stop, output: () => out }
}

let work: string
let tarball: string
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "orrery-fresh-"))
  // The suite's set-up ran `npm run build`, what `prepack` runs before a publish. Not again here: the other
  // files run the built command meanwhile, and a build rewrites dist/ under them.
  await npm(["pack", "--ignore-scripts", "--pack-destination", work, "--loglevel=error"], repository)
  tarball = join(work, readdirSync(work).find((name) => name.endsWith(".tgz"))!)
}, 600_000)

afterAll(() => {
  for (const child of children) {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {}
  }
  rmSync(work, { recursive: true, force: true })
})

// Each test runs npm, tsc, a server or a suite of the project's own: minutes on a busy machine, not the default minute
// (the init project's took 36–52 s with the suite beside it, and over 60 s with one more file beside it).
describe("a fresh project that installs the packed tarball", { timeout: 300_000 }, () => {
  let project: string
  beforeAll(async () => {
    project = join(work, "fresh-app")
    cpSync(fixture, project, { recursive: true })
    const peers = { effect: ours.devDependencies.effect!, xstate: ours.devDependencies.xstate! }
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify(
        {
          name: "fresh-app",
          private: true,
          type: "module",
          scripts: { test: "vitest run", typecheck: "tsc --noEmit" },
          dependencies: { orrery: `file:${tarball}`, ...peers },
          devDependencies: { typescript: ours.devDependencies.typescript, vitest: ours.devDependencies.vitest, "@types/node": ours.devDependencies["@types/node"] }
        },
        null,
        2
      )
    )
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false, types: ["node"] },
        include: ["src", "test", "orrery.config.ts"]
      })
    )
    await install(project)
  }, 600_000)

  it("holds only what a user needs", async () => {
    const files = (await run("tar", ["-tzf", tarball], work)).stdout.split("\n").filter(Boolean).map((file) => file.replace(/^package\//, ""))
    expect(files).toContain("dist/src/index.d.ts")
    expect(files).toContain("dist/src/client.js")
    expect(files).toContain("dist/src/testing.js")
    expect(files).toContain("dist/src/fastify.js")
    expect(files).toContain("LICENSE")
    expect(files.filter((file) => /^(test|bench|\.ci|src|machines|sagas)\//.test(file))).toEqual([])
  })

  it("type-checks the user's workflow and typed client against the shipped declarations (wrong inputs and events are errors)", async () => {
    await npm(["run", "typecheck"], project)
    // The checks bite: the same file without its @ts-expect-error marks does not compile.
    const typed = join(project, "src/typed-client.ts")
    const original = readFileSync(typed, "utf8")
    writeFileSync(typed, original.replaceAll("// @ts-expect-error", "// (unmarked)"))
    try {
      const failed = await npm(["run", "typecheck"], project).then(() => undefined, (error: Error) => error.message)
      expect(failed).toBeDefined()
      expect(failed!.match(/src\/typed-client\.ts\(\d+,\d+\): error/g)?.length).toBe(6)
    } finally {
      writeFileSync(typed, original)
    }
  })

  it("runs under orrery start from its own config, is driven by orrery/client and read by the CLI while the server holds the data folder", async () => {
    const port = await freePort()
    const server = serve(join(project, "node_modules/.bin/orrery"), ["start", "--port", String(port)], project, /^listening on /)
    try {
      await server.started
      expect(server.output()).toMatch(/workflows: invoice@1/)
      const driven = await run(process.execPath, ["scripts/drive.mjs", `http://127.0.0.1:${port}`], project)
      expect(JSON.parse(driven.stdout)).toEqual({
        output: { invoiceId: "i-http", paid: true, messageId: "m1" },
        refused: { tag: "InstanceFinal", status: 409 },
        listed: ["i-http"]
      })
      // The data folder is held by the server: the CLI finds it and reads through its API.
      const shown = await run("npx", ["orrery", "show", "invoice", "i-http", "--json"], project)
      expect(JSON.parse(shown.stdout)).toMatchObject({ instance: { id: "i-http", status: "done", state: "paid" } })
      const history = await run("npx", ["orrery", "history", "invoice", "i-http"], project)
      expect(history.stdout).toMatch(/invoice\.paid/)
      const replayed = await run("npx", ["orrery", "replay", "invoice", "i-http"], project)
      expect(replayed.stdout).toMatch(/i-http/)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  })

  it("runs its own vitest suite written with orrery/testing: a 24-hour timer fires without waiting for it", async () => {
    const tested = await npm(["test", "--", "--reporter=verbose"], project)
    expect(tested.stdout).toMatch(/2 passed/)
    const wall = /ADVANCE_24H_WALL_MS=([\d.]+)/.exec(tested.stdout)
    expect(wall).not.toBeNull()
    console.log(`fresh project: time.advance("24h") took ${wall![1]} ms of wall time`)
  })
})

describe("a project made by orrery init", { timeout: 300_000 }, () => {
  it("installs, passes its own test and starts with the two commands of its README", async () => {
    const made = join(work, "made-app")
    const host = join(work, "fresh-app")
    await run("npx", ["orrery", "init", made, "--orrery", `file:${tarball}`], host)
    const readme = readFileSync(join(made, "README.md"), "utf8")
    expect(readme).toContain("npm install && npm start")
    expect(readme).toContain("npm test")
    await install(made)
    const tested = await npm(["test"], made)
    expect(tested.stdout + tested.stderr).toMatch(/passed/)
    const server = serve("npm", ["start"], made, /^listening on /, { ORRERY_PORT: String(await freePort()) })
    try {
      await server.started
    } finally {
      await server.stop()
    }
  })
})

/**
 * `npm run bench -- cli`: how long the `orrery` command takes to answer, as a
 * user runs it (the compiled CLI: `npm run build` first).
 *
 * - `node -e ''`: what Node itself costs, the floor;
 * - `orrery --help` and `orrery start --help`: no engine, no database;
 * - `orrery list` while `orrery start` holds the data folder (it goes through
 *   the server's API), and `orrery list` on the database itself once stopped:
 *   with the compiled config, and with a TypeScript one (as `orrery init`
 *   writes; loading it registers tsx, whose hooks then see every later import).
 *
 * Each is run `--runs <n>` times (default 10); the median is reported.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { freePort } from "../test/support/cli-process.js"
import type { Benchmark } from "./support.js"

export const description = "the orrery command: --help, start --help, list through a running server and on the database, against bare Node"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const main = path.join(root, "dist/src/cli/main.js")
const config = path.join(root, "dist/orrery.config.js")
const exec = promisify(execFile)

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
const ms = (value: number) => Math.round(value)

const option = (args: ReadonlyArray<string>, name: string) => {
  const at = args.indexOf(name)
  return at === -1 ? undefined : args[at + 1]
}

export const run: Benchmark = async ({ args, signal, progress }) => {
  if (!fs.existsSync(main) || !fs.existsSync(config)) throw new Error("no compiled CLI: run npm run build first")
  const runs = Number(option(args, "--runs") ?? 10)
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-bench-cli-"))
  const env = { ...process.env, ORRERY_DATA_DIR: path.join(folder, "data"), LOG_LEVEL: "warn" }
  const timed = async (label: string, command: ReadonlyArray<string>) => {
    const times: Array<number> = []
    for (let i = 0; i < runs && !signal.aborted; i++) {
      const before = performance.now()
      await exec(process.execPath, command, { env, cwd: root })
      times.push(performance.now() - before)
    }
    progress(`${label}: median ${ms(median(times))} ms`)
    return { label, medianMs: ms(median(times)), runsMs: times.map(ms) }
  }
  let server: ChildProcess | undefined
  try {
    const results = [await timed("node -e ''", ["-e", ""]), await timed("orrery --help", [main, "--help"]), await timed("orrery start --help", [main, "start", "--help"])]
    const port = await freePort()
    server = spawn(process.execPath, [main, "start", "--config", config, "--port", String(port)], { env, cwd: root, stdio: ["ignore", "pipe", "inherit"] })
    await new Promise<void>((resolve, reject) => {
      let out = ""
      server!.stdout!.on("data", (chunk) => {
        out += chunk
        if (/^running/m.test(out)) resolve()
      })
      server!.once("exit", () => reject(new Error(`orrery start ended: ${out}`)))
    })
    results.push(await timed("orrery list, through the running server", [main, "list"]))
    server.kill("SIGTERM")
    await new Promise((resolve) => server!.once("exit", resolve))
    server = undefined
    results.push(await timed("orrery list, on the database", [main, "list", "--config", config]))
    // A project's TypeScript config, standing for the compiled one.
    const project = path.join(folder, "project")
    fs.mkdirSync(project)
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ type: "module" }))
    fs.writeFileSync(path.join(project, "orrery.config.ts"), `export { default } from ${JSON.stringify(pathToFileURL(config).href)}\n`)
    results.push(await timed("orrery list, on the database, with orrery.config.ts", [main, "list", "--config", path.join(project, "orrery.config.ts")]))
    if (signal.aborted) throw new Error("interrupted")
    const table = ["| command | median ms |", "| --- | ---: |", ...results.map((result) => `| ${result.label} | ${result.medianMs} |`)].join("\n")
    return { environment: { runs, cli: "dist/src/cli/main.js", database: "embedded PGlite, the shipped domains" }, results, table }
  } finally {
    server?.kill("SIGKILL")
    fs.rmSync(folder, { recursive: true, force: true })
  }
}

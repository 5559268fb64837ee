/**
 * The `orrery` command on a project of its own (test/cli/projects/tickets,
 * named with --config): `start` serves that project's workflow and no other,
 * seeds nothing without --demo, and names its URL in the data folder's lock;
 * while it runs, the read-and-act commands go through its API and print what
 * they print on the database itself; refusals of a missing or wrong config;
 * `orrery init`.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, killAll, type Ran, root, spawnCli } from "../support/cli-process.js"

const tickets = path.join(root, "test/cli/projects/tickets/orrery.config.ts")

let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-project-"))
})
afterAll(() => {
  killAll()
  fs.rmSync(tmp, { recursive: true, force: true })
})

const orrery = (args: ReadonlyArray<string>, env: Record<string, string> = {}, cwd = root) => spawnCli(args, env, cwd).exited

/** A refusal: the exit code, nothing on stdout, one line on stderr, no stack. */
const oneLine = (ran: Ran, code: number) => {
  expect([ran.code, ran.stdout]).toEqual([code, ""])
  const lines = ran.stderr.split("\n").filter((line) => line !== "")
  expect(lines).toHaveLength(1)
  expect(ran.stderr).not.toMatch(/^\s+at /m)
  return lines[0]!
}

describe("stopping", () => {
  it("a stop waits for work in hand; a second SIGTERM ends the process at once, saying so", async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const env = { ORRERY_DATA_DIR: path.join(tmp, "stuck-data"), ORRERY_CONFIG: path.join(root, "test/cli/projects/stuck/orrery.config.ts") }
    const server = spawnCli(["start", "--port", String(port)], env)
    await server.waitFor(/^running/)
    const started = await fetch(`${url}/workflows/stuck`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "s-1", input: {} }) })
    expect(started.status).toBe(201)
    // The activity is in the worker's hands (it never ends), so the stop must wait for the drain.
    for (let held = false; !held; ) {
      const pending = (await (await fetch(`${url}/workflows/stuck/s-1/pending`)).json()) as { items: Array<{ lockedBy: string | null }> }
      held = pending.items.some((task) => task.lockedBy !== null)
    }
    server.child.kill("SIGTERM")
    await server.waitFor(/^stopping/)
    server.child.kill("SIGTERM")
    const ran = await server.exited
    expect(ran.code).toBe(1)
    expect(ran.stderr).toContain("SIGTERM again: ending now, without finishing the stop")
    expect(ran.stdout).not.toMatch(/\nstopped\n$/)
  }, 120_000)
})

describe("a project's own workflows", () => {
  const dataDir = () => path.join(tmp, "tickets-data")
  const env = () => ({ ORRERY_DATA_DIR: dataDir(), ORRERY_CONFIG: tickets })
  let server: ReturnType<typeof spawnCli>
  let url: string

  beforeAll(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    server = spawnCli(["start", "--port", String(port)], env())
    await server.waitFor(/^running/)
  }, 60_000)

  afterAll(async () => {
    if (server.child.exitCode === null) {
      server.child.kill("SIGTERM")
      await server.exited
    }
  })

  const post = async (route: string, body: unknown) => {
    const answer = await fetch(`${url}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    expect(answer.status).toBeLessThan(300)
    return answer.json()
  }

  it("start serves the config's workflow and no other, seeds nothing without --demo, and names its URL in the lock", async () => {
    const lines = server.stdout().split("\n").filter((line) => !line.startsWith("{"))
    expect(lines).toContain("workflows: ticket@1")
    expect(lines.some((line) => /cart|order@|booking/.test(line))).toBe(false)
    expect(lines.some((line) => line.includes("demo"))).toBe(false)
    expect(lines).toContain(`listening on ${url} (API tokens: none, loopback only); docs at ${url}/docs, inspector at ${url}/inspect`)
    expect(JSON.parse(fs.readFileSync(`${dataDir()}.lock`, "utf8"))).toEqual({ pid: server.child.pid, url })
    // Nothing recorded: an empty database stays empty.
    const listed = (await (await fetch(`${url}/workflows`)).json()) as { items: Array<unknown> }
    expect(listed.items).toEqual([])
    const machines = (await (await fetch(`${url}/machines`)).json()) as { items: Array<{ type: string }> }
    expect(machines.items.map((machine) => machine.type)).toEqual(["ticket"])
  })

  it("show, history, send and list go through the running server (found by its lock) and print as on the database", async () => {
    await post("/workflows/ticket", { input: { title: "printer" }, id: "t-1" })
    const note = `orrery: the data folder ${dataDir()} is held by process ${server.child.pid} (serving ${url}): going through its API`

    const sent = await orrery(["send", "ticket", "t-1", "ASSIGN", "--data", '{"to":"ann"}'], env())
    expect(sent).toMatchObject({ code: 0, stdout: "ticket/t-1: ASSIGN → running in open\n", stderr: `${note}\n` })
    const sentJson = await orrery(["send", "ticket", "t-1", '{"type":"ASSIGN","to":"bo"}', "--json"], env())
    expect(JSON.parse(sentJson.stdout)).toMatchObject({ id: "t-1", state: "open", context: { assignee: "bo" } })
    const refused = await orrery(["send", "ticket", "t-1", "REOPEN"], env())
    expect(refused.code).toBe(1)
    expect(refused.stderr.split("\n").filter(Boolean)).toEqual([note, expect.stringMatching(/^orrery: REOPEN is not accepted in state "open"/)])
    const badJson = await orrery(["send", "ticket", "t-1", "{nope"], env())
    expect([badJson.code, badJson.stderr.split("\n").filter(Boolean).at(-1)]).toEqual([2, expect.stringMatching(/^orrery: the event is not JSON/)])

    const overHttp = {
      show: await orrery(["show", "ticket", "t-1"], env()),
      history: await orrery(["history", "ticket", "t-1"], env()),
      list: await orrery(["list"], env()),
      replay: await orrery(["replay", "ticket", "t-1"], env())
    }
    for (const ran of Object.values(overHttp)) expect([ran.code, ran.stderr]).toEqual([0, `${note}\n`])
    expect(overHttp.show.stdout).toMatch(/^ticket\/t-1: running in open\n/)
    expect(overHttp.show.stdout).toContain('"assignee": "bo"')
    expect(overHttp.history.stdout).toMatch(/^#3\s+domain\s+ticket\.assigned\s/m)
    expect(overHttp.list.stdout).toMatch(/^ticket\s+t-1\s+1\s+running\s+open\s/m)
    expect(overHttp.replay.stdout).toContain("ticket/t-1: 3 steps replay as recorded against version 1 (its own)")

    // A changed machine is folded here, over the history read through the server.
    const changed = path.join(root, "test/cli/projects/tickets/ticket-v2.ts")
    const departs = await orrery(["replay", "ticket", "t-1", "--against", changed], env())
    expect(departs.code).toBe(1)
    expect(departs.stdout).toMatch(/^step 1\s+#1\s+workflow\.started\s+→ open/m)
    expect(departs.stderr.split("\n").filter(Boolean)).toEqual([note, expect.stringMatching(new RegExp(`^orrery: ticket/t-1 departs from its history against ticket@2 from .*ticket-v2\\.ts: replay differs at step 2`))])

    // --url names a server outright (here from another folder, which stays untouched).
    const named = await orrery(["show", "ticket", "t-1"], { ORRERY_URL: url, ORRERY_DATA_DIR: path.join(tmp, "elsewhere") })
    expect(named).toMatchObject({ code: 0, stdout: overHttp.show.stdout, stderr: "" })
    expect(fs.existsSync(path.join(tmp, "elsewhere"))).toBe(false)

    // doctor too: the server runs the checkup and the CLI prints it.
    const doctorJson = await orrery(["doctor", "--json"], env())
    expect([doctorJson.code, doctorJson.stderr]).toEqual([0, `${note}\n`])
    const checkup = JSON.parse(doctorJson.stdout) as { problems: number; checks: Array<{ level: string; subject: string; message: string }> }
    expect(checkup.problems).toBe(0)
    expect(checkup.checks).toContainEqual({ level: "ok", subject: "ticket", message: "1 running" })
    expect(checkup.checks).toContainEqual({ level: "ok", subject: "history", message: expect.stringMatching(/^\d+ events in \d+ streams? read back, hash chains intact; 1 instance checked against them$/) })
    const doctorOverHttp = await orrery(["doctor"], env())
    expect(doctorOverHttp.stdout).toMatch(/^ok {4}ticket: 1 running$/m)
    expect(doctorOverHttp.stdout.trim().split("\n").at(-1)).toBe("no problems found")

    // A command that needs the database itself says who holds it, and where it serves.
    expect(oneLine(await orrery(["migrate"], env()), 1)).toContain(`in use by process ${server.child.pid} (serving ${url})`)

    // Stopped, the same commands open the database and print the same.
    server.child.kill("SIGTERM")
    expect((await server.exited).code).toBe(0)
    expect(fs.existsSync(`${dataDir()}.lock`)).toBe(false)
    const onDatabase = {
      show: await orrery(["show", "ticket", "t-1"], env()),
      history: await orrery(["history", "ticket", "t-1"], env()),
      list: await orrery(["list"], env()),
      replay: await orrery(["replay", "ticket", "t-1"], env())
    }
    for (const [name, ran] of Object.entries(onDatabase)) {
      expect([name, ran.code, ran.stderr]).toEqual([name, 0, ""])
      expect([name, ran.stdout]).toEqual([name, overHttp[name as keyof typeof overHttp].stdout])
    }
    const doctorOnDatabase = await orrery(["doctor"], env())
    expect([doctorOnDatabase.code, doctorOnDatabase.stderr]).toEqual([0, ""])
    const historyLine = (stdout: string) => stdout.split("\n").find((line) => line.startsWith("ok    history:"))
    expect(historyLine(doctorOnDatabase.stdout)).toBe(historyLine(doctorOverHttp.stdout))
    const closed = await orrery(["send", "ticket", "t-1", "CLOSE"], env())
    expect(closed).toMatchObject({ code: 0, stdout: "ticket/t-1: CLOSE → running in closing\n", stderr: "" })
    // About twenty CLI processes one after another, six of them opening the database: minutes on a busy machine.
  }, 240_000)
})

describe("start --no-worker", () => {
  it("serves the API and runs no activity: the work waits for a worker", async () => {
    const port = await freePort()
    const token = "cli-test-token-0123456789"
    const dataDir = path.join(tmp, "api-only")
    const server = spawnCli(["start", "--no-worker", "--port", String(port)], { ORRERY_DATA_DIR: dataDir, ORRERY_CONFIG: tickets, ORRERY_TOKENS: `ops:operate:${token}` })
    try {
      await server.waitFor(/^running/)
      expect(server.stdout()).toContain("no worker in this process (--no-worker): orrery worker processes run the activities and timers")
      const url = `http://127.0.0.1:${port}`
      const post = (route: string, body: unknown) =>
        fetch(`${url}${route}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) })
      expect((await post("/workflows/ticket", { input: { title: "desk" }, id: "t-9" })).status).toBe(201)
      expect((await post("/workflows/ticket/t-9/events", { type: "CLOSE" })).status).toBe(200)
      // The token comes from ORRERY_TOKEN, whether the server is named or found by its lock.
      const shown = await orrery(["show", "ticket", "t-9"], { ORRERY_URL: url, ORRERY_TOKEN: token })
      expect(shown.stdout).toMatch(/^ {4}activity notify: due .*, nobody holds it$/m)
      expect((await orrery(["show", "ticket", "t-9"], { ORRERY_DATA_DIR: dataDir, ORRERY_TOKEN: token })).stdout).toBe(shown.stdout)
      const refused = await orrery(["show", "ticket", "t-9"], { ORRERY_URL: url })
      expect([refused.code, refused.stdout]).toEqual([1, ""])
      expect(refused.stderr.trim().split("\n")).toHaveLength(1)
      expect(refused.stderr).toMatch(/^orrery: .*(token|unauthori[sz]ed)/i)
    } finally {
      server.child.kill("SIGTERM")
      expect((await server.exited).code).toBe(0)
    }
  })
})

describe("the project's config", () => {
  it("missing from the working directory: one line, exit 2", async () => {
    const empty = fs.mkdtempSync(path.join(tmp, "empty-"))
    const line = oneLine(await orrery(["list"], { ORRERY_DATA_DIR: path.join(empty, "data") }, empty), 2)
    expect(line).toBe(
      `orrery: no orrery.config.ts (or .mts, .mjs, .js) in ${empty}; write one (export default defineConfig({ workflows })), name one with --config, or make a project with orrery init <dir>`
    )
    expect(fs.existsSync(path.join(empty, "data"))).toBe(false)
  })

  it("named but absent, not a defineConfig, or throwing: one line, exit 2", async () => {
    const folder = fs.mkdtempSync(path.join(tmp, "configs-"))
    const env = { ORRERY_DATA_DIR: path.join(folder, "data") }
    expect(oneLine(await orrery(["start", "--config", "nope.ts"], env), 2)).toBe("orrery: the config nope.ts does not exist (--config, ORRERY_CONFIG)")
    fs.writeFileSync(path.join(folder, "plain.mjs"), "export default { name: 'x' }\n")
    expect(oneLine(await orrery(["worker"], { ...env, ORRERY_CONFIG: path.join(folder, "plain.mjs") }), 2)).toMatch(/plain\.mjs must export default defineConfig\(/)
    fs.writeFileSync(path.join(folder, "throws.ts"), "const broken: number = 1\nthrow new Error(`no settings here ${broken}`)\n")
    expect(oneLine(await orrery(["doctor", "--config", path.join(folder, "throws.ts")], env), 2)).toMatch(/^orrery: cannot load .*throws\.ts: no settings here 1$/)
  })

  it("a TypeScript config in a CommonJS project (a package.json without \"type\": \"module\") loads, with its workflow", async () => {
    // A user's project as npm leaves it: the package and its peers in node_modules (here links to this
    // repository, whose package.json exports the build), and TypeScript that Node takes for CommonJS.
    const project = fs.mkdtempSync(path.join(tmp, "commonjs-"))
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "commonjs-app", private: true }))
    fs.mkdirSync(path.join(project, "node_modules"))
    fs.symlinkSync(root, path.join(project, "node_modules", "orrery"), "dir")
    for (const peer of ["effect", "xstate"]) fs.symlinkSync(path.join(root, "node_modules", peer), path.join(project, "node_modules", peer), "dir")
    for (const file of ["orrery.config.ts", "ticket.ts"]) fs.copyFileSync(path.join(path.dirname(tickets), file), path.join(project, file))
    const ran = await orrery(["doctor"], { ORRERY_DATA_DIR: path.join(project, "data") }, project)
    expect([ran.code, ran.stderr]).toEqual([0, ""])
    expect(ran.stdout).toMatch(/^ok\s+ticket: no instances$/m)
    expect(ran.stdout).not.toMatch(/cart/)
  })

  it("a config's own files keep their places (import.meta.url, a CommonJS file's __dirname and require), its stack traces name them, and nothing is left beside it", async () => {
    // The built command bundles a TypeScript config with the project files it imports (src/cli/bundle.ts).
    const project = fs.mkdtempSync(path.join(tmp, "places-"))
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "places-app", private: true, type: "module" }))
    fs.mkdirSync(path.join(project, "node_modules"))
    fs.symlinkSync(root, path.join(project, "node_modules", "orrery"), "dir")
    for (const peer of ["effect", "xstate"]) fs.symlinkSync(path.join(root, "node_modules", peer), path.join(project, "node_modules", peer), "dir")
    fs.copyFileSync(path.join(path.dirname(tickets), "ticket.ts"), path.join(project, "ticket.ts"))
    fs.mkdirSync(path.join(project, "lib"))
    fs.writeFileSync(path.join(project, "lib", "note.txt"), "found beside where.ts\n")
    fs.writeFileSync(path.join(project, "lib", "where.ts"), [
      "import { readFileSync } from \"node:fs\"",
      "export const note: string = readFileSync(new URL(\"./note.txt\", import.meta.url), \"utf8\").trim()",
      "export const frame: string = new Error(\"here\").stack!.split(\"\\n\")[1]!.trim()",
      ""
    ].join("\n"))
    fs.writeFileSync(path.join(project, "lib", "legacy.cjs"), "const path = require(\"node:path\")\nmodule.exports = { folder: path.basename(__dirname) }\n")
    fs.writeFileSync(path.join(project, "orrery.config.ts"), [
      "import { defineConfig } from \"orrery\"",
      "import legacy from \"./lib/legacy.cjs\"",
      "import { frame, note } from \"./lib/where.js\"",
      "import { ticketWorkflow } from \"./ticket.js\"",
      "console.log(`note: ${note}`)",
      "console.log(`legacy: ${legacy.folder}`)",
      "console.log(`frame: ${frame}`)",
      "export default defineConfig({ workflows: [ticketWorkflow] })",
      ""
    ].join("\n"))
    const ran = await orrery(["doctor"], { ORRERY_DATA_DIR: path.join(project, "data") }, project)
    expect([ran.code, ran.stderr]).toEqual([0, ""])
    expect(ran.stdout).toMatch(/^note: found beside where\.ts$/m)
    expect(ran.stdout).toMatch(/^legacy: lib$/m)
    expect(ran.stdout).toMatch(/^frame: at /m)
    expect(ran.stdout).toContain(`${path.join(project, "lib", "where.ts")}:3:`)
    expect(ran.stdout).toMatch(/^ok\s+ticket: no instances$/m)
    // Written where the project's node_modules resolve its packages, out of file watchers' way, and removed.
    expect(fs.readdirSync(project).sort()).toEqual(["data", "lib", "node_modules", "orrery.config.ts", "package.json", "ticket.ts"])
    expect(fs.readdirSync(path.join(project, "node_modules", ".cache", "orrery"))).toEqual([])
  })

  it("help needs no config and no database", async () => {
    const empty = fs.mkdtempSync(path.join(tmp, "help-"))
    for (const command of ["start", "list", "send", "init", "replay"]) {
      const ran = await orrery([command, "--help"], {}, empty)
      expect([command, ran.code, ran.stderr]).toEqual([command, 0, ""])
      expect(ran.stdout).toMatch(new RegExp(`^Usage: orrery ${command}`))
    }
    expect((await orrery(["start", "--help"], {}, empty)).stdout).toMatch(/--no-worker/)
    expect((await orrery(["export", "--help"], {}, empty)).stdout).toMatch(/-o, --out <file>/)
  })
})

describe("orrery init", () => {
  it("writes a project that depends on Orrery, and refuses a directory that is not empty", async () => {
    const made = path.join(tmp, "made-app")
    const ran = await orrery(["init", made, "--orrery", "file:/somewhere/orrery-0.1.0.tgz"], {}, tmp)
    expect(ran.code).toBe(0)
    const files = ["package.json", "tsconfig.json", "vitest.config.ts", ".gitignore", "README.md", "orrery.config.ts", "src/signup.ts", "test/signup.test.ts"]
    for (const file of files) expect(fs.existsSync(path.join(made, file))).toBe(true)
    const ours = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    const pkg = JSON.parse(fs.readFileSync(path.join(made, "package.json"), "utf8"))
    expect(pkg).toMatchObject({
      name: "made-app",
      type: "module",
      scripts: { start: "orrery start", test: "vitest run" },
      dependencies: { orrery: "file:/somewhere/orrery-0.1.0.tgz", effect: ours.devDependencies.effect, xstate: ours.devDependencies.xstate },
      devDependencies: { typescript: ours.devDependencies.typescript, vitest: ours.devDependencies.vitest, "@types/node": ours.devDependencies["@types/node"] }
    })
    const readme = fs.readFileSync(path.join(made, "README.md"), "utf8")
    expect(readme).toContain("npm install && npm start")
    expect(readme).toContain("npm test")
    expect(fs.readFileSync(path.join(made, "test/signup.test.ts"), "utf8")).toContain('from "orrery/testing"')
    expect(fs.readFileSync(path.join(made, ".gitignore"), "utf8")).toContain(".orrery/")

    const defaulted = path.join(tmp, "made-default")
    expect((await orrery(["init", defaulted], {}, tmp)).code).toBe(0)
    expect(JSON.parse(fs.readFileSync(path.join(defaulted, "package.json"), "utf8")).dependencies.orrery).toBe(`^${ours.version}`)

    const line = oneLine(await orrery(["init", made], {}, tmp), 2)
    expect(line).toBe(`orrery: ${made} is not empty; orrery init writes a new project into an empty or new directory`)
    expect(oneLine(await orrery(["init"], {}, tmp), 2)).toBe("orrery: missing <dir>; run orrery init --help")
  })
})

/**
 * The `orrery` command as a real subprocess (the package's build, as a user
 * runs it): what it prints, its exit codes, and what it leaves on disk.
 */
import { PGlite } from "@electric-sql/pglite"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { settings } from "../src/config.js"
import { killAll, spawnCli } from "./support/cli-process.js"
import { drivers, postgresUrl } from "./support/drivers.js"

let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-cli-"))
})
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

let folders = 0
const freshDataDir = () => path.join(tmp, `data-${++folders}`)

// A failed test may leave its server running; nothing outlives the file.
afterAll(killAll)

/** `orrery <args>` on a data folder of its own unless `env` names one. */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => spawnCli(args, { ORRERY_DATA_DIR: freshDataDir(), ...env })

/** Runs to the end: its exit code and output. */
const complete = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const { code, stdout, stderr } = await cli(args, env).exited
  return { code, stdout, stderr }
}

/** A refusal: a non-zero exit, nothing on stdout, exactly one line on stderr and no stack frames. */
const expectOneLine = (result: { code: number | null; stdout: string; stderr: string }, code: number): string => {
  expect(result.code).toBe(code)
  expect(result.stdout).toBe("")
  const lines = result.stderr.split("\n").filter((line) => line !== "")
  expect(lines).toHaveLength(1)
  expect(result.stderr).not.toMatch(/^\s+at /m)
  return lines[0]!
}

/** What migrate applies for this repository's config: Orrery's migrations, then the shipped domains' tables. */
const shippedMigrations = {
  applied:
    "log 1 (event log), log 2 (append without a separate idempotency probe), log 3 (the whole log's page read with its own plan), log 4 (the page read names where it stopped and what waits behind the horizon), engine 1 (instances and tasks), engine 2 (workers), engine 3 (circuits), engine 4 (corrupted instances), engine 5 (census counters), engine 6 (lists by state), engine 7 (claimable tasks), engine 8 (census changes kept small), engine 9 (state paths by type and status), engine 10 (census and paths moved by the step), shop 1 (shop services: inventory, reservations, shipments), " +
    "test-payments 1 (test payment provider: charges and refunds by idempotency key), travel 1 (travel services: seats, holds, tickets)",
  current: "log 4, engine 10, shop 1, test-payments 1, travel 1"
}

const migrationsIn = async (dataDir: string) => {
  const db = await PGlite.create({ dataDir })
  try {
    return (await db.query<{ version: number; name: string }>("select version, name from orrery.migrations order by version")).rows
  } finally {
    await db.close()
  }
}

const lockOf = (dataDir: string) => `${dataDir}.lock`

// Short-lived processes that share nothing: run side by side.
describe.concurrent("help", () => {
  it("lists the commands", async () => {
    const result = await complete(["--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ {2}start +\S/m)
    expect(result.stdout).toMatch(/^ {2}migrate +\S/m)
  })

  it("start --help lists every variable with its flag", async () => {
    const result = await complete(["start", "--help"])
    expect(result.code).toBe(0)
    for (const name of ["DATABASE_URL", "ORRERY_DATABASE_POOLER", "ORRERY_DATA_DIR", "ORRERY_HOST", "ORRERY_PORT", "ORRERY_TOKENS", "LOG_LEVEL"]) {
      expect(result.stdout).toContain(name)
    }
    // Every setting but --url (start serves; it does not go through another server).
    for (const setting of Object.values(settings).filter((setting) => setting.env !== "ORRERY_URL")) {
      expect(result.stdout).toMatch(new RegExp(`${setting.flag} \\S+ +${setting.env} `))
    }
  })

  it("refuses an unknown command and an unknown flag in one line", async () => {
    expect(expectOneLine(await complete(["serve"]), 2)).toBe(`orrery: unknown command "serve"; run orrery --help`)
    expect(expectOneLine(await complete(["migrate", "--port", "1"]), 2)).toBe("orrery: unknown flag --port; run orrery migrate --help")
  })
})

describe.concurrent("configuration errors", () => {
  it("start with ORRERY_PORT=abc names ORRERY_PORT", async () => {
    const line = expectOneLine(await complete(["start"], { ORRERY_PORT: "abc" }), 2)
    expect(line).toBe(`orrery: ORRERY_PORT must be a port number (1-65535), got "abc"`)
  })

  it("a bad flag names the flag and its variable", async () => {
    const line = expectOneLine(await complete(["start", "--port=99999"], { ORRERY_PORT: "8080" }), 2)
    expect(line).toBe(`orrery: --port (ORRERY_PORT) must be a port number (1-65535), got "99999"`)
  })

  it("a DATABASE_URL that is not postgres is refused with its password masked", async () => {
    const line = expectOneLine(await complete(["migrate"], { DATABASE_URL: "mysql://u:secret@127.0.0.1/db" }), 2)
    expect(line).toBe(`orrery: DATABASE_URL must start with postgres:// or postgresql://, got "mysql://u:***@127.0.0.1/db"`)
  })

  it("a malformed ORRERY_TOKENS is refused without printing the token", async () => {
    const secret = "s3cret-token-value-0123456789"
    const line = expectOneLine(await complete(["start"], { ORRERY_TOKENS: `ci:admin:${secret}` }), 2)
    expect(line).toBe("orrery: ORRERY_TOKENS entry 1 must have the role read or operate")
  })

  it("an unknown LOG_LEVEL is refused", async () => {
    const line = expectOneLine(await complete(["migrate"], { LOG_LEVEL: "loud" }), 2)
    expect(line).toMatch(/^orrery: LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, got "loud"$/)
  })
})

describe.concurrent("an unreachable database", () => {
  it("start exits 1 with one line naming the URL, password masked", async () => {
    const line = expectOneLine(await complete(["start"], { DATABASE_URL: "postgres://u:secret@127.0.0.1:1/x" }), 1)
    expect(line).toContain("127.0.0.1:1")
    expect(line).toContain("postgres://u:***@127.0.0.1:1/x")
    expect(line).not.toContain("secret")
  })

  it("migrate too", async () => {
    const line = expectOneLine(await complete(["migrate"], { DATABASE_URL: "postgresql://u:secret@127.0.0.1:1/x" }), 1)
    expect(line).toMatch(/^orrery: cannot reach Postgres at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: /)
  })

  it("a bad list filter is refused before the database is opened", async () => {
    const line = expectOneLine(await complete(["list", "--status", "sleeping"], { DATABASE_URL: "postgres://u:secret@127.0.0.1:1/x" }), 1)
    expect(line).toBe(`orrery: --status must be one of running, done, failed, cancelled, got "sleeping"`)
  })
})

describe("on PGlite", () => {
  it("migrate applies the migrations, Orrery's and the project's domains', to a new folder and exits 0; again, it is idempotent", async () => {
    const dataDir = freshDataDir()
    const result = await complete(["migrate"], { ORRERY_DATA_DIR: dataDir })
    expect(result).toEqual({
      code: 0,
      stdout: `migrated pglite at ${dataDir}: ${shippedMigrations.applied}\n`,
      stderr: ""
    })
    const applied = await migrationsIn(dataDir)
    expect(applied).toContainEqual({ version: 1, name: "event log" })
    expect(applied).toContainEqual({ version: 1, name: "travel services: seats, holds, tickets" })
    expect(fs.existsSync(lockOf(dataDir))).toBe(false)

    // The second time by flag rather than by variable: the same folder, nothing to do.
    const second = await complete(["migrate", "--data-dir", dataDir])
    expect(second).toEqual({
      code: 0,
      stdout: `pglite at ${dataDir} is up to date: ${shippedMigrations.current}\n`,
      stderr: ""
    })
    expect(await migrationsIn(dataDir)).toEqual(applied)
  })

  it("start --demo reports where the log lives, holds the folder (its lock naming the URL), seeds the demo, and on SIGTERM exits 0 releasing it", async () => {
    const dataDir = freshDataDir()
    const token = "tok-0123456789abcdef"
    const run = cli(["start", "--demo"], { ORRERY_DATA_DIR: dataDir, ORRERY_TOKENS: `ci:operate:${token}`, ORRERY_PORT: "7400" })
    await run.waitFor(/^running/)
    const lines = run.stdout().split("\n").filter((line) => !line.startsWith("{"))
    expect(lines[0]).toBe(`event log: pglite at ${dataDir}, migration version 4`)
    expect(lines[1]).toMatch(/^workflows: .*order@1.*booking@1.*ebook-generation@1/)
    expect(lines).toContain("listening on http://127.0.0.1:7400 (API tokens: ci (operate)); docs at http://127.0.0.1:7400/docs, inspector at http://127.0.0.1:7400/inspect")
    expect(lines).toContain("an empty database: the demo is starting a few instances of each workflow")
    expect(lines).toContain("running; stop with Ctrl-C or SIGTERM")
    expect(run.stdout()).not.toContain(token)
    // It serves: the API answers with the token, and the demo has started instances.
    const answer = await fetch("http://127.0.0.1:7400/workflows?limit=5", { headers: { authorization: `Bearer ${token}` } })
    expect(answer.status).toBe(200)
    expect(((await answer.json()) as { items: Array<unknown> }).items.length).toBeGreaterThan(0)
    expect(JSON.parse(fs.readFileSync(lockOf(dataDir), "utf8"))).toEqual({ pid: run.child.pid, url: "http://127.0.0.1:7400" })
    run.child.kill("SIGTERM")
    expect(await run.exited).toMatchObject({ code: 0, signal: null })
    expect(run.stdout()).toMatch(/\nstopped\n$/)
    expect(run.stderr()).toBe("")
    expect(fs.existsSync(lockOf(dataDir))).toBe(false)
    // Closed cleanly: the folder opens again and is current.
    expect(await migrationsIn(dataDir)).toContainEqual({ version: 1, name: "event log" })
    expect(await migrationsIn(dataDir)).toContainEqual({ version: 1, name: "travel services: seats, holds, tickets" })
  })

  it("a repeated SIGINT (the terminal's and npm's) still closes cleanly", async () => {
    const dataDir = freshDataDir()
    const run = cli(["start"], { ORRERY_DATA_DIR: dataDir })
    await run.waitFor(/^running/)
    run.child.kill("SIGINT")
    run.child.kill("SIGINT")
    expect(await run.exited).toMatchObject({ code: 0, signal: null })
    expect(run.stderr()).toBe("")
    expect(fs.existsSync(lockOf(dataDir))).toBe(false)
  })

  it("a second start on the same folder is refused in one line while the first keeps running", async () => {
    const dataDir = freshDataDir()
    const first = cli(["start"], { ORRERY_DATA_DIR: dataDir })
    await first.waitFor(/^running/)
    const line = expectOneLine(await complete(["start"], { ORRERY_DATA_DIR: dataDir }), 1)
    expect(line).toBe(
      `orrery: cannot open the embedded database at ${dataDir}: the data folder ${dataDir} is in use by process ${first.child.pid} (serving http://127.0.0.1:7311); stop it or choose another ORRERY_DATA_DIR`
    )
    expect(first.child.exitCode).toBeNull()
    first.child.kill("SIGTERM")
    expect((await first.exited).code).toBe(0)
  })
})

// Only where a Postgres answers, like the log suite (under CI=true, test/support/drivers.ts fails the run without one).
if (drivers.includes("postgres")) describe("on Postgres", () => {
  const database = `orrery_cli_${randomBytes(6).toString("hex")}`
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => {} })
  const url = new URL(postgresUrl)
  url.pathname = `/${database}`

  beforeAll(async () => {
    await admin.unsafe(`create database ${database}`)
  })
  afterAll(async () => {
    await admin.unsafe(`drop database if exists ${database} with (force)`)
    await admin.end()
  })

  it("migrate, migrate again, then start and stop", async () => {
    const env = { DATABASE_URL: url.toString() }
    const location = url.toString()
    expect(await complete(["migrate"], env)).toEqual({
      code: 0,
      stdout: `migrated postgres at ${location}: ${shippedMigrations.applied}\n`,
      stderr: ""
    })
    expect((await complete(["migrate"], env)).stdout).toBe(`postgres at ${location} is up to date: ${shippedMigrations.current}\n`)
    const run = cli(["start"], env)
    await run.waitFor(/^running/)
    expect(run.stdout()).toMatch(new RegExp(`^event log: postgres at ${location.replace(/[.?*+^$()[\]\\|{}]/g, "\\$&")}, migration version 4\n`))
    run.child.kill("SIGTERM")
    expect(await run.exited).toMatchObject({ code: 0, signal: null })
    const sql = postgres(url.toString(), { max: 1 })
    try {
      expect((await sql`select version, name from orrery.migrations`).map((row) => ({ ...row }))).toContainEqual({ version: 1, name: "event log" })
    } finally {
      await sql.end()
    }
  })
})

/**
 * For the browser suites: Orrery as users start it (`orrery start`, the built command, with
 * the demo seeded and API tokens set) on a free loopback port, on PGlite in a fresh
 * folder or on a fresh Postgres database; and Debian's chromium, driven by
 * playwright-core. Without chromium the suites skip, except under CI=true, where
 * that fails the run (.ci/run installs it).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Browser, type Page, chromium } from "playwright-core"
import postgres from "postgres"
import { baseEnv, cliArgs, freePort, root } from "../support/cli-process.js"
import { type Driver, postgresUrl } from "../support/drivers.js"

export const chromiumPath = "/usr/bin/chromium"
export const hasChromium = fs.existsSync(chromiumPath)
if (!hasChromium && process.env.CI === "true") throw new Error(`CI=true but ${chromiumPath} is missing: the browser suites must run (apt-get install -y chromium)`)

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"] })

export const readToken = "inspector-read-token-0123456789"
export const operateToken = "inspector-operate-token-012345"
/** Operators of their own for a test that writes thousands of events: the rate limit counts per token. */
export const bulkTokens = Array.from({ length: 6 }, (_, n) => `inspector-bulk-token-${n}-0123456789`)

export interface RunningApp {
  readonly url: string
  /** GET or POST against the API with the operate token; the JSON answer. */
  readonly api: (method: "GET" | "POST", route: string, body?: unknown) => Promise<any>
  /** The server's database on Postgres (to reach behind it); undefined on PGlite, whose folder the server holds. */
  readonly databaseUrl: string | undefined
  readonly stop: () => Promise<void>
}

/** configFile: the project to serve instead of the repository's orrery.config.ts; env: settings over the suite's own (a data folder written before). */
export const startApp = async (driver: Driver, options: { readonly configFile?: string; readonly env?: Readonly<Record<string, string>> } = {}): Promise<RunningApp> => {
  const port = await freePort()
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-inspector-"))
  const database = `orrery_inspector_${randomBytes(6).toString("hex")}`
  const admin = driver === "postgres" ? postgres(postgresUrl, { max: 1, onnotice: () => {} }) : undefined
  const env = baseEnv()
  Object.assign(env, {
    ORRERY_PORT: String(port),
    ORRERY_DATA_DIR: path.join(folder, "data"),
    ORRERY_TOKENS: [`reader:read:${readToken}`, `operator:operate:${operateToken}`, ...bulkTokens.map((token, n) => `bulk${n}:operate:${token}`)].join(","),
    ORRERY_SEAT_HOLD: "3s",
    ORRERY_PAYMENT_WINDOW: "5s",
    // Long enough that a cart a test drives is never abandoned under it on a busy machine.
    ORRERY_CART_INACTIVITY: "60s",
    LOG_LEVEL: "warn",
    ...(options.configFile === undefined ? {} : { ORRERY_CONFIG: options.configFile }),
    ...options.env
  })
  if (admin !== undefined) {
    await admin.unsafe(`create database ${database}`)
    const url = new URL(postgresUrl)
    url.pathname = `/${database}`
    env.DATABASE_URL = url.toString()
  }
  const child: ChildProcess = spawn(process.execPath, cliArgs(["start", "--demo"]), { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const check = () => (/^running/m.test(output) ? resolve() : undefined)
    child.stdout!.on("data", check)
    void exited.then(() => reject(new Error(`orrery start exited: ${output}`)))
  })
  const url = `http://127.0.0.1:${port}`
  const api = async (method: "GET" | "POST", route: string, body?: unknown) => {
    const response = await fetch(url + route, {
      method,
      headers: { authorization: `Bearer ${operateToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const json = await response.json()
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`)
    return json
  }
  return {
    url,
    api,
    databaseUrl: env.DATABASE_URL,
    stop: async () => {
      child.kill("SIGTERM")
      await exited
      fs.rmSync(folder, { recursive: true, force: true })
      if (admin !== undefined) {
        await admin.unsafe(`drop database if exists ${database} with (force)`)
        await admin.end()
      }
    }
  }
}

/** Polls until `done` holds for what `read` answers. */
export const until = async <A>(read: () => Promise<A>, done: (value: A) => boolean, timeoutMs = 60_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting; last: ${JSON.stringify(value).slice(0, 500)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** The ids of the states a page's chart draws, once it has drawn them, sorted. */
export const drawnStates = async (page: Page): Promise<Array<string | null>> => {
  await page.locator("svg.chart g.state").first().waitFor()
  return (await page.locator("svg.chart g.state").evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-state")))).sort()
}

/** Where the browser suites leave their screenshots: a CI artefact, git-ignored. */
export const screenshotFolder = path.join(root, "test-results", "screenshots")

/**
 * Saves what the page shows now as `<name>.png` in the screenshot folder and reads the file back:
 * its width and height from the PNG header (so a test can check it holds the whole viewport).
 */
export const saveScreenshot = async (page: Page, name: string): Promise<{ readonly file: string; readonly width: number; readonly height: number }> => {
  fs.mkdirSync(screenshotFolder, { recursive: true })
  const file = path.join(screenshotFolder, `${name}.png`)
  await page.screenshot({ path: file })
  const png = fs.readFileSync(file)
  // The signature, then the IHDR chunk: width and height as big-endian 32-bit integers at bytes 16 and 20.
  if (png.subarray(1, 4).toString("ascii") !== "PNG") throw new Error(`${file} is not a PNG`)
  return { file, width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

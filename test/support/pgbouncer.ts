/**
 * PgBouncer in transaction mode in front of the test Postgres, on a free loopback port, for
 * the suites that check Orrery through a pooler. Debian's `pgbouncer` (never downloaded);
 * without it those suites skip, except under CI=true, where that fails the run (.ci/run
 * installs it). Run as root (CI), PgBouncer is told to drop to the `postgres` user, as it
 * refuses to run as root.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import postgres from "postgres"
import { freePort } from "./cli-process.js"
import { postgresUrl } from "./drivers.js"

export const pgbouncerPath = "/usr/sbin/pgbouncer"
export const hasPgbouncer = fs.existsSync(pgbouncerPath)
if (!hasPgbouncer && process.env.CI === "true") throw new Error(`CI=true but ${pgbouncerPath} is missing: the pooler suite must run (apt-get install -y pgbouncer)`)

export interface RunningPooler {
  /** The test database's URL through the pooler. */
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Starts PgBouncer in transaction mode before the test Postgres; answers once a query goes through it. */
export const startPgbouncer = async (): Promise<RunningPooler> => {
  const server = new URL(postgresUrl)
  const port = await freePort()
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-pgbouncer-"))
  // Readable by the user PgBouncer drops to.
  fs.chmodSync(folder, 0o755)
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(folder, name), text)
    fs.chmodSync(path.join(folder, name), 0o644)
  }
  const user = decodeURIComponent(server.username || "postgres")
  write("users.txt", `"${user}" ""\n`)
  write(
    "pgbouncer.ini",
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${path.join(folder, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 200",
      // Fewer server connections than the clients' pools: transactions really do change connections.
      "default_pool_size = 4",
      "ignore_startup_parameters = extra_float_digits"
    ].join("\n") + "\n"
  )
  const args = [...(process.getuid?.() === 0 ? ["-u", "postgres"] : []), path.join(folder, "pgbouncer.ini")]
  const child: ChildProcess = spawn(pgbouncerPath, args, { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
  let gone = false
  void exited.then(() => (gone = true))

  const url = new URL(postgresUrl)
  url.port = String(port)
  const deadline = Date.now() + 60_000
  for (;;) {
    if (gone) throw new Error(`pgbouncer exited: ${output}`)
    const sql = postgres(url.toString(), { max: 1, connect_timeout: 5, onnotice: () => {}, prepare: false })
    const up = await sql`select 1`.then(() => true, () => false)
    await sql.end({ timeout: 1 }).catch(() => {})
    if (up) break
    if (Date.now() > deadline) throw new Error(`pgbouncer did not answer within a minute: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return {
    url: url.toString(),
    stop: async () => {
      child.kill("SIGTERM")
      await exited
      fs.rmSync(folder, { recursive: true, force: true })
    }
  }
}

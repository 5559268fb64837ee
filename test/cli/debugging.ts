/**
 * The debugging commands as real subprocesses (the built command), on one driver:
 * instances recorded in-process first, then list, show, history, replay (own
 * machine, a changed machine from a file, every instance of a type), export,
 * cancel, retry, doctor and verify — checked against what the engine recorded.
 *
 * Each driver has a test file of its own (debug.test.ts, debug-postgres.test.ts),
 * so that the two halves run side by side. Every process here costs seconds (a
 * Node start and the database opened), so each check runs once: all of them on
 * Postgres, where a process opens the database fastest, and on PGlite, the
 * embedded default, those whose SQL or locking could differ by driver (the
 * list's filters and pages, a write through the command, the doctor reading
 * the hash chains and a row changed behind the log's back). What the commands
 * make of their answers is the same code on both.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { shippedDomains } from "../../orrery.config.js"
import { databaseLayer } from "../../src/config.js"
import { Engine } from "../../src/engine/index.js"
import { applicationLayer } from "../../src/orrery/application.js"
import { root, spawnCli } from "../support/cli-process.js"
import { type Driver, postgresUrl } from "../support/drivers.js"

const changedCart = path.join(root, "test/cli/changed-cart.ts")

/**
 * Registers the debugging commands' tests on `driver`: with `everything`, all
 * of them; without, only those whose outcome could depend on the driver.
 *
 * @example
 * debuggingCommands("postgres", { everything: true })
 */
export const debuggingCommands = (driver: Driver, { everything }: { readonly everything: boolean }) =>
  // Each test runs several CLI processes, each opening the database: on a busy machine a minute is not enough.
  describe(`debugging commands on ${driver}`, { timeout: 240_000 }, () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-debug-"))
    const database = `orrery_debug_${randomBytes(6).toString("hex")}`
    const admin = driver === "postgres" ? postgres(postgresUrl, { max: 1, onnotice: () => {} }) : undefined
    const url = new URL(postgresUrl)
    url.pathname = `/${database}`
    const config = driver === "postgres" ? { databaseUrl: url.toString(), dataDir: "" } : { databaseUrl: undefined, dataDir: path.join(folder, "data") }
    const where: Record<string, string> = config.databaseUrl !== undefined ? { DATABASE_URL: config.databaseUrl } : { ORRERY_DATA_DIR: config.dataDir }

    const orrery = (...args: Array<string>) => orreryWith({}, ...args)
    const orreryWith = (env: Record<string, string>, ...args: Array<string>) => spawnCli(args, { ...where, ...env }).exited

    /** Runs against the same database as the commands, with no worker: what it records stays as recorded. */
    const inProcess = <A>(body: Effect.Effect<A, unknown, Engine>) =>
      Effect.runPromise(Effect.scoped(body.pipe(Effect.provide(applicationLayer({ database: databaseLayer(config), domains: shippedDomains(), worker: false, projections: false }) as any))) as Effect.Effect<A, unknown, never>)

    /** Runs SQL on the database behind the log's back, as an intruder or an operator would. */
    const onDatabase = async (statement: string) => {
      if (config.databaseUrl !== undefined) {
        const sql = postgres(config.databaseUrl, { max: 1, onnotice: () => {} })
        await sql.unsafe(statement)
        await sql.end()
      } else {
        const db = await PGlite.create({ dataDir: config.dataDir })
        await db.exec(statement)
        await db.close()
      }
    }

    beforeAll(async () => {
      await admin?.unsafe(`create database ${database}`)
      await inProcess(
        Effect.gen(function*() {
          const engine = yield* Engine
          yield* engine.start("cart", { customerId: "ann" }, { id: "big" })
          yield* engine.send("cart", "big", { type: "ADD_ITEM", sku: "mug", quantity: 7, unitPrice: "9.50" })
          yield* engine.send("cart", "big", { type: "ADD_ITEM", sku: "tee", quantity: 1, unitPrice: "15.00" })
          yield* engine.start("cart", { customerId: "bo" }, { id: "small" })
          yield* engine.send("cart", "small", { type: "ADD_ITEM", sku: "mug", quantity: 2, unitPrice: "9.50" })
        })
      )
    }, 60_000)
    afterAll(async () => {
      fs.rmSync(folder, { recursive: true, force: true })
      if (admin !== undefined) {
        await admin.unsafe(`drop database if exists ${database} with (force)`)
        await admin.end()
      }
    })

    it("list shows the instances; --json gives the engine's view; pages, id prefixes and idle filters", async () => {
      const listed = await orrery("list", "--type", "cart")
      expect(listed.code).toBe(0)
      const lines = listed.stdout.trim().split("\n")
      expect(lines[0]).toMatch(/^TYPE\s+ID\s+VERSION\s+STATUS\s+STATE\s+UPDATED$/)
      expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 5))).toEqual([
        ["cart", "small", "1", "running", "open"],
        ["cart", "big", "1", "running", "open"]
      ])
      const asJson = JSON.parse((await orrery("list", "--type", "cart", "--json")).stdout)
      expect(asJson.items.map((item: any) => [item.id, item.context.items.length])).toEqual([["small", 1], ["big", 2]])
      expect(asJson.nextCursor).toBeNull()

      const paged = await orrery("list", "--type", "cart", "--limit", "1")
      const cursor = /more: --cursor (\S+)/.exec(paged.stdout)?.[1]
      expect(cursor).toBeDefined()
      expect((await orrery("list", "--type", "cart", "--cursor", cursor!)).stdout).toMatch(/\ncart\s+big\s/)
      const byPrefix = (await orrery("list", "--type", "cart", "--id-prefix", "bi")).stdout
      expect(byPrefix).toMatch(/\ncart\s+big\s/)
      expect(byPrefix).not.toMatch(/small/)
      expect((await orrery("list", "--type", "cart", "--idle", "1h")).stdout.trim()).toBe("no instances")
      expect((await orrery("list", "--type", "cart", "--idle", "1ms")).stdout.trim().split("\n")).toHaveLength(3)
    })

    if (everything) {
      it("show and history read an instance as recorded", async () => {
        const shown = await orrery("show", "cart", "big")
        expect(shown.code).toBe(0)
        expect(shown.stdout).toContain("cart/big: running in open")
        expect(shown.stdout).toMatch(/waiting on:\n\s+timer xstate\.after\.inactivity\.cart\.open: due /)
        const asJson = JSON.parse((await orrery("show", "cart", "big", "--json")).stdout)
        expect(asJson.instance.context.items).toEqual([{ sku: "mug", quantity: 7, unitPrice: "9.50" }, { sku: "tee", quantity: 1, unitPrice: "15.00" }])
        expect(asJson.pending.map((task: any) => task.kind)).toEqual(["timer"])

        const history = await orrery("history", "cart", "big")
        expect(history.code).toBe(0)
        const lines = history.stdout.trim().split("\n")
        const recorded = JSON.parse((await orrery("history", "cart", "big", "--json")).stdout)
        expect(lines).toHaveLength(recorded.length)
        expect(lines.map((line) => line.split(/\s+/).slice(0, 3))).toEqual(recorded.map((entry: any) => [`#${entry.streamVersion}`, entry.kind, entry.type]))
        expect(lines.filter((line) => line.includes("cart.item.added"))).toHaveLength(2)

        const missing = await orrery("show", "cart", "nobody")
        expect(missing.code).toBe(1)
        expect(missing.stderr.trim()).toMatch(/^orrery: .*nobody/)
      })

      it("replay re-derives every step against the instance's own machine", async () => {
        const replayed = await orrery("replay", "cart", "big")
        expect(replayed.code).toBe(0)
        expect(replayed.stdout).toMatch(/^step 1\s+#1\s+workflow\.started\s+→ open/m)
        expect(replayed.stdout).toMatch(/^step 3\s+#\d+\s+workflow\.event_received\s+→ open\s+emits cart\.item\.added/m)
        expect(replayed.stdout).toContain("cart/big: 3 steps replay as recorded against version 1 (its own)")
        const steps = JSON.parse((await orrery("replay", "cart", "big", "--json")).stdout)
        expect(steps.divergence).toBeNull()
        expect(steps.steps.at(-1).context.items).toHaveLength(2)
      })

      it("replay --against a changed machine names the instances and steps it would have refused, and fails", async () => {
        const one = await orrery("replay", "cart", "big", "--against", changedCart)
        expect(one.code).toBe(1)
        expect(one.stdout).toMatch(/^step 1\s+#1\s+workflow\.started\s+→ open/m)
        expect(one.stdout).not.toMatch(/^step 2/m)
        expect(one.stderr.trim().split("\n")).toHaveLength(1)
        expect(one.stderr).toContain(`cart/big departs from its history against cart@2 from ${changedCart}: replay differs at step 2`)
        expect(one.stderr).toContain("no longer accepts")

        const fine = await orrery("replay", "cart", "small", "--against", changedCart)
        expect(fine.code).toBe(0)
        expect(fine.stdout).toContain(`cart/small: 2 steps replay as recorded against cart@2 from ${changedCart}`)

        const all = await orrery("replay", "cart", "--against", changedCart)
        expect(all.code).toBe(1)
        expect(all.stdout).toMatch(/^cart\/big: departs at step 2: /m)
        expect(all.stdout).toContain("cart/small: 2 steps as recorded")
        expect(all.stderr.trim()).toBe(`orrery: 1 of 2 cart instances depart from their history against cart@2 from ${changedCart}`)
      })

      it("export writes the history as JSON lines to a new file, and refuses to overwrite one", async () => {
        const file = path.join(folder, "big.ndjson")
        const exported = await orrery("export", "cart", "big", "--out", file)
        expect(exported.code).toBe(0)
        const [header, ...entries] = fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line))
        expect(header).toMatchObject({ orrery: "history", workflowType: "cart", instanceId: "big", machineVersion: 1, status: "running" })
        const recorded = JSON.parse((await orrery("history", "cart", "big", "--json")).stdout)
        expect(entries).toEqual(recorded)
        expect(exported.stdout.trim()).toBe(`exported ${recorded.length} entries of cart/big to ${file}`)
        const again = await orrery("export", "cart", "big", "--out", file)
        expect(again.code).toBe(1)
        expect(again.stderr).toContain("it exists")
        expect((await orrery("export", "cart", "big")).stdout.trim().split("\n")).toHaveLength(recorded.length + 1)
      })
    }

    it("cancel records why; retry with nothing failed says so", async () => {
      const cancelled = await orrery("cancel", "cart", "small", "--reason", "customer left")
      expect(cancelled.code).toBe(0)
      expect(cancelled.stdout.trim()).toBe("cart/small: cancelled in open (customer left)")
      const history = JSON.parse((await orrery("history", "cart", "small", "--json")).stdout)
      expect(history.at(-1)).toMatchObject({ type: "workflow.cancelled", data: { reason: "customer left" }, metadata: { actor: "cli" } })
      const again = await orrery("cancel", "cart", "small")
      expect(again.code).toBe(1)
      expect(again.stderr.trim()).toMatch(/^orrery: .*small.*(cancelled|final)/)
      const retried = await orrery("retry", "cart", "big")
      expect([retried.code, retried.stderr.trim()]).toEqual([1, "orrery: cart instance big has no failed activity to retry"])
    })

    it("doctor passes a sound installation and fails one whose history was changed behind the log's back", async () => {
      const healthy = await orrery("doctor")
      expect(healthy.code).toBe(0)
      expect(healthy.stdout).toMatch(/^ok\s+migrations: log \d+$/m)
      // The project's domains' tables are checked too.
      expect(healthy.stdout).toMatch(/^ok\s+migrations: travel 1$/m)
      expect(healthy.stdout).toMatch(/^ok\s+cart: 1 running, 1 cancelled$/m)
      expect(healthy.stdout).toMatch(/^ok\s+history: \d+ events in \d+ streams? read back, hash chains intact; 2 instances checked against them$/m)
      expect(healthy.stdout).toMatch(/^ok\s+read models: no parked events$/m)
      expect(healthy.stdout.trim().split("\n").at(-1)).toBe("no problems found")

      const row = `stream_id = 'cart-big' and stream_version = 3`
      await onDatabase(`create table orrery.backup as select data from orrery.events where ${row}`)
      await onDatabase(`update orrery.events set data = jsonb_set(data, '{event,quantity}', '1') where ${row}`)
      const broken = await orrery("doctor")
      expect(broken.code).toBe(1)
      expect(broken.stdout).toMatch(/^FAIL\s+history of cart\/big: stream cart-big version 3 does not match its hash chain; it refuses inputs until the rows are restored and it is verified \(orrery verify cart big\)$/m)
      expect(broken.stderr.trim()).toBe("orrery: 1 problem found")

      // The doctor's read marked it: it refuses inputs, and verify cannot clear it until the row is restored.
      const refused = await orrery("cancel", "cart", "big")
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain("stream cart-big version 3 does not match its hash chain")
      expect((await orrery("verify", "cart", "big")).code).toBe(1)
      await onDatabase(`update orrery.events set data = (select data from orrery.backup) where ${row}; drop table orrery.backup`)
      const verified = await orrery("verify", "cart", "big")
      expect(verified).toMatchObject({ code: 0, stdout: expect.stringMatching(/^cart\/big: history whole, \d+ entries; it takes inputs \(running in /) })
      expect((await orrery("doctor")).code).toBe(0)
    })

    if (everything) {
      it("a bad filter or flag is one line and exit 2 or 1; so are a missing --against file, a wrong type and an unregistered version", async () => {
        for (const [args, code, message] of [
          [["list", "--status", "sleeping"], 1, "--status must be one of running, done, failed, cancelled"],
          [["list", "--limit", "0"], 1, "--limit must be a whole number from 1 to 500"],
          [["list", "--idle", "soon"], 1, "--idle must be a duration such as 30s, 15m or 2h"],
          [["list", "--colour"], 2, "unknown flag --colour"],
          [["show", "cart"], 2, "missing <id>"]
        ] as const) {
          const ran = await orrery(...args)
          expect([args.join(" "), ran.code]).toEqual([args.join(" "), code])
          expect(ran.stdout).toBe("")
          expect(ran.stderr.trim().split("\n")).toHaveLength(1)
          expect(ran.stderr).toContain(message)
        }

        const nothing = await orrery("replay", "cart", "big", "--against", path.join(root, "test/cli/no-such-file.ts"))
        expect(nothing.code).toBe(1)
        expect(nothing.stderr).toMatch(/^orrery: cannot load .*no-such-file\.ts/)
        const wrongType = await orrery("replay", "order", "x", "--against", changedCart)
        expect(wrongType.stderr.trim()).toBe(`orrery: ${changedCart} exports no order workflow (defineWorkflow); it exports cart@2`)
        const unregistered = await orrery("replay", "cart", "big", "--version", "7")
        expect([unregistered.code, unregistered.stderr.trim()]).toEqual([1, "orrery: workflow cart version 7 is not registered"])
        expect((await orrery("replay", "cart", "big", "--version", "two")).stderr.trim()).toBe('orrery: --version must be a whole number from 1, got "two"')
      })

      it("an export replays with no database at all, against the shipped machine and a changed one; a broken file is named by line", async () => {
        const file = path.join(folder, "offline.ndjson")
        expect((await orrery("export", "cart", "big", "--out", file)).code).toBe(0)
        const offline = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" }
        const replayed = await orreryWith(offline, "replay", "--file", file)
        expect(replayed.code).toBe(0)
        expect(replayed.stdout).toContain(`cart/big (from ${file}): 3 steps replay as recorded against version 1`)
        const changed = await orreryWith(offline, "replay", "--file", file, "--against", changedCart)
        expect(changed.code).toBe(1)
        expect(changed.stderr.trim()).toMatch(new RegExp(`^orrery: cart/big \\(from .*\\) departs from its history against cart@2 from .*: replay differs at step 2`))

        const broken = path.join(folder, "broken.ndjson")
        fs.writeFileSync(broken, fs.readFileSync(file, "utf8").replace(/\n(.*)\n/, "\n{not json\n"))
        expect((await orreryWith(offline, "replay", "--file", broken)).stderr.trim()).toMatch(/^orrery: .*broken\.ndjson line 2 is not a JSON object/)
        const usage = await orrery("replay", "cart", "big", "--file", file)
        expect([usage.code, usage.stderr.trim()]).toEqual([2, "orrery: --file names the instance itself: give no <type> or <id> with it; run orrery replay --help"])
      })

      it("shows a payload's direction controls and escape sequences escaped, so they cannot steer the terminal; --json keeps them", async () => {
        const customerId = "eve\u202Egpj.exe\u001b[31m"
        await inProcess(Engine.use((engine) => engine.start("cart", { customerId }, { id: "sneaky" })))
        const shown = await orrery("show", "cart", "sneaky")
        expect(shown.code).toBe(0)
        expect(shown.stdout).toContain('"customerId": "eve\\u202egpj.exe\\u001b[31m"')
        expect(shown.stdout).not.toMatch(/[\u202e\u001b]/)
        const asJson = JSON.parse((await orrery("show", "cart", "sneaky", "--json")).stdout)
        expect(asJson.instance.context.customerId).toBe(customerId)
      })
    }
  })

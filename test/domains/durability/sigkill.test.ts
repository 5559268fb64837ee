/**
 * `orrery start` serving the shop and travel, killed with SIGKILL at random
 * moments during a burst of orders and bookings (paid, declined, flaky,
 * cancelled at every stage) and started again each time; once everything has
 * settled, the services' tables, the log and the read models agree: stock
 * adds up per SKU, no seat is oversold, every charged cancellation refunded
 * once, every reservation of a cancelled order released once.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { baseEnv, cliArgs, freePort, root } from "../../support/cli-process.js"
import { describe, expect, it } from "vitest"
import { createClient } from "../../../src/client/http.js"
import { httpStatus } from "../../../src/client/http-errors.js"
import { generateOffers } from "../../../sagas/booking/index.js"
import { drivers } from "../../support/drivers.js"
import { makePlace, verify, waitUntil } from "./support.js"

const config = path.join(root, "test/domains/durability/orrery.config.ts")

// The suite's sizes; ORRERY_SIGKILL_SIZES="100,50,5" runs the full probe (orders, bookings, kills), once, by hand.
const [ORDERS, BOOKINGS, KILLS] = (process.env.ORRERY_SIGKILL_SIZES ?? "30,15,3").split(",").map(Number) as [number, number, number]

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** `orrery start` on the place; answers once it serves. */
const startServer = (env: Record<string, string>, port: number) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(["start", "--port", String(port)]), {
      cwd: root,
      env: { ...baseEnv(), ...env, ORRERY_CONFIG: config, ORRERY_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.split("\n").some((line) => line.startsWith("running"))) resolve(child)
    }
    child.stdout!.on("data", collect)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before it ran: ${output}`)))
  })

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

/** Calls until the server answers; a 4xx (refused: exists, not accepted here) is an answer too, but for 429 (slow down). */
const persist = async <A>(call: () => Promise<A>): Promise<A | "refused"> => {
  for (;;) {
    try {
      return await call()
    } catch (error) {
      const status = httpStatus(error)
      if (status !== undefined && status >= 400 && status < 500 && status !== 429) return "refused"
      await pause(200)
    }
  }
}

describe.each(drivers)("SIGKILL of the server on %s", (driver) => {
  it(`at ${KILLS} random moments during ${ORDERS} orders and ${BOOKINGS} bookings: the services, the log and the read models agree`, async () => {
    const place = await makePlace(driver)
    const port = await freePort()
    const client = createClient({ url: `http://127.0.0.1:${port}` })
    let server = await startServer(place.env, port)
    try {
      const skus = ["mug", "lamp", "desk"]
      const order = async (i: number) => {
        const id = `o-${i}`
        const items = [{ sku: skus[i % 3]!, quantity: [7, 3, 1][i % 3]!, unitPrice: "9.90" }, ...(i % 5 === 4 ? [{ sku: "desk", quantity: 2, unitPrice: "99.00" }] : [])]
        const paymentMethod = ["tok_visa", "tok_declined", "tok_visa", "tok_flaky", "tok_visa"][i % 5]!
        await persist(() => client.start("order", { customerId: `c-${i}`, items, paymentMethod }, { id }))
        // Every fifth order is cancelled at whatever stage it has reached (or refused: shipped already).
        if (i % 5 === 2) await persist(() => client.handle("order", id).send({ type: "CANCEL", reason: "changed my mind" }))
        await waitUntil(() => client.handle("order", id).get(), (view) => view.status !== "running" || view.state === "shipped", 120_000, `${id} settled`, 250)
      }
      const offers = ["PAR-LON", "ROM-MAD", "BER-VIE"].map((route) => generateOffers(route.slice(0, 3), route.slice(4), "2031-06-01").find((offer) => offer.seats >= 5)!)
      const booking = async (j: number) => {
        const id = `b-${j}`
        const handle = client.handle("booking", id)
        await persist(() => client.start("booking", { offerId: offers[j % 3]!.id, adults: 1 + (j % 2), userId: `u-${j}`, email: `u${j}@example.com` }, { id }))
        // Paid; paid and cancelled once confirmed; or cancelled while held.
        const plan = Math.floor(j / 3) % 3
        for (;;) {
          const view = await persist(() => handle.get())
          if (view === "refused" || view.status !== "running") return
          if (view.state === "awaiting_payment") {
            await persist(() => handle.send(plan === 2 ? { type: "CANCEL", reason: "too dear" } : { type: "PAY", paymentToken: "tok_visa" }))
          } else if (view.state === "confirmed") {
            if (plan !== 1) return
            await persist(() => handle.send({ type: "CANCEL", reason: "plans changed" }))
          }
          await pause(250)
        }
      }
      const kills = (async () => {
        for (let kill = 0; kill < KILLS; kill++) {
          await pause(300 + Math.floor(Math.random() * 1_200))
          server.kill("SIGKILL")
          await exited(server)
          server = await startServer(place.env, port)
        }
      })()
      const work: Array<Promise<void>> = []
      for (let i = 0; i < Math.max(ORDERS, BOOKINGS); i++) {
        if (i < ORDERS) work.push(order(i))
        if (i < BOOKINGS) work.push(booking(i))
        await pause(20)
      }
      await Promise.all([kills, ...work])
      server.kill("SIGTERM")
      await exited(server)

      const figures = await verify(place)
      const total = (tally: Record<string, number>) => Object.values(tally).reduce((a, b) => a + b, 0)
      expect(total(figures.orders)).toBe(ORDERS)
      expect(total(figures.bookings)).toBe(BOOKINGS)
      expect(figures.orders.cancelled).toBeGreaterThan(0)
      expect(figures.refunds).toBeGreaterThan(0)
      console.log(`${driver}: ${JSON.stringify(figures)}`)
    } finally {
      server.kill("SIGKILL")
      await exited(server)
      await place.drop()
    }
  }, 180_000 * Math.max(1, ORDERS / 30))
})

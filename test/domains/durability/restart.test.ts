/**
 * The services' state survives a stop and a fresh start on the same database
 * (the same PGlite folder, the same Postgres database): an order waiting on
 * its payment releases the stock it reserved before the restart, a booking
 * paid before it is refunded and gives its seats back after it.
 */
import { describe, expect, it } from "vitest"
import { createOrrery } from "../../../src/orrery/create-orrery.js"
import { generateOffers } from "../../../sagas/booking/index.js"
import { drivers } from "../../support/drivers.js"
import { durableDomains, makePlace, verify, waitUntil } from "./support.js"

describe.each(drivers)("services across a restart on %s", (driver) => {
  it("remember reservations, holds and payments: compensations after the restart give back and refund", async () => {
    const place = await makePlace(driver)
    const offer = generateOffers("PAR", "LON", "2031-03-10").find((o) => o.seats >= 3)!
    const open = () => createOrrery({ domains: durableDomains(), database: place.choice, worker: { pollMs: 200, drainMs: 200 } })
    try {
      const first = await open()
      try {
        const shipped = await first.start("order", { customerId: "ann", items: [{ sku: "lamp", quantity: 2, unitPrice: "30.00" }] }, { id: "o-ship" })
        const waiting = await first.start("order", { customerId: "bob", items: [{ sku: "lamp", quantity: 3, unitPrice: "30.00" }], paymentMethod: "tok_timeout" }, { id: "o-wait" })
        const paid = await first.start("booking", { offerId: offer.id, adults: 2, userId: "cy", email: "cy@example.com" }, { id: "b-paid" })
        const held = await first.start("booking", { offerId: offer.id, adults: 1, userId: "di", email: "di@example.com" }, { id: "b-held" })
        await waitUntil(() => shipped.get(), (view) => view.state === "shipped", 20_000, "o-ship shipped")
        await waitUntil(() => waiting.get(), (view) => view.state === "charging", 20_000, "o-wait charging")
        await waitUntil(() => paid.get(), (view) => view.state === "awaiting_payment", 20_000, "b-paid holding")
        await paid.send({ type: "PAY", paymentToken: "tok_visa" })
        await waitUntil(() => paid.get(), (view) => view.state === "confirmed", 20_000, "b-paid confirmed")
        await waitUntil(() => held.get(), (view) => view.state === "awaiting_payment", 20_000, "b-held holding")
      } finally {
        await first.close()
      }

      const second = await open()
      try {
        await second.handle("order", "o-wait").send({ type: "CANCEL", reason: "changed my mind" })
        await second.handle("booking", "b-paid").send({ type: "CANCEL", reason: "plans changed" })
        await second.handle("booking", "b-held").send({ type: "CANCEL", reason: "too dear" })
        const order = await waitUntil(() => second.handle("order", "o-wait").get(), (view) => view.status === "done", 20_000, "o-wait cancelled")
        expect(order.state).toBe("cancelled")
        const released = (await second.handle("order", "o-wait").history()).filter((entry) => entry.type === "stock.released")
        expect(released.map((entry) => entry.data)).toEqual([{ items: [{ sku: "lamp", quantity: 3 }] }])
        for (const [id, seats] of [["b-paid", 2], ["b-held", 1]] as const) {
          const booking = second.handle("booking", id)
          await waitUntil(() => booking.get(), (view) => view.status === "done", 20_000, `${id} cancelled`)
          const cancelled = (await booking.history()).find((entry) => entry.type === "booking.cancelled")!
          expect(cancelled.data).toMatchObject({ seatsReleased: seats, refunded: id === "b-paid" })
        }
      } finally {
        await second.close()
      }

      const figures = await verify(place)
      expect(figures).toMatchObject({ orders: { shipped: 1, cancelled: 1 }, bookings: { cancelled: 2 }, refunds: 1, releases: 1 })
    } finally {
      await place.drop()
    }
  }, 90_000)
})

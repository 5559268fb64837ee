/** The travel demo runs its bookings to their ends, and may run again. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Engine } from "../../../src/engine/index.js"
import { travelDomain } from "../../../sagas/booking/index.js"
import { drivers } from "../../support/drivers.js"
import { caughtUp, inject, appWith, withDomains } from "./support.js"

describe.each(drivers)("travel demo on %s", (driver) => {
  it("confirms, retries a declined card, cancels, refunds, is sold out and expires", async () => {
    const travel = travelDomain({ seatHoldMs: 1_000 })
    await withDomains(driver, [travel], (schema) =>
      Effect.gen(function*() {
        const engine = yield* Engine
        yield* travel.demo!
        const state = (id: string) => engine.get("booking", id).pipe(Effect.map((view) => [view.status, view.state]))
        expect(yield* state("demo-booking-confirmed")).toEqual(["running", "confirmed"])
        expect(yield* state("demo-booking-retried")).toEqual(["running", "confirmed"])
        expect(yield* state("demo-booking-cancelled")).toEqual(["done", "cancelled"])
        expect(yield* state("demo-booking-refunded")).toEqual(["done", "cancelled"])
        expect(yield* state("demo-booking-sold-out")).toEqual(["done", "rejected"])
        expect(yield* state("demo-booking-expired")).toEqual(["done", "expired"])
        yield* caughtUp(schema)
        const app = yield* appWith(travel, schema)
        const henri = (yield* inject(app, "/bookings?userId=demo-henri")).body.bookings.map((b: { status: string }) => b.status).sort()
        expect(henri).toEqual(["cancelled", "confirmed"])
        const before = (yield* engine.list({ type: "booking" })).items.length
        yield* travel.demo!
        expect((yield* engine.list({ type: "booking" })).items.length).toBe(before)
      })
    )
  })
})

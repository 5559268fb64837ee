import { afterEach, expect, it } from "vitest"
import { createTestOrrery, type TestOrrery } from "orrery/testing"
import { invoiceWorkflow, Notifier } from "../src/invoice.js"

let t: TestOrrery<typeof invoiceWorkflow> | undefined
afterEach(async () => t?.close())

it("sends a reminder when an invoice is unpaid after 24 hours", async () => {
  const notifier = Notifier.inMemory()
  t = await createTestOrrery({ workflows: [invoiceWorkflow], services: notifier.layer })
  const invoice = await t.client.start("invoice", { invoiceId: "i-1", customer: "ada@example.com", amount: "12.00" })
  const before = performance.now()
  await t.time.advance("24h")
  const wallMs = performance.now() - before
  const view = await invoice.get()
  expect(view.state).toBe("overdue")
  expect(await invoice.result()).toEqual({ invoiceId: "i-1", paid: false, messageId: "m1" })
  expect([...notifier.sent.values()]).toEqual([{ to: "ada@example.com", text: "Invoice i-1 is overdue" }])
  console.log(`ADVANCE_24H_WALL_MS=${wallMs.toFixed(1)}`)
})

it("sends a receipt when it is paid in time, and no reminder", async () => {
  const notifier = Notifier.inMemory()
  t = await createTestOrrery({ workflows: [invoiceWorkflow], services: notifier.layer })
  const invoice = await t.client.start("invoice", { invoiceId: "i-2", customer: "bob@example.com", amount: "5.00" })
  await t.time.advance("23h")
  await invoice.send({ type: "PAY", method: "card" })
  await t.time.advance("2h")
  expect(await invoice.result()).toEqual({ invoiceId: "i-2", paid: true, messageId: "m1" })
  expect([...notifier.sent.values()].map((message) => message.text)).toEqual(["Thank you for paying 5.00"])
})

/**
 * Compile-time checks of the typed client against the shipped declarations:
 * each line marked @ts-expect-error must be an error, or `tsc` fails on it.
 */
import { createClient } from "orrery/client"
import { invoiceWorkflow, type workflows } from "./invoice.js"

export const check = async () => {
  const client = createClient<typeof workflows>({ url: "http://127.0.0.1:1" })
  const invoice = await client.start("invoice", { invoiceId: "i-1", customer: "ada@example.com", amount: "12.00" })
  await invoice.send({ type: "PAY", method: "card" })
  const view = await invoice.get()
  const customer: string = view.context.customer
  const output = await invoice.result({ timeout: "5s" })
  const paid: boolean = output.paid
  // @ts-expect-error: no workflow type "refund"
  await client.start("refund", { invoiceId: "i-1" })
  // @ts-expect-error: amount must be a string
  await client.start("invoice", { invoiceId: "i-2", customer: "b@example.com", amount: 12 })
  // @ts-expect-error: customer is missing
  await client.start("invoice", { invoiceId: "i-3", amount: "1.00" })
  // @ts-expect-error: the invoice takes no REFUND event
  await invoice.send({ type: "REFUND" })
  // @ts-expect-error: PAY needs a method
  await invoice.send({ type: "PAY" })
  // A definition types the input with no type parameter at all.
  const untyped = createClient({ url: "http://127.0.0.1:1" })
  // @ts-expect-error: amount must be a string, known from the definition alone
  await untyped.start(invoiceWorkflow, { invoiceId: "i-4", customer: "c@example.com", amount: 4 })
  const again = await untyped.start(invoiceWorkflow, { invoiceId: "i-5", customer: "c@example.com", amount: "4.00" })
  const paidAgain: boolean = (await again.result()).paid
  return { customer, paid, paidAgain }
}

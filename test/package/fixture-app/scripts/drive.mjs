// Drives a running `orrery start` with the typed client, as another service would.
import { createClient, httpStatus } from "orrery/client"

const client = createClient({ url: process.argv[2] })
const invoice = await client.start("invoice", { invoiceId: "i-http", customer: "eve@example.com", amount: "7.50" }, { id: "i-http" })
await invoice.send({ type: "PAY", method: "transfer" })
const output = await invoice.result({ timeout: "60s" })
let refused
try {
  await invoice.send({ type: "PAY", method: "again" })
} catch (error) {
  refused = { tag: error._tag, status: httpStatus(error) }
}
const page = await client.list({ type: "invoice" })
console.log(JSON.stringify({ output, refused, listed: page.items.map((item) => item.id) }))

// The server the SIGKILL test kills: the shop's orders and travel's bookings, their services on the server's database.
import { defineConfig } from "orrery"
import { durableDomains } from "./domains.js"

export default defineConfig({ domains: durableDomains() })

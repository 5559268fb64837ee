/**
 * Short, stable ids derived from an idempotency key (`ch_…`, `rsv_…`, `TRK…`),
 * shared by the domains' in-process services so the same key always names the
 * same charge, hold or shipment.
 */
import { createHash } from "node:crypto"

/** The first 12 hex digits of the SHA-256 of `text`. */
export const shortHash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 12)

/**
 * An in-process payment gateway with test cards, for domains whose default
 * services must run without a real gateway (the shop's order saga charges, the
 * travel booking saga captures). Shared so that both honour the same cards and
 * the same idempotency rules; each domain wraps it in its own service and verbs.
 *
 * Test cards: `tok_declined` is declined, `tok_flaky` fails transiently twice
 * (per key) and then succeeds, `tok_timeout` never answers; anything else is
 * accepted. A key pays at most once (asking again gives back the same payment);
 * a refund closes its key, so a payment still in flight cannot land afterwards.
 */
import { Effect, Schema } from "effect"
import { shortHash } from "./hash.js"
import { formatMoney, toDecimal } from "./money.js"

/** The card was refused: final, not retried. */
export class PaymentDeclined extends Schema.TaggedError<PaymentDeclined>()("PaymentDeclined", { reason: Schema.String }) {
  override get message() {
    return `payment declined: ${this.reason}`
  }
}

/** The gateway could not answer now: retried. */
export class PaymentUnavailable extends Schema.TaggedError<PaymentUnavailable>()("PaymentUnavailable", { reason: Schema.String }) {
  override get message() {
    return `payment gateway unavailable: ${this.reason}`
  }
}

/** Money taken under a key; the amount has two decimals. */
export interface Payment {
  readonly chargeId: string
  readonly amount: string
}

export interface Refund {
  /** False when there was nothing to refund: the key is closed all the same. */
  readonly refunded: boolean
  readonly refundId: string | null
  readonly amount: string | null
}

export interface TestGateway {
  /** Takes `amount` with the test `card` once per key: the same key gives back the same payment. */
  readonly pay: (request: { readonly key: string; readonly amount: string; readonly card: string }) => Effect.Effect<Payment, PaymentDeclined | PaymentUnavailable>
  /** Refunds the payment made under the key, if any, and closes the key so that a late payment is refused. */
  readonly refund: (request: { readonly key: string }) => Effect.Effect<Refund>
}

/** A fresh gateway (its own state); see the test cards above. */
export const makeTestGateway = (): TestGateway => {
  const payments = new Map<string, { payment: Payment; refund: Refund | null }>()
  const closed = new Set<string>()
  const attempts = new Map<string, number>()
  return {
    pay: ({ key, amount, card }) =>
      Effect.suspend((): Effect.Effect<Payment, PaymentDeclined | PaymentUnavailable> => {
        const attempt = (attempts.get(key) ?? 0) + 1
        attempts.set(key, attempt)
        const existing = payments.get(key)
        if (existing !== undefined) return Effect.succeed(existing.payment)
        if (closed.has(key)) return Effect.fail(new PaymentDeclined({ reason: "the payment was voided" }))
        switch (card) {
          case "tok_declined":
            return Effect.fail(new PaymentDeclined({ reason: "card declined" }))
          case "tok_flaky":
            if (attempt <= 2) return Effect.fail(new PaymentUnavailable({ reason: `transient failure on attempt ${attempt}` }))
            break
          case "tok_timeout":
            return Effect.never
        }
        const payment: Payment = { chargeId: `ch_${shortHash(key)}`, amount: formatMoney(toDecimal(amount)) }
        payments.set(key, { payment, refund: null })
        return Effect.succeed(payment)
      }),
    refund: ({ key }) =>
      Effect.sync(() => {
        closed.add(key)
        const existing = payments.get(key)
        if (existing === undefined) return { refunded: false, refundId: null, amount: null }
        existing.refund ??= { refunded: true, refundId: `re_${shortHash(key)}`, amount: existing.payment.amount }
        return existing.refund
      })
  }
}

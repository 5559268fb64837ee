/**
 * A test payment gateway with test cards, for domains whose default
 * services must run without a real gateway (the shop's order saga charges, the
 * travel booking saga captures). Shared so that both honour the same cards and
 * the same idempotency rules; each domain wraps it in its own service and verbs.
 *
 * Test cards: `tok_declined` is declined, `tok_flaky` fails transiently twice
 * (per key) and then succeeds, `tok_timeout` never answers; anything else is
 * accepted. A key pays at most once (asking again gives back the same payment);
 * a refund closes its key, so a payment still in flight cannot land afterwards,
 * and is made at most once (asking again gives back the same refund).
 *
 * Its state is a table of the application's database (`test_payments`, made by
 * `testPaymentsMigration`): charges and refunds survive a restart, so an order
 * paid before a crash and cancelled after it is refunded.
 */
import { Effect, Schema } from "effect"
import type { Database, Migration, OrrerySchema } from "orrery"
import { shortHash } from "./hash.js"
import { formatMoney, toDecimal } from "./money.js"
import { answer, type Outcome, refuse, settle, store } from "./store.js"

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

/** The gateway's table: one row per idempotency key (charge, refund, and the attempts made). */
export const testPaymentsMigration: Migration = {
  component: "test-payments",
  version: 1,
  name: "test payment provider: charges and refunds by idempotency key",
  sql: (s) => `
    create table ${s}.test_payments (
      key text primary key,
      attempts integer not null default 0,
      card text,
      charge_id text,
      amount text,
      charged_at timestamptz,
      -- A refund closes the key: a payment still in flight is refused afterwards.
      closed boolean not null default false,
      refund_id text,
      refunded_at timestamptz,
      constraint test_payments_refund_of_a_charge check (refund_id is null or charge_id is not null)
    );`
}

type PayDecision = Outcome<Payment, PaymentDeclined | PaymentUnavailable> | { readonly ok: "never" }

/**
 * The gateway over its table, so that a payment taken before a crash is still
 * there to refund after it. Each call is one transaction that first locks its
 * key (an upsert of the key's row), so retries of one key run one at a time.
 */
export const makeTestGateway: Effect.Effect<TestGateway, never, Database | OrrerySchema> = Effect.gen(function*() {
  const { schema: s, transaction } = yield* store
  return {
    pay: ({ key, amount, card }) =>
      transaction(async (tx): Promise<PayDecision> => {
        // Counting the attempt locks the key's row: a second call with the key waits here.
        const [row] = await tx.query<{ attempts: number; charge_id: string | null; amount: string | null; closed: boolean }>(
          `insert into ${s}.test_payments (key, attempts, card) values ($1, 1, $2)
           on conflict (key) do update set attempts = ${s}.test_payments.attempts + 1
           returning attempts, charge_id, amount, closed`,
          [key, card]
        )
        if (row!.charge_id !== null) return answer({ chargeId: row!.charge_id, amount: row!.amount! })
        if (row!.closed) return refuse(new PaymentDeclined({ reason: "the payment was voided" }))
        switch (card) {
          case "tok_declined":
            return refuse(new PaymentDeclined({ reason: "card declined" }))
          case "tok_flaky":
            if (row!.attempts <= 2) return refuse(new PaymentUnavailable({ reason: `transient failure on attempt ${row!.attempts}` }))
            break
          case "tok_timeout":
            return { ok: "never" }
        }
        const payment: Payment = { chargeId: `ch_${shortHash(key)}`, amount: formatMoney(toDecimal(amount)) }
        await tx.query(`update ${s}.test_payments set charge_id = $2, amount = $3, charged_at = now() where key = $1`, [key, payment.chargeId, payment.amount])
        return answer(payment)
      }).pipe(
        // The attempt is counted (committed) whatever the answer; tok_timeout then never answers.
        Effect.flatMap((decided) => (decided.ok === "never" ? Effect.never : settle(Effect.succeed(decided))))
      ),
    refund: ({ key }) =>
      transaction(async (tx): Promise<Refund> => {
        // Closing the key locks its row; a refund already made is answered again, never made twice.
        const [row] = await tx.query<{ charge_id: string | null; amount: string | null; refund_id: string | null }>(
          `insert into ${s}.test_payments (key, closed) values ($1, true)
           on conflict (key) do update set closed = true
           returning charge_id, amount, refund_id`,
          [key]
        )
        if (row!.charge_id === null) return { refunded: false, refundId: null, amount: null }
        if (row!.refund_id !== null) return { refunded: true, refundId: row!.refund_id, amount: row!.amount }
        const refundId = `re_${shortHash(key)}`
        await tx.query(`update ${s}.test_payments set refund_id = $2, refunded_at = now() where key = $1`, [key, refundId])
        return { refunded: true, refundId, amount: row!.amount }
      })
  }
})

/**
 * Hand-written samples per workflow type: start inputs, payloads of the events
 * clients send, stub outputs and typed errors of what the machine invokes
 * (activities and child workflows, by `src`), and the messages other instances
 * send it. The same value goes to XState and to the engine.
 *
 * Outputs come in variants where a guard branches on them (refunded or not,
 * coherent or not); errors are what the activity's error encoding gives the
 * machine: `{ _tag, message, ...fields }`. Anything a workflow needs that is
 * not here is derived (see workflows.ts): inputs and payloads from their
 * schemas, activity outputs by running the activity once with its domain's
 * services.
 */

export interface Samples {
  readonly inputs?: ReadonlyArray<unknown>
  /** Payloads (without `type`) per accepted event type. */
  readonly events?: Readonly<Record<string, ReadonlyArray<Record<string, unknown>>>>
  /** Stub outputs per invoked `src` (an activity or a child workflow type). */
  readonly outputs?: Readonly<Record<string, ReadonlyArray<unknown>>>
  /** Stub errors per invoked `src`. */
  readonly errors?: Readonly<Record<string, ReadonlyArray<unknown>>>
  /** Events other instances deliver (a child's `sendParent`, a parent's `sendTo`), per type. */
  readonly messages?: Readonly<Record<string, ReadonlyArray<Record<string, unknown>>>>
  /** Longest random walk (default 24 inputs). */
  readonly maxSteps?: number
}

const hash = (digit: string) => `sha256:${digit.repeat(64)}`
const usage = (n: number) => ({ requestId: `req-${n}`, model: "deterministic-writer", promptTokens: 120 + n, completionTokens: 300 + n })
const failure = (tag: string, message: string, fields: Record<string, unknown> = {}) => ({ _tag: tag, message, ...fields })

export const samples: Readonly<Record<string, Samples>> = {
  // -- test fixtures ---------------------------------------------------------
  payment: {
    inputs: [{ amount: 10 }, { amount: 250.5 }],
    events: { CANCEL: [{ reason: "changed my mind" }, { reason: "" }], DELIVERED: [{}] },
    outputs: { charge: [{ chargeId: "ch_1" }, { chargeId: "ch_2" }], ship: [{ trackingId: "trk-ch_1" }] },
    errors: {
      charge: [{ _tag: "Declined", reason: "insufficient funds" }, { _tag: "TimeoutError" }],
      // `ship` has no onError: its failure fails the instance.
      ship: [failure("UnknownException", "carrier down")]
    }
  },
  fragile: {
    inputs: [{}],
    outputs: { call: [{ ok: true }] },
    errors: { call: [{ _tag: "Outage", service: "upstream" }, { _tag: "TimeoutError" }] }
  },
  relay: {
    inputs: [{ n: 1 }],
    outputs: { reserve: [{ receipt: "r-1" }], charge: [{ receipt: "r-2" }], ship: [{ receipt: "r-3" }] },
    errors: { reserve: [failure("UnknownException", "service answered 500")], charge: [failure("TimeoutError", "")], ship: [failure("UnknownException", "x")] }
  },

  "differential-edges": {
    inputs: [{}],
    events: { PING: [{}], TOUCH: [{}], GO: [{}], COUNT: [{}], STOP: [{}] }
  },

  // -- shop ------------------------------------------------------------------
  cart: {
    inputs: [{}, { customerId: "alice" }],
    events: {
      ADD_ITEM: [
        { sku: "mug", quantity: 1, unitPrice: "9.50" },
        { sku: "mug", quantity: 2, unitPrice: "9.00" },
        { sku: "lamp", quantity: 1, unitPrice: "49.00" },
        { sku: "tea-1kg", quantity: 3, unitPrice: "12" }
      ],
      REMOVE_ITEM: [{ sku: "mug" }, { sku: "lamp" }, { sku: "never-added" }],
      CHECKOUT: [{ customerId: "alice" }, { customerId: "bob", paymentMethod: "tok_declined" }]
    },
    outputs: {
      order: [
        { status: "delivered", total: "28.50", cause: null, reason: null },
        { status: "cancelled", total: "28.50", cause: "payment_declined", reason: "card declined" }
      ]
    },
    errors: { order: [{ _tag: "Cancelled", reason: "parent cancelled" }, failure("InvalidEvent", "items: must not be empty")] }
  },
  order: {
    inputs: [
      { customerId: "alice", items: [{ sku: "mug", quantity: 2, unitPrice: "9.50" }], paymentMethod: "tok_visa" },
      { customerId: "bob", items: [{ sku: "mug", quantity: 1, unitPrice: "9.50" }, { sku: "lamp", quantity: 1, unitPrice: "49.00" }] }
    ],
    events: { CANCEL: [{ reason: "changed my mind" }, { reason: "found it cheaper" }], DELIVERED: [{}] },
    outputs: {
      reserveStock: [{ reservationId: "res-1", items: [{ sku: "mug", quantity: 2 }] }],
      chargePayment: [{ chargeId: "ch-1", amount: "19.00" }],
      createShipment: [{ trackingNumber: "TRK-1", carrier: "parcel-co" }],
      cancelShipment: [{ cancelled: true }, { cancelled: false }],
      refundPayment: [{ refunded: true, refundId: "rf-1", amount: "19.00" }, { refunded: false, refundId: null, amount: null }],
      releaseStock: [{ items: [{ sku: "mug", quantity: 2 }] }, { items: [] }]
    },
    errors: {
      reserveStock: [failure("OutOfStock", "lamp: 1 requested, 0 available", { sku: "lamp" }), failure("ReservationClosed", "closed", { key: "k" })],
      chargePayment: [failure("PaymentDeclined", "card declined", { reason: "card declined" }), failure("PaymentUnavailable", "gateway down", { reason: "gateway down" }), { _tag: "TimeoutError" }],
      createShipment: [failure("ShipmentCancelled", "cancelled", { key: "k" })],
      cancelShipment: [failure("UnknownException", "shipping down")],
      refundPayment: [failure("UnknownException", "payments down")],
      releaseStock: [failure("UnknownException", "inventory down")]
    }
  },

  // -- travel ----------------------------------------------------------------
  booking: {
    inputs: [
      { offerId: "PAR-LON-20300115-0", adults: 2, userId: "henri", email: "henri@example.com" },
      { offerId: "NYC-SFO-20301201-3", adults: 1, userId: "iris", email: "iris@example.org" }
    ],
    events: { PAY: [{ paymentToken: "tok_visa" }, { paymentToken: "tok_declined" }], CANCEL: [{ reason: "plans changed" }] },
    outputs: {
      holdSeats: [
        {
          holdId: "hold-1", offerId: "PAR-LON-20300115-0", seats: 2, seatsLeft: 7, unitPrice: "89.00", totalPrice: "178.00", currency: "EUR",
          from: "PAR", to: "LON", flightNumber: "OR 101", departure: "2030-01-15T08:30:00.000Z", heldAt: "2030-01-01T10:00:00.000Z"
        }
      ],
      capturePayment: [{ chargeId: "ch-1", amount: "178.00" }],
      issueTicket: [{ ticketNumber: "TKT-1", msUntilDeparture: 86_400_000 }, { ticketNumber: "TKT-2", msUntilDeparture: 0 }],
      refundPayment: [{ refunded: true, refundId: "rf-1", amount: "178.00" }, { refunded: false, refundId: null, amount: null }],
      releaseSeats: [{ seats: 2 }, { seats: 0 }]
    },
    errors: {
      holdSeats: [
        failure("SoldOut", "sold out", { offerId: "PAR-LON-20300115-0", requested: 2, available: 0 }),
        failure("UnknownOffer", "no such offer", { offerId: "PAR-LON-20300115-0" }),
        failure("FlightDeparted", "departed", { offerId: "PAR-LON-20300115-0", departure: "2020-01-01T00:00:00.000Z" })
      ],
      capturePayment: [failure("PaymentDeclined", "card declined", { reason: "card declined" }), { _tag: "TimeoutError" }],
      issueTicket: [failure("HoldClosed", "hold closed", { key: "k" })],
      refundPayment: [failure("UnknownException", "payments down")],
      releaseSeats: [failure("UnknownException", "inventory down")]
    }
  },

  // -- writing ---------------------------------------------------------------
  chapter: {
    inputs: [{ projectId: "novel", chapterIndex: 1 }],
    events: {
      SUBMIT: [{ contentHash: hash("a"), wordCount: 400 }, { contentHash: hash("b"), wordCount: 380, score: 8.5 }],
      APPROVE: [{ summary: "The keeper returns." }],
      REJECT: [{ feedback: "Open with the lighthouse." }]
    }
  },
  "chapter-generation": {
    inputs: [{ projectId: "novel", chapterIndex: 2, instruction: "Elena meets Tomas at the harbour", targetWordCount: 400 }],
    events: {
      APPROVE: [{ summary: "Elena meets Tomas." }],
      REJECT: [{ feedback: "Let Tomas hesitate." }],
      RETRY: [{}, { feedback: "Shorter, please." }]
    },
    outputs: {
      chapter: [{ projectId: "novel", chapterIndex: 2, contentHash: hash("c"), wordCount: 410, summary: "Elena meets Tomas." }],
      generateChapter: [{ contentHash: hash("c"), wordCount: 410, usage: usage(1) }, { contentHash: hash("d"), wordCount: 395, usage: usage(2) }],
      validateCoherence: [
        { score: 8, blocking: false, issuesCount: 0, issues: [], usage: usage(3) },
        { score: 5, blocking: false, issuesCount: 2, issues: [{ type: "contradiction", severity: "warning", description: "Tomas was in Lyon" }, { type: "style", severity: "info", description: "long sentences" }], usage: usage(4) },
        { score: 9, blocking: true, issuesCount: 1, issues: [{ type: "contradiction", severity: "blocking", description: "Elena died in chapter 1" }], usage: usage(5) }
      ],
      extractFacts: [{ facts: [{ kind: "character", subject: "Elena", attribute: "eyes", value: "green" }, { kind: "location", subject: "Marseille" }], charactersCount: 1, locationsCount: 1, eventsCount: 0, usage: usage(6) }],
      updateMemory: [{ entitiesUpdated: 2 }, { entitiesUpdated: 0 }]
    },
    errors: {
      chapter: [{ _tag: "Cancelled", reason: "stopped" }],
      generateChapter: [failure("LanguageModelUnavailable", "model down"), failure("ContentStoreFailed", "disk full")],
      validateCoherence: [failure("ContentNotFound", "no such draft")],
      extractFacts: [failure("LanguageModelTimeout", "")],
      updateMemory: [failure("StoryMemoryUnavailable", "memory down")]
    },
    messages: {
      // From the child `chapter` aggregate (its sendParent).
      CHAPTER_SUBMITTED: [{ contentHash: hash("c"), submission: 1 }],
      CHAPTER_REJECTED: [{ feedback: "Too slow." }]
    }
  },

  // -- back office -----------------------------------------------------------
  "ebook-generation": {
    inputs: [
      { ebookId: "cat-book", title: "The Lighthouse Keeper's Cat", theme: "a cat who keeps a lighthouse", pages: 2 },
      { ebookId: "moon", title: "Gardens of the Moon", theme: "night flowers", pages: 1 },
      { ebookId: "sea", title: "Under the Sea", theme: "a whale who sings", pages: 3 }
    ],
    outputs: {
      generateImage: [
        { imageId: "img-1", url: "memory://img-1.png", model: "deterministic-illustrator", requestId: "img-req-1" },
        { imageId: "img-2", url: "memory://img-2.png", model: "other-illustrator", requestId: "img-req-2" }
      ],
      writePage: [{ contentHash: hash("e"), wordCount: 120, usage: usage(7) }, { contentHash: hash("9"), wordCount: 95, usage: { ...usage(8), model: "other-writer" } }],
      assemble: [{ contentHash: hash("f"), pageCount: 2, wordCount: 240 }],
      calculateCost: [{ totalCostUsd: "0.012300", lines: [{ model: "deterministic-writer", calls: 2, promptTokens: 250, completionTokens: 610, images: 0, costUsd: "0.012300", priced: true }] }]
    },
    errors: {
      generateImage: [failure("ImageGenerationFailed", "illustrator away")],
      writePage: [failure("LanguageModelRateLimited", "slow down")],
      assemble: [failure("ContentNotFound", "page 1")],
      calculateCost: [failure("UnknownException", "no prices")]
    }
  }
}

/** The small pure pieces: secret names, the Prometheus text, guard descriptions, error mapping. */
import { and, not, stateIn } from "xstate"
import { describe, expect, it } from "vitest"
import { InstanceNotFound } from "../../src/engine/index.js"
import { toHttpError } from "../../src/http/errors.js"
import { makeHistogram, makeSeries, renderFamilies } from "../../src/http/metrics/prometheus.js"
import { isSecretName, redactSecrets } from "../../src/http/redact.js"
import { describeGuard } from "../../src/http/routes/machine-graph.js"

describe("secret names", () => {
  it("redacts what is named like a credential, and not what merely contains a word of one", () => {
    for (const name of ["password", "paymentToken", "payment_token", "apiKey", "api-key", "API_KEY", "clientSecret", "secret", "token", "accessToken", "privateKey", "cardNumber", "cvv", "pin", "cardPin", "card_pin", "authorization", "credentials"]) {
      expect([name, isSecretName(name)]).toEqual([name, true])
    }
    for (const name of ["inputTokens", "outputTokens", "tokenCount", "shipping", "keyboard", "description", "amount", "passenger", "spinner", "opinion", "id"]) {
      expect([name, isSecretName(name)]).toEqual([name, false])
    }
  })

  it("redacts at any depth, in arrays too, and leaves the original alone", () => {
    const value = { order: { lines: [{ sku: "a", apiKey: "k" }], payment: { paymentToken: "tok", last4: "4242" } }, note: "hi" }
    expect(redactSecrets(value)).toEqual({ order: { lines: [{ sku: "a", apiKey: "[redacted]" }], payment: { paymentToken: "[redacted]", last4: "4242" } }, note: "hi" })
    expect(value.order.payment.paymentToken).toBe("tok")
  })
})

describe("Prometheus text", () => {
  it("renders counters, gauges and cumulative histogram buckets with escaped labels", () => {
    const counter = makeSeries("x_total", "Things", "counter")
    counter.inc({ kind: 'a"b\\c\nd' })
    counter.inc({ kind: 'a"b\\c\nd' }, 2)
    const histogram = makeHistogram("t_seconds", "Times", [0.1, 1])
    histogram.observe({ route: "/r" }, 0.05)
    histogram.observe({ route: "/r" }, 0.5)
    histogram.observe({ route: "/r" }, 5)
    expect(renderFamilies([counter, histogram])).toBe(
      [
        "# HELP x_total Things",
        "# TYPE x_total counter",
        'x_total{kind="a\\"b\\\\c\\nd"} 3',
        "# HELP t_seconds Times",
        "# TYPE t_seconds histogram",
        't_seconds_bucket{route="/r",le="0.1"} 1',
        't_seconds_bucket{route="/r",le="1"} 2',
        't_seconds_bucket{route="/r",le="+Inf"} 3',
        't_seconds_sum{route="/r"} 5.55',
        't_seconds_count{route="/r"} 3',
        ""
      ].join("\n")
    )
  })
})

describe("guards in the machine graph", () => {
  it("names named guards, composes and/or/not, and shows inline ones by their short source", () => {
    expect(describeGuard(undefined)).toBeNull()
    expect(describeGuard("isPaid")).toBe("isPaid")
    expect(describeGuard({ type: "isOver", params: { limit: 3 } })).toBe("isOver")
    expect(describeGuard(and(["isPaid", not("isLate")]))).toBe("and(isPaid, not(isLate))")
    expect(describeGuard(stateIn("shipping"))).toBe('stateIn("shipping")')
    // An inline function reads as its short source, never "(inline)".
    expect(describeGuard(() => true)).toBe("true")
    expect(describeGuard(({ context }: { context: { attempt: number } }) => context.attempt < 3)).toBe("context.attempt < 3")
    expect(describeGuard(function isLate() { return false })).toBe("isLate")
    expect(describeGuard((_: unknown) => { const limit = 3; return limit > 2 })).toBe("guard")
    const long = describeGuard(({ event }: { event: { output: { items: Array<{ quantity: number }> } } }) => event.output.items.every((item) => item.quantity > 0))!
    expect(long.length).toBe(40)
    expect(long.endsWith("…")).toBe(true)
  })
})

describe("error mapping", () => {
  it("maps typed failures to statuses, and anything unknown to a 500 that says nothing", () => {
    expect(toHttpError(new InstanceNotFound({ workflowType: "t", instanceId: "i" })).http).toMatchObject({ statusCode: 404, body: { error: "InstanceNotFound" } })
    const bug = toHttpError(new TypeError("cannot read properties of undefined (reading 'x') at /srv/secret/path.ts"))
    expect(bug.unexpected).toBe(true)
    expect(bug.http.statusCode).toBe(500)
    expect(JSON.stringify(bug.http.body)).not.toContain("secret")
    expect(toHttpError(Object.assign(new Error("invalid byte sequence"), { code: "22021" })).http).toMatchObject({ statusCode: 400, body: { error: "InvalidValue" } })
  })
})

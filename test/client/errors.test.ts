/**
 * Every typed refusal the API answers, through the server's own error mapping
 * and the client's rebuilding: the same class, the same fields, the status.
 * (The live suite meets most of them for real; `InstanceBusy` needs 25 lost
 * write races in a row, so this is where it is checked.)
 */
import { describe, expect, it } from "vitest"
import { OrreryHttpError, httpStatus } from "../../src/client.js"
import { errorFromAnswer } from "../../src/client/http-errors.js"
import {
  EventNotAccepted,
  InstanceBusy,
  InstanceExists,
  InstanceFinal,
  InstanceNotFound,
  NothingToRetry,
  WorkflowNotFound
} from "../../src/engine/errors.js"
import { fromTypedError } from "../../src/http/errors.js"
import { InvalidEvent, StoreUnavailable } from "../../src/log/errors.js"

/** What the client makes of the answer the server gives for `error`, sent as JSON. */
const roundTrip = (error: unknown) => {
  const http = fromTypedError(error)
  if (http === undefined) throw new Error("the server does not map this error")
  return { status: http.statusCode, rebuilt: errorFromAnswer(http.statusCode, JSON.parse(JSON.stringify(http.body)), "http://127.0.0.1:7311") }
}

describe("engine refusals over HTTP", () => {
  const cases = [
    [new WorkflowNotFound({ workflowType: "signin" }), 404],
    [new WorkflowNotFound({ workflowType: "signup", version: 9 }), 404],
    [new InstanceNotFound({ workflowType: "signup", instanceId: "s-1" }), 404],
    [new InstanceExists({ workflowType: "signup", instanceId: "s-1" }), 409],
    [new EventNotAccepted({ eventType: "FLY", state: { review: "pending" }, accepted: ["APPROVE", "REJECT"] }), 409],
    [new InstanceFinal({ workflowType: "signup", instanceId: "s-1", status: "done" }), 409],
    [new NothingToRetry({ workflowType: "signup", instanceId: "s-1" }), 409],
    [new InstanceBusy({ workflowType: "signup", instanceId: "s-1" }), 409],
    [new InvalidEvent({ eventType: "CONFIRM", field: "code", reason: "must be six digits" }), 400]
  ] as const

  it.each(cases)("%s arrives as its own class with its fields and status", (error, status) => {
    const { status: answered, rebuilt } = roundTrip(error)
    expect(answered).toBe(status)
    expect(rebuilt).toBeInstanceOf(error.constructor)
    expect({ ...rebuilt }).toEqual({ ...error })
    expect(rebuilt.message).toBe(error.message)
    expect(httpStatus(rebuilt)).toBe(status)
    // The status is beside the fields, not among them: InstanceFinal's own `status` is the instance's.
    expect(Object.keys(rebuilt)).toEqual(Object.keys(error))
  })

  it("StoreUnavailable arrives without the database's location, which the server keeps to itself", () => {
    const { status, rebuilt } = roundTrip(new StoreUnavailable({ location: "postgres://app:***@db.internal:5432/orrery", message: "connection refused" }))
    expect(status).toBe(503)
    expect(rebuilt).toBeInstanceOf(StoreUnavailable)
    expect(rebuilt).toMatchObject({ _tag: "StoreUnavailable", location: "http://127.0.0.1:7311", message: "the database is unavailable; try again later" })
    expect(JSON.stringify(rebuilt)).not.toContain("db.internal")
    expect(httpStatus(rebuilt)).toBe(503)
  })

  it("an answer without the fields (an older server) still arrives typed, as OrreryHttpError", () => {
    const rebuilt = errorFromAnswer(404, { error: "InstanceNotFound", message: "no signup instance s-1" }, "http://127.0.0.1:7311")
    expect(rebuilt).toBeInstanceOf(OrreryHttpError)
    expect(rebuilt).toMatchObject({ status: 404, error: "InstanceNotFound", message: "no signup instance s-1" })
    // …as does one from before `details`, for EventNotAccepted whose fields were always in the body.
    const older = errorFromAnswer(409, { error: "EventNotAccepted", message: "FLY is not accepted", state: "waiting", accepted: ["CONFIRM"] }, "")
    expect(older).toBeInstanceOf(OrreryHttpError)
  })

  it("a body that is not an error object is an InvalidResponse", () => {
    for (const body of [undefined, "text", [1, 2], null]) {
      expect(errorFromAnswer(502, body, "")).toMatchObject({ _tag: "OrreryHttpError", status: 502, error: "InvalidResponse" })
    }
  })
})

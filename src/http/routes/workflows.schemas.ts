/** Request and answer schemas of the workflow routes. */
import type { ListFilter } from "../../engine/index.js"
import { anyJson, commonErrors, errors, historyEntry, identifier, instance, text } from "../schemas.js"

const tags = ["workflows"]

/**
 * Names every plain object inherits (`toString`, `__proto__`, …). The engine looks
 * event types up in a plain object, so these would reach it as schemas; no
 * workflow uses them as event names, so they are refused here.
 */
const inheritedNames = Object.getOwnPropertyNames(Object.prototype)
const typeParams = { type: "object", required: ["type"], properties: { type: identifier } } as const
const instanceParams = { type: "object", required: ["type", "id"], properties: { type: identifier, id: identifier } } as const

export const start = {
  tags,
  operationId: "startWorkflow",
  summary: "Start an instance",
  description: "Starts an instance of the newest version of the workflow type. With an Idempotency-Key, repeating the request answers the instance the first one started (200) instead of starting another.",
  params: typeParams,
  headers: {
    type: "object",
    properties: {
      "idempotency-key": { type: "string", minLength: 1, maxLength: 200, pattern: "^[\\x21-\\x7e]+$", description: "Same key, same instance" },
      "x-correlation-id": { type: "string", description: "Recorded in the events' metadata; generated when absent" }
    }
  },
  body: {
    type: "object",
    required: ["input"],
    additionalProperties: false,
    properties: {
      id: { ...identifier, description: "The instance id (default: a new UUID)" },
      input: { description: "The workflow's start input; validated by its schema (see GET /machines/{type})" }
    }
  },
  response: {
    201: { ...instance, description: "Started" },
    200: { ...instance, description: "Already started with this Idempotency-Key" },
    ...errors(...commonErrors, 404, 409, 413, 415)
  }
} as const

export const get = {
  tags,
  operationId: "getWorkflow",
  summary: "An instance's current state",
  params: instanceParams,
  response: { 200: instance, ...errors(...commonErrors, 404) }
} as const

export const send = {
  tags,
  operationId: "sendEvent",
  summary: "Send an event to an instance",
  description:
    "The body is the event: `type` plus its payload, validated by the workflow's schema for that type. With `wait=settled` the answer waits (up to `timeout`) until no activity, message or child start is pending for the instance, or it is final: 200 when it settled, 202 with the state so far when the timeout came first.",
  params: instanceParams,
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      wait: { type: "string", enum: ["settled"] },
      timeout: { type: "string", pattern: "^[0-9]{1,7}(ms|s)?$", description: "e.g. 5s, 500ms (a bare number is milliseconds); default 5s" }
    }
  },
  body: {
    type: "object",
    required: ["type"],
    properties: { type: { type: "string", minLength: 1, maxLength: 200, not: { enum: inheritedNames } } },
    additionalProperties: true
  },
  response: {
    200: { ...instance, description: "Accepted (and settled, when asked to wait)" },
    202: { ...instance, description: "Accepted; not settled within the timeout" },
    ...errors(...commonErrors, 404, 409, 413, 415)
  }
} as const

export const result = {
  tags,
  operationId: "awaitWorkflowResult",
  summary: "Wait for an instance to finish",
  description:
    "Answers as soon as the instance is final (done, failed or cancelled): 200 with it — its `output` when done, its `failure` otherwise. When `timeout` runs out first (or the server shuts down), 202 with the instance as it is: ask again to wait on. The server waits at most its longest settle wait (maxSettleMs, default 30 s) per request, whatever the timeout asks.",
  params: instanceParams,
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      timeout: { type: "string", pattern: "^[0-9]{1,7}(ms|s)?$", description: "How long to wait: e.g. 30s, 500ms (a bare number is milliseconds; 0 answers at once); default 30s" }
    }
  },
  response: {
    200: { ...instance, description: "Final: done, failed or cancelled" },
    202: { ...instance, description: "Still running when the wait ran out" },
    ...errors(...commonErrors, 404)
  }
} as const

export const cancel = {
  tags,
  operationId: "cancelWorkflow",
  summary: "Cancel an instance",
  params: instanceParams,
  body: {
    type: "object",
    additionalProperties: false,
    properties: { reason: { ...text, maxLength: 1000 } }
  },
  response: { 200: instance, ...errors(...commonErrors, 404, 409, 413, 415) }
} as const

export const retry = {
  tags,
  operationId: "retryWorkflow",
  summary: "Run a failed instance's failed activity again",
  params: instanceParams,
  response: { 200: instance, ...errors(...commonErrors, 404, 409, 415) }
} as const

export const verify = {
  tags,
  operationId: "verifyWorkflow",
  summary: "Check an instance's history against its hash chain; clear its corrupted mark once repaired",
  description:
    "Reads the whole history back. Whole and as long as the instance says, it clears a `corrupted` mark (an operator restored the rows) and answers the instance, which takes inputs again; broken, it answers the IntegrityError naming the stream and version where it breaks.",
  params: instanceParams,
  response: { 200: instance, ...errors(...commonErrors, 404, 415) }
} as const

export const history = {
  tags,
  operationId: "workflowHistory",
  summary: "An instance's history",
  description: "Inputs, domain events and the engine's records (activities scheduled and attempted, timers), in order.",
  params: instanceParams,
  response: {
    200: { type: "object", required: ["items"], properties: { items: { type: "array", items: historyEntry } } },
    ...errors(...commonErrors, 404)
  }
} as const

export const pending = {
  tags,
  operationId: "workflowPending",
  summary: "What an instance waits on",
  description:
    "Its tasks not yet done: activities to run or running (with the worker holding each and until when, the attempts so far, and the circuit an activity waits for), timers and when they are due, messages and children on their way. Empty when it waits only for a client's event.",
  params: instanceParams,
  response: {
    200: {
      type: "object",
      required: ["items"],
      properties: {
        items: {
          type: "array",
          items: {
            type: "object",
            required: ["kind", "key", "dueAt", "lockedBy", "leasedUntil", "attempts"],
            properties: {
              kind: { type: "string", enum: ["activity", "timer", "message", "start"], description: "start: a child instance to start" },
              key: { type: "string" },
              payload: anyJson,
              dueAt: { type: "string", format: "date-time" },
              lockedBy: { type: ["string", "null"], description: "The worker holding it now" },
              leasedUntil: { type: ["string", "null"], format: "date-time" },
              attempts: { type: "integer" },
              waitingFor: {
                type: "object",
                description: "An activity its dependency's open circuit refused (no attempt spent): tried again when the circuit lets a trial call through, at trialAt at the latest",
                required: ["circuit", "trialAt"],
                properties: { circuit: { type: "string" }, trialAt: { type: "string", format: "date-time" } }
              }
            }
          }
        }
      }
    },
    ...errors(...commonErrors, 404)
  }
} as const

export const replay = {
  tags,
  operationId: "replayWorkflow",
  summary: "Replay an instance's history",
  description:
    "Folds the recorded inputs through the instance's machine — or, with `version`, another registered version of its type, to see whether a changed machine would have taken the same path — and answers every step: the state and context after each input and the domain events it emitted. Where the replay departs from what was recorded, `divergence` names the step; `steps` stops before it. Nothing is written.",
  params: instanceParams,
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: { version: { type: "integer", minimum: 1, description: "A registered version of the type; default: the instance's own" } }
  },
  response: {
    200: {
      type: "object",
      required: ["recordedVersion", "machineVersion", "steps", "divergence"],
      properties: {
        recordedVersion: { type: "integer", description: "The version the instance runs on" },
        machineVersion: { type: "integer", description: "The version it was replayed against" },
        steps: {
          type: "array",
          items: {
            type: "object",
            required: ["step", "streamVersion", "input", "state", "context", "emitted"],
            properties: {
              step: { type: "integer" },
              streamVersion: { type: "integer" },
              input: { ...historyEntry, description: "The recorded input, as GET .../history shows it" },
              state: anyJson,
              context: anyJson,
              emitted: { type: "array", items: { type: "object", additionalProperties: true } }
            }
          }
        },
        divergence: {
          type: ["object", "null"],
          properties: { step: { type: "integer" }, streamVersion: { type: "integer" }, message: { type: "string" }, expected: anyJson, actual: anyJson }
        }
      }
    },
    ...errors(...commonErrors, 404)
  }
} as const

/** The list's query is the engine's filter, field for field. */
export type ListQuery = ListFilter

export const list = {
  tags,
  operationId: "listWorkflows",
  summary: "Instances, newest first",
  description:
    "Every filter is optional and they combine. Without `type`, instances of every type: `id` finds an instance by its id alone, `idPrefix` those whose id begins so.",
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      type: identifier,
      status: { type: "string", enum: ["running", "done", "failed", "cancelled"] },
      state: {
        type: "string",
        maxLength: 200,
        pattern: "^[^.\\u0000-\\u001f]+(\\.[^.\\u0000-\\u001f]+)*$",
        description:
          "A state as its path of keys from the top, joined by dots: `payment` (a top-level state, or a top-level region's key) or `payment.authorizing` (nested, at any depth). Matches instances standing in that state or in any state inside it."
      },
      updatedBefore: {
        type: "string",
        pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$",
        description: "A date and time (ISO 8601, with its offset, e.g. 2026-01-31T12:00:00Z). Only instances that last moved (changed state or context) before this time: in their state since then"
      },
      id: { ...identifier, description: "The instance with this id" },
      idPrefix: { type: "string", minLength: 1, maxLength: 128, pattern: "^[^\\u0000-\\u001f]+$", description: "Instances whose id begins with this" },
      limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
      cursor: { type: "string", pattern: "^[\\x21-\\x7e]{1,1000}$", description: "nextCursor of the previous page" }
    }
  },
  response: {
    200: {
      type: "object",
      required: ["items", "nextCursor"],
      properties: { items: { type: "array", items: instance }, nextCursor: { type: ["string", "null"] } }
    },
    ...errors(...commonErrors)
  }
} as const

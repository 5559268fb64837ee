/**
 * Failures a client sees besides the engine's own typed errors: waiting for a
 * result that turned out a failure, a cancellation, or took too long. Both the
 * HTTP client and the in-process one raise these same classes.
 */
import { Schema } from "effect"

/** The instance ended `failed`: an activity failed with no `onError`, or the machine threw. */
export class WorkflowFailed extends Schema.TaggedError<WorkflowFailed>()("WorkflowFailed", {
  workflowType: Schema.String,
  instanceId: Schema.String,
  /** What the engine recorded: `{ reason, activity? }`. */
  failure: Schema.Unknown
}) {
  override get message() {
    const reason = (this.failure as { reason?: unknown } | null)?.reason
    return `${this.workflowType} instance ${this.instanceId} failed${typeof reason === "string" ? `: ${reason}` : ""}`
  }
}

/** The instance ended `cancelled`. */
export class WorkflowCancelled extends Schema.TaggedError<WorkflowCancelled>()("WorkflowCancelled", {
  workflowType: Schema.String,
  instanceId: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.workflowType} instance ${this.instanceId} was cancelled: ${this.reason}`
  }
}

/** `result()` gave up waiting: the instance is still running. */
export class ResultTimeout extends Schema.TaggedError<ResultTimeout>()("ResultTimeout", {
  workflowType: Schema.String,
  instanceId: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message() {
    return `${this.workflowType} instance ${this.instanceId} did not finish within ${this.timeoutMs} ms`
  }
}

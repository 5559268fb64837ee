/** The engine's typed failures: what a caller can get wrong, and what a workflow can. */
import { Schema } from "effect"

export class WorkflowNotFound extends Schema.TaggedError<WorkflowNotFound>()("WorkflowNotFound", {
  workflowType: Schema.String,
  version: Schema.optional(Schema.Number)
}) {
  override get message() {
    return this.version === undefined
      ? `no workflow type ${this.workflowType}`
      : `workflow ${this.workflowType} version ${this.version} is not registered`
  }
}

export class InstanceNotFound extends Schema.TaggedError<InstanceNotFound>()("InstanceNotFound", {
  workflowType: Schema.String,
  instanceId: Schema.String
}) {
  override get message() {
    return `no ${this.workflowType} instance ${this.instanceId}`
  }
}

export class InstanceExists extends Schema.TaggedError<InstanceExists>()("InstanceExists", {
  workflowType: Schema.String,
  instanceId: Schema.String
}) {
  override get message() {
    return `${this.workflowType} instance ${this.instanceId} already exists`
  }
}

/** The current state has no transition for this event; nothing was written. */
export class EventNotAccepted extends Schema.TaggedError<EventNotAccepted>()("EventNotAccepted", {
  eventType: Schema.String,
  state: Schema.Unknown,
  accepted: Schema.Array(Schema.String)
}) {
  override get message() {
    return `${this.eventType} is not accepted in state ${JSON.stringify(this.state)}; accepted: ${this.accepted.join(", ") || "nothing"}`
  }
}

/** The instance is done, failed or cancelled and takes no more events. */
export class InstanceFinal extends Schema.TaggedError<InstanceFinal>()("InstanceFinal", {
  workflowType: Schema.String,
  instanceId: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `${this.workflowType} instance ${this.instanceId} is ${this.status}`
  }
}

export class NothingToRetry extends Schema.TaggedError<NothingToRetry>()("NothingToRetry", {
  workflowType: Schema.String,
  instanceId: Schema.String
}) {
  override get message() {
    return `${this.workflowType} instance ${this.instanceId} has no failed activity to retry`
  }
}

export class DuplicateWorkflow extends Schema.TaggedError<DuplicateWorkflow>()("DuplicateWorkflow", {
  workflowType: Schema.String,
  version: Schema.Number
}) {
  override get message() {
    return `two different machines are registered as ${this.workflowType} version ${this.version}`
  }
}

/** Replaying recorded inputs did not re-derive what was recorded. */
export class DeterminismError extends Schema.TaggedError<DeterminismError>()("DeterminismError", {
  step: Schema.Number,
  streamVersion: Schema.Number,
  expected: Schema.Unknown,
  actual: Schema.Unknown
}) {
  override get message() {
    return `replay differs at step ${this.step} (stream version ${this.streamVersion}): recorded ${JSON.stringify(this.expected)}, replayed ${JSON.stringify(this.actual)}`
  }
}

/**
 * A task row whose kind or payload does not decode (written by hand, by another version, or
 * corrupted): it is parked — recorded in its instance's history and removed — never run.
 */
export class MalformedTask extends Schema.TaggedError<MalformedTask>()("MalformedTask", {
  taskId: Schema.Number,
  kind: Schema.String,
  key: Schema.String,
  stream: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `task ${this.taskId} (${this.kind} ${this.key} of ${this.stream}) is malformed: ${this.reason}`
  }
}

/** Optimistic concurrency kept losing to other writers of the same instance. */
export class InstanceBusy extends Schema.TaggedError<InstanceBusy>()("InstanceBusy", {
  workflowType: Schema.String,
  instanceId: Schema.String
}) {}

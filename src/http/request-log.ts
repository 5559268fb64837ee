/**
 * One log line per request, when it completes: method, URL, route, status,
 * time, the caller's token name and, for instance routes, the workflow type
 * and instance id (a start names the instance it created) — besides the
 * request and correlation ids every line of the request carries. Fastify's
 * default is a line on arrival and another on completion; on this CPU-bound
 * machine each line is a write the request pays for.
 */
import { LogController, type FastifyReply, type FastifyRequest } from "fastify"
import { redactUrl } from "./redact.js"

declare module "fastify" {
  interface FastifyRequest {
    /** The instance a request is about, once known (a start learns it from the engine). */
    instanceId: string | undefined
  }
}

/** Where a request's instance is, for log lines. */
export const instanceFields = (request: FastifyRequest) => {
  const params = (request.params ?? {}) as { type?: string; id?: string }
  const instanceId = request.instanceId ?? params.id
  return instanceId === undefined ? {} : { workflowType: params.type, instanceId }
}

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Flat fields: pino's `req`/`res` serializers would reshape nested ones.
    const fields = {
      method: request.method,
      url: redactUrl(request.url),
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      ...(request.principal === undefined ? {} : { caller: request.principal.name }),
      ...instanceFields(request)
    }
    if (error) reply.log.error({ ...fields, err: error }, "request errored")
    else reply.log.info(fields, "request completed")
  }
}

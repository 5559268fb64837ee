/**
 * Workflow instances: start, read, send events, wait for the result, cancel, retry, history, pending tasks, replay, list.
 * Each handler is one engine call (plus the optional settle or result wait); the engine's
 * typed failures become statuses in errors.ts.
 */
import { Effect } from "effect"
import type { FastifyPluginAsync } from "fastify"
import { Engine, historyEntryOf } from "../../engine/index.js"
import { InvalidEvent } from "../../log/index.js"
import type { RouteContext } from "../context.js"
import { httpError } from "../errors.js"
import { parseTimeout, settle } from "./settle.js"
import { awaitFinal, waitTimeout } from "./workflows.result.js"
import * as schemas from "./workflows.schemas.js"

interface InstanceParams {
  readonly type: string
  readonly id: string
}

/**
 * A stored event that no longer decodes is the server's problem: a 500, not a
 * 400. (A broken hash chain goes out as itself: a 500 naming the row.)
 */
const storedFault = (error: InvalidEvent) => Effect.die(new Error(`stored history does not decode: ${error.message}`))

const historyOf = (workflowType: string, instanceId: string) =>
  Engine.use((engine) => engine.history(workflowType, instanceId)).pipe(Effect.catchTag("InvalidEvent", storedFault))

/** The start input's fields sit under `input` in the request body. */
const underInput = (error: InvalidEvent) =>
  error.eventType.endsWith(" input")
    ? new InvalidEvent({ eventType: error.eventType, field: error.field === "" ? "input" : `input.${error.field}`, reason: error.reason })
    : error

export const workflowRoutes: FastifyPluginAsync<{ readonly context: RouteContext }> = async (app, { context }) => {
  const { perform, callOptions } = context

  app.post<{ Params: { type: string }; Body: { id?: string; input: unknown }; Headers: { "idempotency-key"?: string } }>(
    "/workflows/:type",
    { schema: schemas.start },
    async (request, reply) => {
      const key = request.headers["idempotency-key"]
      const { instance, created } = await perform(
        request,
        Engine.use((engine) =>
          engine.start(request.params.type, request.body.input, {
            ...callOptions(request),
            ...(request.body.id === undefined ? {} : { id: request.body.id }),
            ...(key === undefined ? {} : { idempotencyKey: key })
          })
        ).pipe(Effect.mapError((error) => (error._tag === "InvalidEvent" ? underInput(error) : error)))
      )
      request.instanceId = instance.id
      if (created) reply.header("location", `/workflows/${encodeURIComponent(instance.type)}/${encodeURIComponent(instance.id)}`)
      return reply.code(created ? 201 : 200).send(instance)
    }
  )

  app.get<{ Params: InstanceParams }>("/workflows/:type/:id", { schema: schemas.get }, async (request) =>
    perform(request, Engine.use((engine) => engine.get(request.params.type, request.params.id)))
  )

  app.post<{ Params: InstanceParams; Body: { type: string }; Querystring: { wait?: "settled"; timeout?: string } }>(
    "/workflows/:type/:id/events",
    { schema: schemas.send },
    async (request, reply) => {
      const { type, id } = request.params
      const timeoutMs = request.query.wait === "settled" ? parseTimeout(request.query.timeout, context.options.maxSettleMs) : undefined
      if (request.query.wait === undefined && request.query.timeout !== undefined) {
        throw httpError(400, "ValidationError", "querystring timeout needs wait=settled", { in: "querystring", field: "timeout", reason: "needs wait=settled" })
      }
      const sent = await perform(request, Engine.use((engine) => engine.send(type, id, request.body, callOptions(request))))
      if (timeoutMs === undefined) return sent
      const { settled, instance } = await perform(request, settle(type, id, timeoutMs))
      return reply.code(settled ? 200 : 202).send(instance)
    }
  )

  app.get<{ Params: InstanceParams; Querystring: { timeout?: string } }>("/workflows/:type/:id/result", { schema: schemas.result }, async (request, reply) => {
    const { type, id } = request.params
    // The wait ends early when the client goes away or the server shuts down (then 202: ask again).
    const stop = new AbortController()
    const end = () => stop.abort()
    context.lifecycle.streams.add(end)
    reply.raw.on("close", end)
    try {
      const timeoutMs = waitTimeout(request.query.timeout, context.options.maxSettleMs)
      const { final, instance } = await perform(request, awaitFinal(type, id, { timeoutMs, pollMs: context.options.streams.pollMs, signal: stop.signal }))
      return reply.code(final ? 200 : 202).send(instance)
    } finally {
      context.lifecycle.streams.delete(end)
      reply.raw.off("close", end)
    }
  })

  app.post<{ Params: InstanceParams; Body: { reason?: string } | undefined }>(
    "/workflows/:type/:id/cancel",
    {
      schema: schemas.cancel,
      // The reason is optional, and so is the body that carries it.
      preValidation: async (request) => {
        request.body ??= {}
      }
    },
    async (request) => {
      const reason = request.body?.reason ?? `cancelled over HTTP by ${request.principal?.name ?? "anonymous"}`
      return perform(request, Engine.use((engine) => engine.cancel(request.params.type, request.params.id, reason, callOptions(request))))
    }
  )

  app.post<{ Params: InstanceParams }>("/workflows/:type/:id/retry", { schema: schemas.retry }, async (request) =>
    perform(request, Engine.use((engine) => engine.retry(request.params.type, request.params.id, callOptions(request))))
  )

  app.post<{ Params: InstanceParams }>("/workflows/:type/:id/verify", { schema: schemas.verify }, async (request) =>
    perform(request, Engine.use((engine) => engine.verify(request.params.type, request.params.id)))
  )

  app.get<{ Params: InstanceParams }>("/workflows/:type/:id/history", { schema: schemas.history }, async (request) => ({
    items: await perform(request, historyOf(request.params.type, request.params.id))
  }))

  app.get<{ Params: InstanceParams }>("/workflows/:type/:id/pending", { schema: schemas.pending }, async (request) => {
    const { type, id } = request.params
    return {
      items: await perform(
        request,
        Engine.use((engine) => engine.get(type, id).pipe(Effect.andThen(engine.pending(type, id))))
      )
    }
  })

  app.get<{ Params: InstanceParams; Querystring: { version?: number } }>("/workflows/:type/:id/replay", { schema: schemas.replay }, async (request) => {
    const { type, id } = request.params
    const { version } = request.query
    const replayed = await perform(
      request,
      Engine.use((engine) => engine.replay(type, id, version === undefined ? {} : { version })).pipe(
        Effect.catchTag("InvalidEvent", storedFault)
      )
    )
    const { divergence } = replayed
    return {
      recordedVersion: replayed.recordedVersion,
      machineVersion: replayed.machineVersion,
      steps: replayed.steps.map((step) => ({
        step: step.step,
        streamVersion: step.streamVersion,
        input: historyEntryOf(step.input),
        state: step.state,
        context: step.context,
        emitted: step.emitted
      })),
      divergence:
        divergence === null
          ? null
          : { step: divergence.step, streamVersion: divergence.streamVersion, message: divergence.message, expected: divergence.expected, actual: divergence.actual }
    }
  })

  app.get<{ Querystring: schemas.ListQuery }>("/workflows", { schema: schemas.list }, async (request) => {
    // Every filter is optional and passed on as given: the schema names them all.
    const filter = Object.fromEntries(Object.entries(request.query).filter(([, value]) => value !== undefined)) as schemas.ListQuery
    return perform(request, Engine.use((engine) => engine.list(filter)))
  })
}

/**
 * The shop's read side over HTTP: orders and stock levels, straight from the
 * read models. Queries never write. Errors are `{ error, message, details? }`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from "fastify"
import type { DomainRoutesContext } from "orrery"
import { findOrder, findStock, listOrders, listStock } from "./projections.js"

interface AjvIssue {
  readonly instancePath: string
  readonly message?: string
  readonly keyword: string
  readonly params: Record<string, unknown>
}

/** Replies 400 when the request failed its schema; true when it did. */
export const refuseInvalid = (request: FastifyRequest, reply: FastifyReply): boolean => {
  const error = request.validationError as (Error & { validation?: ReadonlyArray<AjvIssue>; validationContext?: string }) | undefined
  if (error === undefined) return false
  const issue = error.validation?.[0]
  const where = error.validationContext ?? "request"
  const extra = issue?.params.missingProperty ?? issue?.params.additionalProperty
  const field = [...(issue?.instancePath.split("/").slice(1) ?? []), ...(typeof extra === "string" ? [extra] : [])].join(".")
  const reason = issue === undefined ? error.message : issue.keyword === "required" ? "is required" : issue.keyword === "additionalProperties" ? "is not allowed here" : (issue.message ?? "is invalid")
  void reply.code(400).send({ error: "ValidationError", message: `${where} ${field} ${reason}`.replace(/\s+/g, " ").trim(), details: { in: where, field, reason } })
  return true
}

const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ error: "NotFound", message })

const id = { type: "string", minLength: 1, maxLength: 128 } as const

export const orderRoutes = async (app: FastifyInstance, { db, schema }: DomainRoutesContext): Promise<void> => {
  app.get(
    "/orders/:orderId",
    {
      attachValidation: true,
      schema: {
        tags: ["shop"],
        summary: "An order from the orders read model: status, items, total, timeline",
        params: { type: "object", required: ["orderId"], properties: { orderId: id } }
      }
    },
    async (request, reply) => {
      if (refuseInvalid(request, reply)) return reply
      const { orderId } = request.params as { orderId: string }
      const order = await findOrder(db, schema, orderId)
      return order === undefined ? notFound(reply, `no order ${orderId}`) : order
    }
  )

  app.get(
    "/orders",
    {
      attachValidation: true,
      schema: {
        tags: ["shop"],
        summary: "Orders, newest first, by customer and/or status",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            customerId: id,
            status: { type: "string", enum: ["created", "stock_reserved", "paid", "shipped", "delivered", "cancelled"] },
            limit: { type: "integer", minimum: 1, maximum: 500, default: 50 }
          }
        }
      }
    },
    async (request, reply) => {
      if (refuseInvalid(request, reply)) return reply
      const query = request.query as { customerId?: string; status?: string; limit?: number }
      return { orders: await listOrders(db, schema, query) }
    }
  )

  app.get(
    "/stock/:sku",
    {
      attachValidation: true,
      schema: {
        tags: ["shop"],
        summary: "Stock level of one SKU: initial, on hand, reserved, sold, available",
        params: { type: "object", required: ["sku"], properties: { sku: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" } } }
      }
    },
    async (request, reply) => {
      if (refuseInvalid(request, reply)) return reply
      const { sku } = request.params as { sku: string }
      return findStock(db, schema, sku)
    }
  )

  app.get("/stock", { schema: { tags: ["shop"], summary: "Stock levels of every SKU an order has touched" } as FastifySchema }, async () => ({
    stock: await listStock(db, schema)
  }))
}

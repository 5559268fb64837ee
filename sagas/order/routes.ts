/**
 * The shop's read side over HTTP: orders and stock levels, straight from the
 * read models. Queries never write. A request the schemas refuse, or an order
 * that is not there, is answered by Orrery like its own refusals:
 * `{ error, message, details? }` (ValidationError 400, NotFound 404).
 */
import type { FastifyInstance, FastifySchema } from "fastify"
import { type DomainRoutesContext, httpError } from "orrery"
import { findOrder, findStock, listOrders, listStock } from "./projections.js"

const id = { type: "string", minLength: 1, maxLength: 128 } as const

export const orderRoutes = async (app: FastifyInstance, { db, schema }: DomainRoutesContext): Promise<void> => {
  app.get(
    "/orders/:orderId",
    {
      schema: {
        tags: ["shop"],
        summary: "An order from the orders read model: status, items, total, timeline",
        params: { type: "object", required: ["orderId"], properties: { orderId: id } }
      }
    },
    async (request) => {
      const { orderId } = request.params as { orderId: string }
      const order = await findOrder(db, schema, orderId)
      if (order === undefined) throw httpError(404, "NotFound", `no order ${orderId}`)
      return order
    }
  )

  app.get(
    "/orders",
    {
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
    async (request) => {
      const query = request.query as { customerId?: string; status?: string; limit?: number }
      return { orders: await listOrders(db, schema, query) }
    }
  )

  app.get(
    "/stock/:sku",
    {
      schema: {
        tags: ["shop"],
        summary: "Stock level of one SKU: initial, on hand, reserved, sold, available",
        params: { type: "object", required: ["sku"], properties: { sku: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" } } }
      }
    },
    async (request) => {
      const { sku } = request.params as { sku: string }
      return findStock(db, schema, sku)
    }
  )

  app.get("/stock", { schema: { tags: ["shop"], summary: "Stock levels of every SKU an order has touched" } as FastifySchema }, async () => ({
    stock: await listStock(db, schema)
  }))
}

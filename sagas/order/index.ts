/**
 * The shop's `order` saga as a Domain: the workflow, the `orders` and `stock`
 * read models, the Inventory / Payments / Shipping (their state in tables of the same database), the read routes
 * (GET /orders/:orderId, /orders, /stock/:sku, /stock) and a demo.
 *
 * Settings (environment): ORRERY_PAYMENT_WINDOW (default 15m).
 */
import { type Domain, readSettings } from "orrery"
import { type OrderConfig, orderSettings } from "./config.js"
import { orderDemo } from "./demo.js"
import { ordersProjection, stockProjection } from "./projections.js"
import { orderRoutes } from "./routes.js"
import { durableServices, shopMigrations } from "./services.js"
import { makeOrderWorkflow } from "./workflow.js"

export * from "./config.js"
export * from "./events.js"
export { makeOrderMachine, type OrderContext, type OrderOutput } from "./machine.js"
export { formatMoney, Money, totalOf } from "../shared/money.js"
export { findOrder, findStock, listOrders, listStock, ordersProjection, stockProjection, type OrderView, type StockView } from "./projections.js"
export { orderRoutes } from "./routes.js"
export {
  Inventory,
  initialStock,
  durableServices,
  makeInventory,
  makePayments,
  makeShipping,
  OutOfStock,
  PaymentDeclined,
  Payments,
  PaymentUnavailable,
  ReservationClosed,
  ShipmentCancelled,
  Shipping,
  shopMigration,
  shopMigrations
} from "./services.js"
export { makeOrderWorkflow, orderKey } from "./workflow.js"

/** The order domain; settings not given are read from the environment (see config.ts). */
export const orderDomain = (overrides: Partial<OrderConfig> = {}): Domain => {
  const config = readSettings(orderSettings, { given: overrides })
  return {
    name: "order",
    workflows: [makeOrderWorkflow(config)],
    projections: [ordersProjection, stockProjection],
    services: durableServices,
    migrations: shopMigrations,
    routes: orderRoutes,
    demo: orderDemo
  }
}

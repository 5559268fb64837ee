/**
 * The cart aggregate: `open` while items come and go; every ADD_ITEM and
 * REMOVE_ITEM re-enters `open`, which restarts the inactivity timer; when it
 * fires the cart is `abandoned`. CHECKOUT (refused on an empty cart) moves to
 * `checked_out`, which invokes the `order` saga as a child — by workflow type
 * name: the cart never imports the order — and stays there while the order
 * runs; when the order ends the cart is `closed`.
 */
import { assign, emit, setup } from "xstate"
import { activityLogic } from "orrery"
import { totalOf } from "../../sagas/shared/money.js"
import type { CartInput, CartLine } from "./events.js"

export interface CartContext {
  readonly items: ReadonlyArray<CartLine>
  readonly customerId: string | null
  readonly paymentMethod: string | null
  /** How the order ended (its output's status), once it has. */
  readonly orderStatus: string | null
}

export type CartEvent =
  | { type: "ADD_ITEM"; sku: string; quantity: number; unitPrice: string }
  | { type: "REMOVE_ITEM"; sku: string }
  | { type: "CHECKOUT"; customerId: string; paymentMethod?: string }

/** What the child `order` saga takes (its public input). */
interface OrderInput {
  readonly customerId: string
  readonly items: ReadonlyArray<CartLine>
  readonly paymentMethod?: string
}

const maxLineQuantity = 10_000

const unitCount = (items: ReadonlyArray<CartLine>) => items.reduce((sum, line) => sum + line.quantity, 0)

const withItem = (items: ReadonlyArray<CartLine>, added: CartLine): ReadonlyArray<CartLine> =>
  items.some((line) => line.sku === added.sku)
    ? items.map((line) => (line.sku === added.sku ? { sku: line.sku, quantity: line.quantity + added.quantity, unitPrice: added.unitPrice } : line))
    : [...items, added]

export const makeCartMachine = (config: { readonly inactivityMs: number }) =>
  setup({
    types: {} as {
      context: CartContext
      input: CartInput
      events: CartEvent
      output: { status: "abandoned" | "ordered"; orderStatus: string | null }
    },
    actors: {
      /** The `order` workflow, run as a child saga by the engine. */
      order: activityLogic<OrderInput, { status: string }>()
    },
    guards: {
      hasItems: ({ context }) => context.items.length > 0,
      /** A line holds at most 10,000 units (the Quantity schema): adding past that is refused, not stored. */
      fits: ({ context, event }) =>
        event.type === "ADD_ITEM" && (context.items.find((line) => line.sku === event.sku)?.quantity ?? 0) + event.quantity <= maxLineQuantity,
      inCart: ({ context, event }) => event.type === "REMOVE_ITEM" && context.items.some((line) => line.sku === event.sku)
    },
    delays: { inactivity: config.inactivityMs }
  }).createMachine({
    id: "cart",
    context: ({ input }) => ({ items: [], customerId: input.customerId ?? null, paymentMethod: null, orderStatus: null }),
    initial: "open",
    states: {
      open: {
        after: {
          inactivity: {
            target: "abandoned",
            actions: emit(({ context }) => ({ type: "cart.abandoned", itemCount: unitCount(context.items), total: totalOf(context.items) }))
          }
        },
        on: {
          ADD_ITEM: {
            guard: "fits",
            target: "open",
            reenter: true,
            actions: [
              assign({ items: ({ context, event }) => withItem(context.items, { sku: event.sku, quantity: event.quantity, unitPrice: event.unitPrice }) }),
              emit(({ context, event }) => ({
                type: "cart.item.added",
                sku: event.sku,
                quantity: event.quantity,
                unitPrice: event.unitPrice,
                lineQuantity: context.items.find((line) => line.sku === event.sku)?.quantity ?? event.quantity
              }))
            ]
          },
          REMOVE_ITEM: {
            guard: "inCart",
            target: "open",
            reenter: true,
            actions: [
              emit(({ context, event }) => ({ type: "cart.item.removed", sku: event.sku, quantity: context.items.find((line) => line.sku === event.sku)?.quantity ?? 0 })),
              assign({ items: ({ context, event }) => context.items.filter((line) => line.sku !== event.sku) })
            ]
          },
          CHECKOUT: {
            guard: "hasItems",
            target: "checked_out",
            actions: [
              assign({ customerId: ({ event }) => event.customerId, paymentMethod: ({ event }) => event.paymentMethod ?? null }),
              emit(({ context }) => ({ type: "cart.checked_out", customerId: context.customerId ?? "", items: context.items, total: totalOf(context.items) }))
            ]
          }
        }
      },
      checked_out: {
        invoke: {
          id: "order",
          src: "order",
          input: ({ context }) => ({
            customerId: context.customerId ?? "",
            items: context.items,
            ...(context.paymentMethod === null ? {} : { paymentMethod: context.paymentMethod })
          }),
          onDone: { target: "closed", actions: assign({ orderStatus: ({ event }) => event.output?.status ?? "done" }) },
          onError: { target: "closed", actions: assign({ orderStatus: "failed" }) }
        }
      },
      abandoned: { type: "final" },
      closed: { type: "final" }
    },
    output: ({ context }) => ({ status: context.orderStatus === null ? "abandoned" : "ordered", orderStatus: context.orderStatus })
  })

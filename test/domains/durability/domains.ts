/** The two domains whose services keep state, with windows long enough never to fire during a test. */
import { orderDomain } from "../../../sagas/order/index.js"
import { travelDomain } from "../../../sagas/booking/index.js"

export const durableDomains = () => [orderDomain({ paymentWindowMs: 600_000 }), travelDomain({ seatHoldMs: 600_000 })]

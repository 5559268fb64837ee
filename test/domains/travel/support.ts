/** The travel tests run through the same helpers as the shop's. */
export * from "../shop/support.js"

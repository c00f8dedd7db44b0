/** Shared input rules, so every module accepts identifiers and money the same way. */
export const CODE_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
export const SKU_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
/** Customer and order ids come from the storefront: printable, no spaces, bounded. */
export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;
/** Money in integer minor units; every sum the service forms stays far below 2^53. */
export const MAX_AMOUNT = 1_000_000_000_000;
/** A unit price: with at most 50 lines of 10,000 units, an order subtotal stays < 2^53. */
export const MAX_PRICE = 1_000_000_000;
/** A fixed discount or a percentage fits the coupons.discount_value integer column. */
export const MAX_DISCOUNT_VALUE = 1_000_000_000;
export const MAX_QUANTITY = 10_000;
export const MAX_STOCK = 1_000_000_000;
export const MAX_PAGE_SIZE = 500;

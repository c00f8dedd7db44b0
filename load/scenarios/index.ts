import type { Verdict } from '../verdict';
import { checkoutHolds, sweeperRace } from './checkout-holds';
import type { ScenarioContext } from './context';
import { hotCoupon } from './hot-coupon';
import { naiveHotCoupon } from './naive-hot-coupon';
import { ordersMixed } from './orders-mixed';
import { perCustomer } from './per-customer';
import { stockDecrement } from './stock-decrement';

export {
  checkoutHolds,
  type CheckoutHoldsOptions,
  type HoldRunFacts,
  sweeperRace,
  type SweeperRaceOptions,
} from './checkout-holds';
export type { ScenarioContext } from './context';
export { hotCoupon, type HotCouponOptions } from './hot-coupon';
export { naiveHotCoupon } from './naive-hot-coupon';
export { ordersMixed, type OrdersMixedOptions } from './orders-mixed';
export { perCustomer, type PerCustomerOptions } from './per-customer';
export { stockDecrement, type StockDecrementOptions } from './stock-decrement';

export interface ScenarioEntry {
  /** What it proves, for --help. */
  summary: string;
  /** The k6 script it mirrors. */
  k6: string;
  /** Runs it; `factor` is the optional number after the colon (e.g. hot-coupon:10). */
  run: (ctx: ScenarioContext, factor?: number) => Promise<Verdict>;
}

/** Scenarios by CLI name. */
export const SCENARIOS: Record<string, ScenarioEntry> = {
  'hot-coupon': {
    summary: 'limit 50, 50 x N concurrent redeems (N = :factor, default 20): exactly 50 succeed',
    k6: 'k6/redeem-hot-coupon.js',
    run: (ctx, factor) => hotCoupon(ctx, { oversubscription: factor }),
  },
  'per-customer': {
    summary: '20 customers x 10 simultaneous attempts, limit 2 each: exactly 2 per customer',
    k6: 'k6/per-customer-limit.js',
    run: (ctx) => perCustomer(ctx),
  },
  stock: {
    summary: 'stock 500, concurrent decrements of 1..5 with ~3x demand (:factor), then drain',
    k6: 'k6/stock-decrement.js',
    run: (ctx, factor) => stockDecrement(ctx, { oversubscription: factor }),
  },
  'orders-mixed': {
    summary:
      '120 orders with a coupon limited to 30 over 5 shared SKUs, then a double-cancel storm',
    k6: 'k6/orders-mixed.js',
    run: (ctx, factor) => ordersMixed(ctx, { oversubscription: factor }),
  },
  'checkout-holds': {
    summary:
      'hot SKU, stock 50, 50 x N holds (TTL 2 s; N = :factor, default 20) confirmed/cancelled/expired',
    k6: 'k6/checkout-holds.js',
    run: (ctx, factor) => checkoutHolds(ctx, { hot: 'sku', oversubscription: factor }),
  },
  'checkout-holds-coupon': {
    summary: 'hot coupon, limit 50, 50 x N holds (TTL 2 s) confirmed/cancelled/expired',
    k6: 'k6/checkout-holds.js',
    run: (ctx, factor) => checkoutHolds(ctx, { hot: 'coupon', oversubscription: factor }),
  },
  'sweeper-race': {
    summary: '60 holds expiring at once while both instances sweep and confirms hit the instant',
    k6: 'k6/checkout-holds.js',
    run: (ctx, factor) => sweeperRace(ctx, { holds: factor }),
  },
  naive: {
    summary: 'TEACHING AID: the hot-coupon storm against the unsafe /v1/naive routes; MUST fail',
    k6: 'k6/naive-redeem.js',
    run: (ctx, factor) => naiveHotCoupon(ctx, { oversubscription: factor }),
  },
};

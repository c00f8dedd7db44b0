import { SetMetadata } from '@nestjs/common';

export const CUSTOMER_RATE_LIMITED = 'couponlock:customer-rate-limited';

/**
 * Counts the request against the budget of the `customerId` in its body (RATE_LIMIT_PER_CUSTOMER
 * per RATE_LIMIT_WINDOW_MS), on top of the API key's budget. Every such route shares one budget
 * per customer, and the request is counted before anything is looked up, so a probe with a wrong
 * coupon code costs exactly what a right one costs.
 */
export const CustomerRateLimited = (): MethodDecorator => SetMetadata(CUSTOMER_RATE_LIMITED, true);

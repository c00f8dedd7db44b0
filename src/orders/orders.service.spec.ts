import { currentLock, type LockService } from '@couponlock/lock';
import {
  expectSameError,
  newTestService,
  rejectionOf,
  runWorkInline,
  type TestService,
} from '../../test/support/service-mocks';
import { RequestValidationError } from '../common/errors/domain-error';
import { CouponExhaustedError } from '../coupons/coupons.errors';
import type { RedemptionRecord } from '../coupons/coupons.repository';
import { CouponsService } from '../coupons/coupons.service';
import { RedemptionEntity } from '../coupons/entities/redemption.entity';
import { TransactionRunner } from '../database/transaction-runner';
import { InsufficientStockError } from '../inventory/inventory.errors';
import { InventoryService } from '../inventory/inventory.service';
import { OrdersRepository, type OrderRecord } from './orders.repository';
import { OrderNotFoundError } from './orders.errors';
import { OrdersService } from './orders.service';

const UUID = /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/;
const CREATED_AT = new Date('2026-01-01T00:00:00Z');
const REDEMPTION_ID = '5a0f3c1e-8d2b-4c6a-9e7f-0123456789ab';

/** Two lines as the customer lists them: 2 x A at 1500, 1 x B at 700 (subtotal 3700). */
const ITEMS = [
  { sku: 'A', quantity: 2 },
  { sku: 'B', quantity: 1 },
];
/** What PostgreSQL took, in the order the statement updated the rows (not as listed). */
const TAKEN = [
  { productId: '2', sku: 'B', priceAmount: 700, quantity: 1 },
  { productId: '1', sku: 'A', priceAmount: 1500, quantity: 2 },
];

function redemption(orderId: string): RedemptionRecord {
  const entity = Object.assign(new RedemptionEntity(), {
    id: REDEMPTION_ID,
    couponId: 'c-1',
    customerId: 'cust-1',
    orderId,
    orderAmount: 3700,
    discountAmount: 370,
    status: 'active',
    fence: '1',
    createdAt: CREATED_AT,
    releasedAt: null,
  });
  return { redemption: entity, couponCode: 'SPRING' };
}

function placedOrder(overrides: Partial<OrderRecord> = {}): OrderRecord {
  return {
    id: 'order-1',
    customerId: 'cust-1',
    status: 'placed',
    items: [
      { sku: 'A', quantity: 2, unitPriceAmount: 1500, lineAmount: 3000 },
      { sku: 'B', quantity: 1, unitPriceAmount: 700, lineAmount: 700 },
    ],
    subtotal: 3700,
    discountAmount: 370,
    total: 3330,
    couponCode: 'SPRING',
    redemptionId: REDEMPTION_ID,
    createdAt: CREATED_AT,
    cancelledAt: null,
    ...overrides,
  };
}

describe(OrdersService.name, () => {
  let test: TestService<OrdersService>;
  let sut: OrdersService;
  let locks: LockService;
  let orders: jest.Mocked<OrdersRepository>;
  let inventory: jest.Mocked<InventoryService>;
  let coupons: jest.Mocked<CouponsService>;
  let tx: { readonly transactions: number; readonly inTransaction: boolean };
  /** For each collaborator call: its name, the lock keys held and whether a transaction was open. */
  let seen: Array<{ call: string; keys?: readonly string[]; inTransaction: boolean }>;

  const observe = (call: string) =>
    seen.push({ call, keys: currentLock()?.keys, inTransaction: tx.inTransaction });

  beforeEach(async () => {
    test = await newTestService(OrdersService);
    ({ sut, locks } = test);
    orders = test.mock(OrdersRepository);
    inventory = test.mock(InventoryService);
    coupons = test.mock(CouponsService);
    tx = runWorkInline(test.mock(TransactionRunner));
    seen = [];
  });

  afterEach(() => test.close());

  describe('place', () => {
    function succeed(): void {
      inventory.decrementForOrder.mockImplementation((id) => {
        observe('decrementForOrder');
        expect(id).toMatch(UUID);
        return Promise.resolve(TAKEN);
      });
      coupons.redeem.mockImplementation((input) => {
        observe('redeem');
        return Promise.resolve(redemption(input.orderId));
      });
      orders.insert.mockImplementation(() => {
        observe('insert');
        return Promise.resolve(CREATED_AT);
      });
    }

    it('takes the coupon and every SKU lock at once, and does everything in one transaction', async () => {
      succeed();
      const acquire = jest.spyOn(locks, 'acquire');
      await sut.place({ customerId: 'cust-1', items: ITEMS, couponCode: 'SPRING' });
      const keys = ['coupon:SPRING', 'sku:A', 'sku:B'];
      expect(acquire.mock.calls.map(([requested]) => requested)).toEqual([keys]);
      expect(seen).toEqual([
        { call: 'decrementForOrder', keys, inTransaction: true },
        { call: 'redeem', keys, inTransaction: true },
        { call: 'insert', keys, inTransaction: true },
      ]);
      expect(tx.transactions).toBe(1);
    });

    it('redeems for the subtotal and writes the lines as listed, with their prices', async () => {
      succeed();
      const order = await sut.place({ customerId: 'cust-1', items: ITEMS, couponCode: 'SPRING' });
      const id = order.id;
      expect(id).toMatch(UUID);
      expect(inventory.decrementForOrder.mock.calls).toEqual([[id, ITEMS]]);
      expect(coupons.redeem.mock.calls).toEqual([
        [{ code: 'SPRING', customerId: 'cust-1', orderId: id, orderAmount: 3700 }],
      ]);
      expect(orders.insert.mock.calls).toEqual([
        [
          {
            id,
            customerId: 'cust-1',
            couponId: 'c-1',
            redemptionId: REDEMPTION_ID,
            subtotal: 3700,
            discountAmount: 370,
            lines: [
              { productId: '1', quantity: 2, unitPriceAmount: 1500 },
              { productId: '2', quantity: 1, unitPriceAmount: 700 },
            ],
          },
        ],
      ]);
      // The answer is built from what the transaction holds: no read-back.
      expect(order).toEqual(placedOrder({ id }));
      expect(orders.find).not.toHaveBeenCalled();
    });

    it('without a coupon: only the SKU locks, no redemption, no discount', async () => {
      succeed();
      const order = await sut.place({ customerId: 'cust-1', items: ITEMS });
      expect(seen.map(({ call, keys }) => ({ call, keys }))).toEqual([
        { call: 'decrementForOrder', keys: ['sku:A', 'sku:B'] },
        { call: 'insert', keys: ['sku:A', 'sku:B'] },
      ]);
      expect(coupons.redeem).not.toHaveBeenCalled();
      expect(orders.insert.mock.calls[0]?.[0]).toMatchObject({
        couponId: null,
        redemptionId: null,
        discountAmount: 0,
      });
      expect(order).toEqual(
        placedOrder({
          id: order.id,
          discountAmount: 0,
          total: 3700,
          couponCode: null,
          redemptionId: null,
        }),
      );
    });

    it('a stock refusal ends the transaction before the coupon is touched', async () => {
      const refusal = new InsufficientStockError('B', 0, 1);
      inventory.decrementForOrder.mockRejectedValue(refusal);
      const error = await rejectionOf(
        sut.place({ customerId: 'cust-1', items: ITEMS, couponCode: 'SPRING' }),
      );
      expect(error).toBe(refusal);
      expect(tx.transactions).toBe(1);
      expect(coupons.redeem).not.toHaveBeenCalled();
      expect(orders.insert).not.toHaveBeenCalled();
    });

    it('a coupon refusal rolls back the stock already taken: the same transaction throws', async () => {
      const refusal = new CouponExhaustedError('SPRING');
      inventory.decrementForOrder.mockImplementation(() => {
        observe('decrementForOrder');
        return Promise.resolve(TAKEN);
      });
      coupons.redeem.mockImplementation(() => {
        observe('redeem');
        return Promise.reject(refusal);
      });
      const error = await rejectionOf(
        sut.place({ customerId: 'cust-1', items: ITEMS, couponCode: 'SPRING' }),
      );
      expect(error).toBe(refusal);
      expect(seen.map(({ call, inTransaction }) => [call, inTransaction])).toEqual([
        ['decrementForOrder', true],
        ['redeem', true],
      ]);
      expect(tx.transactions).toBe(1);
      expect(orders.insert).not.toHaveBeenCalled();
    });

    it('a SKU listed twice is VALIDATION_FAILED before any lock or write', async () => {
      const acquire = jest.spyOn(locks, 'acquire');
      expectSameError(
        await rejectionOf(
          sut.place({
            customerId: 'cust-1',
            items: [...ITEMS, { sku: 'A', quantity: 1 }],
          }),
        ),
        new RequestValidationError([
          { field: 'items.2.sku', messages: ['A appears twice; use one line per SKU'] },
        ]),
      );
      expect(acquire).not.toHaveBeenCalled();
      expect(tx.transactions).toBe(0);
    });
  });

  describe('cancel', () => {
    it('an unknown order is ORDER_NOT_FOUND', async () => {
      orders.find.mockResolvedValue(undefined);
      expectSameError(await rejectionOf(sut.cancel('nope')), new OrderNotFoundError('nope'));
    });

    it('a cancelled order is the answer as it is: no lock, no write', async () => {
      const cancelled = placedOrder({ status: 'cancelled', cancelledAt: CREATED_AT });
      orders.find.mockResolvedValue(cancelled);
      const acquire = jest.spyOn(locks, 'acquire');
      await expect(sut.cancel('order-1')).resolves.toBe(cancelled);
      expect(acquire).not.toHaveBeenCalled();
      expect(orders.markCancelled).not.toHaveBeenCalled();
    });

    it('the cancellation that flips the order restocks and releases, in its transaction, under all locks, and answers without a re-read', async () => {
      const cancelledAt = new Date('2026-01-02T03:04:05.678Z');
      orders.find.mockResolvedValueOnce(placedOrder());
      orders.markCancelled.mockImplementation(() => {
        observe('markCancelled');
        return Promise.resolve({ kind: 'applied', row: cancelledAt });
      });
      inventory.restockForOrder.mockImplementation(() => {
        observe('restockForOrder');
        return Promise.resolve();
      });
      coupons.release.mockImplementation(() => {
        observe('release');
        return Promise.resolve(redemption('order-1'));
      });
      await expect(sut.cancel('order-1')).resolves.toEqual(
        placedOrder({ status: 'cancelled', cancelledAt }),
      );
      expect(orders.find.mock.calls).toEqual([['order-1']]);
      const keys = ['coupon:SPRING', 'sku:A', 'sku:B'];
      expect(seen).toEqual([
        { call: 'markCancelled', keys, inTransaction: true },
        { call: 'restockForOrder', keys, inTransaction: true },
        { call: 'release', keys, inTransaction: true },
      ]);
      expect(tx.transactions).toBe(1);
      expect(orders.markCancelled.mock.calls).toEqual([['order-1']]);
      expect(inventory.restockForOrder.mock.calls).toEqual([['order-1', placedOrder().items]]);
      expect(coupons.release.mock.calls).toEqual([[REDEMPTION_ID]]);
    });

    it('a cancellation that lost the race changes nothing and answers the order as it is now', async () => {
      const cancelled = placedOrder({ status: 'cancelled', cancelledAt: CREATED_AT });
      orders.find.mockResolvedValueOnce(placedOrder()).mockResolvedValueOnce(cancelled);
      orders.markCancelled.mockResolvedValue({ kind: 'condition_failed', refusal: 'NOT_PLACED' });
      await expect(sut.cancel('order-1')).resolves.toBe(cancelled);
      expect(inventory.restockForOrder).not.toHaveBeenCalled();
      expect(coupons.release).not.toHaveBeenCalled();
    });

    it('an order without a coupon releases nothing', async () => {
      const plain = placedOrder({ couponCode: null, redemptionId: null, discountAmount: 0 });
      orders.find.mockResolvedValue(plain);
      orders.markCancelled.mockResolvedValue({ kind: 'applied', row: CREATED_AT });
      inventory.restockForOrder.mockResolvedValue();
      await sut.cancel('order-1');
      expect(inventory.restockForOrder.mock.calls).toEqual([['order-1', plain.items]]);
      expect(coupons.release).not.toHaveBeenCalled();
    });

    it('a failed restock fails the cancellation in the same transaction: nothing is released', async () => {
      const refusal = new InsufficientStockError('A', 0, 2);
      orders.find.mockResolvedValue(placedOrder());
      orders.markCancelled.mockResolvedValue({ kind: 'applied', row: CREATED_AT });
      inventory.restockForOrder.mockRejectedValue(refusal);
      expect(await rejectionOf(sut.cancel('order-1'))).toBe(refusal);
      expect(tx.transactions).toBe(1);
      expect(coupons.release).not.toHaveBeenCalled();
    });
  });
});

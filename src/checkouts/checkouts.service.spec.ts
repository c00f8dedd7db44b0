import { currentLock, type LockService } from '@couponlock/lock';
import {
  expectSameError,
  newTestService,
  rejectionOf,
  runWorkInline,
  type TestService,
} from '../../test/support/service-mocks';
import { RequestValidationError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { CouponExhaustedError } from '../coupons/coupons.errors';
import type { RedemptionRecord } from '../coupons/coupons.repository';
import { CouponsService } from '../coupons/coupons.service';
import { RedemptionEntity } from '../coupons/entities/redemption.entity';
import { TransactionRunner } from '../database/transaction-runner';
import { InsufficientStockError } from '../inventory/inventory.errors';
import { InventoryService } from '../inventory/inventory.service';
import type { OrderRecord } from '../orders/orders.repository';
import { OrdersService } from '../orders/orders.service';
import { CheckoutsRepository, type HoldRecord, type HoldVerdict } from './checkouts.repository';
import {
  HoldCancelledError,
  HoldConfirmedError,
  HoldExpiredError,
  HoldNotFoundError,
} from './checkouts.errors';
import { CheckoutsService } from './checkouts.service';

const UUID = /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/;
const HOLD_ID = '7d3c1a2b-0000-4000-8000-000000000001';
const CREATED_AT = new Date('2026-01-01T00:00:00Z');
const EXPIRES_AT = new Date('2026-01-01T00:10:00Z');
const ITEMS = [
  { sku: 'A', quantity: 2 },
  { sku: 'B', quantity: 1 },
];
const RESERVED = [
  { productId: '2', sku: 'B', priceAmount: 700, quantity: 1 },
  { productId: '1', sku: 'A', priceAmount: 1500, quantity: 2 },
];
const LINES = [
  { productId: '1', sku: 'A', quantity: 2, unitPriceAmount: 1500, lineAmount: 3000 },
  { productId: '2', sku: 'B', quantity: 1, unitPriceAmount: 700, lineAmount: 700 },
];
const KEYS = ['coupon:SPRING', 'sku:A', 'sku:B'];

function hold(overrides: Partial<HoldRecord> = {}): HoldRecord {
  return {
    id: HOLD_ID,
    customerId: 'cust-1',
    status: 'held',
    items: LINES,
    subtotal: 3700,
    discountAmount: 370,
    total: 3330,
    couponCode: 'SPRING',
    orderId: null,
    expiresAt: EXPIRES_AT,
    createdAt: CREATED_AT,
    endedAt: null,
    ...overrides,
  };
}

function verdict(overrides: Partial<HoldVerdict> = {}): HoldVerdict {
  return {
    status: 'held',
    expired: false,
    orderId: null,
    lines: 2,
    reservedLines: 2,
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

function redemption(orderId: string): RedemptionRecord {
  const entity = Object.assign(new RedemptionEntity(), {
    id: 'r-1',
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

const SETTINGS: Record<string, number> = {
  CHECKOUT_HOLD_TTL_SECONDS: 600,
  CHECKOUT_HOLD_MIN_TTL_SECONDS: 60,
  CHECKOUT_HOLD_MAX_TTL_SECONDS: 3600,
};

describe(CheckoutsService.name, () => {
  let test: TestService<CheckoutsService>;
  let sut: CheckoutsService;
  let locks: LockService;
  let holds: jest.Mocked<CheckoutsRepository>;
  let inventory: jest.Mocked<InventoryService>;
  let coupons: jest.Mocked<CouponsService>;
  let orders: jest.Mocked<OrdersService>;
  let tx: { readonly transactions: number; readonly inTransaction: boolean };
  let seen: Array<{ call: string; keys?: readonly string[]; inTransaction: boolean }>;

  /** Records a collaborator call with the locks and transaction it ran under. */
  function observed<A extends unknown[], R>(call: string, result: (...args: A) => R) {
    return (...args: A): R => {
      seen.push({ call, keys: currentLock()?.keys, inTransaction: tx.inTransaction });
      return result(...args);
    };
  }

  beforeEach(async () => {
    test = await newTestService(CheckoutsService, [
      { provide: AppConfig, useValue: { get: (key: string) => SETTINGS[key] } },
    ]);
    ({ sut, locks } = test);
    holds = test.mock(CheckoutsRepository);
    inventory = test.mock(InventoryService);
    coupons = test.mock(CouponsService);
    orders = test.mock(OrdersService);
    tx = runWorkInline(test.mock(TransactionRunner));
    seen = [];
  });

  afterEach(() => test.close());

  describe('create', () => {
    const input = { customerId: 'cust-1', items: ITEMS, couponCode: 'SPRING' };

    it('reserves stock and a coupon use, all under one lock and in one transaction', async () => {
      inventory.reserveForHold.mockImplementation(
        observed('reserve', () => Promise.resolve(RESERVED)),
      );
      coupons.holdUse.mockImplementation(
        observed('holdUse', () =>
          Promise.resolve({ couponId: 'c-1', couponCode: 'SPRING', discountAmount: 370 }),
        ),
      );
      holds.insert.mockImplementation(
        observed('insert', () => Promise.resolve({ createdAt: CREATED_AT, expiresAt: EXPIRES_AT })),
      );
      const created = await sut.create(input);
      const id = created.id;
      expect(id).toMatch(UUID);
      expect(created).toEqual(hold({ id }));
      expect(seen).toEqual([
        { call: 'reserve', keys: KEYS, inTransaction: true },
        { call: 'holdUse', keys: KEYS, inTransaction: true },
        { call: 'insert', keys: KEYS, inTransaction: true },
      ]);
      expect(tx.transactions).toBe(1);
      expect(inventory.reserveForHold.mock.calls).toEqual([[id, ITEMS]]);
      expect(coupons.holdUse.mock.calls).toEqual([
        [{ code: 'SPRING', customerId: 'cust-1', holdId: id, orderAmount: 3700 }],
      ]);
      expect(holds.insert.mock.calls).toEqual([
        [
          {
            id,
            customerId: 'cust-1',
            couponId: 'c-1',
            subtotal: 3700,
            discountAmount: 370,
            ttlSeconds: 600,
            lines: LINES,
          },
        ],
      ]);
    });

    it('a stock refusal stops before the coupon; a coupon refusal before the hold row', async () => {
      const short = new InsufficientStockError('B', 0, 1);
      const exhausted = new CouponExhaustedError('SPRING');
      inventory.reserveForHold.mockRejectedValueOnce(short).mockResolvedValueOnce(RESERVED);
      coupons.holdUse.mockRejectedValueOnce(exhausted);
      expect(await rejectionOf(sut.create(input))).toBe(short);
      expect(coupons.holdUse).not.toHaveBeenCalled();
      expect(await rejectionOf(sut.create(input))).toBe(exhausted);
      expect(holds.insert).not.toHaveBeenCalled();
      expect(tx.transactions).toBe(2);
    });

    it.each([59, 3601])(
      'a ttl of %i s is VALIDATION_FAILED before any lock',
      async (ttlSeconds) => {
        const acquire = jest.spyOn(locks, 'acquire');
        expectSameError(
          await rejectionOf(sut.create({ ...input, ttlSeconds })),
          new RequestValidationError([
            { field: 'ttlSeconds', messages: ['ttlSeconds must be between 60 and 3600'] },
          ]),
        );
        expect(acquire).not.toHaveBeenCalled();
      },
    );

    it('a SKU listed twice is VALIDATION_FAILED', async () => {
      expectSameError(
        await rejectionOf(sut.create({ ...input, items: [ITEMS[0], ITEMS[0]] })),
        new RequestValidationError([
          { field: 'items.1.sku', messages: ['A appears twice; use one line per SKU'] },
        ]),
      );
      expect(tx.transactions).toBe(0);
    });
  });

  describe('confirm', () => {
    const order = { id: 'order-1' } as OrderRecord;

    it('a held hold becomes one order, in one transaction, under its locks', async () => {
      holds.find.mockResolvedValue(hold());
      holds.lockForDecision.mockImplementation(
        observed('decide', () => Promise.resolve(verdict())),
      );
      inventory.confirmHoldLines.mockImplementation(observed('lines', () => Promise.resolve(true)));
      coupons.confirmHeldUse.mockImplementation(
        observed('use', (_hold: string, _code: string, orderId: string) =>
          Promise.resolve(redemption(orderId)),
        ),
      );
      orders.recordFromHold.mockImplementation(observed('order', () => Promise.resolve(order)));
      holds.markConfirmed.mockImplementation(
        observed('mark', () => Promise.resolve({ kind: 'applied' as const, row: CREATED_AT })),
      );
      await expect(sut.confirm(HOLD_ID)).resolves.toBe(order);
      expect(seen.map(({ call }) => call)).toEqual(['decide', 'lines', 'use', 'order', 'mark']);
      expect(seen.map(({ keys, inTransaction }) => ({ keys, inTransaction }))).toEqual(
        Array.from({ length: 5 }, () => ({ keys: KEYS, inTransaction: true })),
      );
      expect(tx.transactions).toBe(1);
      const orderId = holds.markConfirmed.mock.calls[0]?.[1];
      expect(orderId).toMatch(UUID);
      expect(inventory.confirmHoldLines.mock.calls).toEqual([[HOLD_ID, ['A', 'B'], 2]]);
      expect(coupons.confirmHeldUse.mock.calls).toEqual([[HOLD_ID, 'SPRING', orderId]]);
      expect(orders.recordFromHold.mock.calls).toEqual([
        [
          {
            id: orderId,
            customerId: 'cust-1',
            couponId: 'c-1',
            couponCode: 'SPRING',
            redemptionId: 'r-1',
            subtotal: 3700,
            discountAmount: 370,
            lines: LINES,
          },
        ],
      ]);
    });

    it.each([
      ['expired by the database clock', { expired: true }, []],
      ['a line given back already', { reservedLines: 1 }, []],
    ])('%s: HOLD_EXPIRED, nothing moved', async (_, overrides, expectedCalls) => {
      holds.find.mockResolvedValue(hold());
      holds.lockForDecision.mockResolvedValue(verdict(overrides));
      expectSameError(
        await rejectionOf(sut.confirm(HOLD_ID)),
        new HoldExpiredError(HOLD_ID, EXPIRES_AT),
      );
      expect(inventory.confirmHoldLines.mock.calls).toEqual(expectedCalls);
    });

    it('every later step that finds the hold no longer whole throws HOLD_EXPIRED in the transaction', async () => {
      holds.find.mockResolvedValue(hold());
      holds.lockForDecision.mockResolvedValue(verdict());
      const expired = new HoldExpiredError(HOLD_ID, EXPIRES_AT);

      inventory.confirmHoldLines.mockResolvedValueOnce(false);
      expectSameError(await rejectionOf(sut.confirm(HOLD_ID)), expired);
      expect(coupons.confirmHeldUse).not.toHaveBeenCalled();

      inventory.confirmHoldLines.mockResolvedValue(true);
      coupons.confirmHeldUse.mockResolvedValueOnce(undefined);
      expectSameError(await rejectionOf(sut.confirm(HOLD_ID)), expired);
      expect(orders.recordFromHold).not.toHaveBeenCalled();

      coupons.confirmHeldUse.mockResolvedValue(redemption('o'));
      orders.recordFromHold.mockResolvedValue(order);
      holds.markConfirmed.mockResolvedValue({ kind: 'condition_failed', refusal: 'NOT_LIVE' });
      expectSameError(await rejectionOf(sut.confirm(HOLD_ID)), expired);
      expect(tx.transactions).toBe(3);
    });

    it('a hold settled meanwhile answers as settled', async () => {
      holds.find.mockResolvedValue(hold());
      holds.lockForDecision.mockResolvedValue(verdict({ status: 'confirmed', orderId: 'order-1' }));
      orders.get.mockResolvedValue(order);
      await expect(sut.confirm(HOLD_ID)).resolves.toBe(order);
      expect(orders.get.mock.calls).toEqual([['order-1']]);
      expect(inventory.confirmHoldLines).not.toHaveBeenCalled();
    });

    it.each([
      [
        'confirmed: its order (idempotent)',
        hold({ status: 'confirmed', orderId: 'order-1' }),
        null,
      ],
      ['cancelled', hold({ status: 'cancelled' }), new HoldCancelledError(HOLD_ID)],
      ['expired', hold({ status: 'expired' }), new HoldExpiredError(HOLD_ID, EXPIRES_AT)],
    ])('a hold already %s, without a lock', async (_, settled, expected) => {
      holds.find.mockResolvedValue(settled);
      orders.get.mockResolvedValue(order);
      const acquire = jest.spyOn(locks, 'acquire');
      if (expected) expectSameError(await rejectionOf(sut.confirm(HOLD_ID)), expected);
      else await expect(sut.confirm(HOLD_ID)).resolves.toBe(order);
      expect(acquire).not.toHaveBeenCalled();
    });

    it('an unknown hold is HOLD_NOT_FOUND', async () => {
      holds.find.mockResolvedValue(undefined);
      expectSameError(await rejectionOf(sut.confirm('nope')), new HoldNotFoundError('nope'));
    });
  });

  describe('cancel', () => {
    it('the cancellation that flips the hold gives its stock and coupon use back, and answers without a re-read', async () => {
      const endedAt = new Date('2026-01-02T03:04:05.678Z');
      holds.find.mockResolvedValueOnce(hold());
      holds.markCancelled.mockImplementation(
        observed('mark', () => Promise.resolve({ kind: 'applied' as const, row: endedAt })),
      );
      inventory.releaseHoldLines.mockImplementation(observed('lines', () => Promise.resolve(2)));
      coupons.releaseHeldUses.mockImplementation(observed('use', () => Promise.resolve(1)));
      await expect(sut.cancel(HOLD_ID)).resolves.toEqual(hold({ status: 'cancelled', endedAt }));
      expect(holds.find).toHaveBeenCalledTimes(1);
      expect(seen).toEqual([
        { call: 'mark', keys: KEYS, inTransaction: true },
        { call: 'lines', keys: KEYS, inTransaction: true },
        { call: 'use', keys: KEYS, inTransaction: true },
      ]);
      expect(inventory.releaseHoldLines.mock.calls).toEqual([[[HOLD_ID], ['A', 'B']]]);
      expect(coupons.releaseHeldUses.mock.calls).toEqual([[[HOLD_ID], ['SPRING']]]);
    });

    it.each([
      [
        'confirmed',
        hold({ status: 'confirmed', orderId: 'order-1' }),
        new HoldConfirmedError(HOLD_ID, 'order-1'),
      ],
      ['expired', hold({ status: 'expired' }), new HoldExpiredError(HOLD_ID, EXPIRES_AT)],
    ])('a cancellation that lost the race to %s gives nothing back', async (_, now, expected) => {
      holds.find.mockResolvedValueOnce(hold()).mockResolvedValueOnce(now);
      holds.markCancelled.mockResolvedValue({ kind: 'condition_failed', refusal: 'NOT_LIVE' });
      expectSameError(await rejectionOf(sut.cancel(HOLD_ID)), expected);
      expect(inventory.releaseHoldLines).not.toHaveBeenCalled();
      expect(coupons.releaseHeldUses).not.toHaveBeenCalled();
    });

    it('a cancelled hold is the answer as it is (idempotent), without a lock', async () => {
      const cancelled = hold({ status: 'cancelled' });
      holds.find.mockResolvedValue(cancelled);
      const acquire = jest.spyOn(locks, 'acquire');
      await expect(sut.cancel(HOLD_ID)).resolves.toBe(cancelled);
      expect(acquire).not.toHaveBeenCalled();
    });
  });

  describe('sweep', () => {
    const expired = [
      { id: 'h-1', couponCode: 'SPRING', skus: ['A', 'B'] },
      { id: 'h-2', couponCode: null, skus: ['B', 'C'] },
      { id: 'h-3', couponCode: 'SPRING', skus: ['D'] },
    ];

    it('nothing expired: no lock, no transaction', async () => {
      holds.findExpired.mockResolvedValue([]);
      const acquire = jest.spyOn(locks, 'acquire');
      await expect(sut.sweep(50)).resolves.toBe(0);
      expect(holds.findExpired.mock.calls).toEqual([[50]]);
      expect(acquire).not.toHaveBeenCalled();
    });

    it('releases only the holds this call claimed, under the locks of every key, once each', async () => {
      holds.findExpired.mockResolvedValue(expired);
      holds.claimExpired.mockImplementation(
        observed('claim', () => Promise.resolve(['h-1', 'h-2'])),
      );
      inventory.releaseHoldLines.mockResolvedValue(4);
      coupons.releaseHeldUses.mockResolvedValue(1);
      await expect(sut.sweep(50)).resolves.toBe(2);
      expect(seen).toEqual([
        {
          call: 'claim',
          keys: ['coupon:SPRING', 'sku:A', 'sku:B', 'sku:C', 'sku:D'],
          inTransaction: true,
        },
      ]);
      expect(holds.claimExpired.mock.calls).toEqual([[['h-1', 'h-2', 'h-3']]]);
      expect(inventory.releaseHoldLines.mock.calls).toEqual([
        [
          ['h-1', 'h-2'],
          ['A', 'B', 'C'],
        ],
      ]);
      expect(coupons.releaseHeldUses.mock.calls).toEqual([[['h-1', 'h-2'], ['SPRING']]]);
    });

    it('holds another instance claimed first are not released twice', async () => {
      holds.findExpired.mockResolvedValue(expired);
      holds.claimExpired.mockResolvedValue([]);
      await expect(sut.sweep(50)).resolves.toBe(0);
      expect(inventory.releaseHoldLines).not.toHaveBeenCalled();
      expect(coupons.releaseHeldUses).not.toHaveBeenCalled();
    });
  });
});

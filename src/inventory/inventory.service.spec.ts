import { AppConfig } from '../config/app-config';
import { currentLock, type LockService } from '@couponlock/lock';
import {
  expectSameError,
  newTestService,
  rejectionOf,
  runWorkInline,
  type TestService,
} from '../../test/support/service-mocks';
import { MAX_STOCK } from '../common/dto/validation-patterns';
import { InvalidCursorError } from '../common/errors/domain-error';
import { StaleFenceError } from '../common/errors/stale-fence';
import { GuardedWrites } from '../database/guarded-writes';
import { TransactionRunner } from '../database/transaction-runner';
import { FencingMetrics } from '../metrics/fencing.metrics';
import { StrategyMetrics } from '../metrics/strategy.metrics';
import { ProductEntity } from './entities/product.entity';
import {
  InsufficientStockError,
  ProductNotFoundError,
  SkuTakenError,
  StockLimitExceededError,
} from './inventory.errors';
import {
  InventoryRepository,
  type MovementRecord,
  type StockLine,
  type StockRefusal,
  stockRefusal,
} from './inventory.repository';
import { InventoryService } from './inventory.service';

const PRODUCT_ID = '42';

function product(overrides: Partial<ProductEntity> = {}): ProductEntity {
  return Object.assign(new ProductEntity(), {
    id: PRODUCT_ID,
    sku: 'MUG',
    name: 'Mug',
    priceAmount: 1500,
    initialStock: 10,
    stock: 10,
    reserved: 0,
    lastFence: '0',
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  });
}

/** A line of a refused change; `available` 3 of stock 5. */
function line(sku: string, refusal: StockRefusal | null, quantity = 4): StockLine {
  return { sku, quantity, refusal, stock: 5, available: 3, version: '9', fromSnapshot: true };
}

function taken(sku: string, quantity: number, stock: number) {
  return { productId: PRODUCT_ID, sku, priceAmount: 1500, quantity, stock };
}

describe(InventoryService.name, () => {
  let test: TestService<InventoryService>;
  let sut: InventoryService;
  let locks: LockService;
  let inventory: jest.Mocked<InventoryRepository>;

  beforeEach(async () => {
    test = await newTestService(InventoryService, [
      // Real, so that the service reaches the mocks below through it as in the app.
      GuardedWrites,
      // The default strategy: decrement under the SKU lock (see the strategy specs for others),
      // with combining.
      {
        provide: AppConfig,
        useValue: { get: (key: string) => (key === 'COMBINING_MAX_BATCH' ? 64 : 'locked') },
      },
    ]);
    ({ sut, locks } = test);
    inventory = test.mock(InventoryRepository);
    runWorkInline(test.mock(TransactionRunner));
    test.mock(FencingMetrics).staleFence.mockImplementation((key) => new StaleFenceError(key));
    test.mock(StrategyMetrics).combined.mockReturnValue(undefined);
  });

  afterEach(() => test.close());

  /** Runs `work` holding the locks of these SKUs, as an order does (first lock: fence '1'). */
  const holding = <T>(skus: string[], work: () => Promise<T>) =>
    locks.withLock(
      skus.map((sku) => `sku:${sku}`),
      work,
    );

  describe('decrement: combined batches (locked)', () => {
    const STATE = {
      productId: PRODUCT_ID,
      sku: 'MUG',
      stock: 5,
      reserved: 1,
      version: '9',
      lastFence: '0',
    };

    /** Decrements these quantities while the SKU lock is held, so that they form one batch. */
    async function asOneBatch(quantities: number[]) {
      const held = await locks.acquire('sku:MUG');
      const answers = quantities.map((quantity, i) =>
        sut.decrement('MUG', quantity, `ref-${i}`).then(
          (view) => ({ ok: true, view }),
          (error: unknown) => ({ ok: false, error }),
        ),
      );
      await new Promise((resolve) => setImmediate(resolve));
      await held.release();
      return Promise.all(answers);
    }

    it('takes in order while stock lasts; each answer is the stock after it, or what was left', async () => {
      inventory.readForBatch.mockResolvedValue(STATE);
      inventory.reclaimExpiredLines.mockResolvedValue({
        kind: 'applied',
        row: { lines: 0, versions: [] },
      });
      inventory.decrementDecidedBatch.mockResolvedValue({ kind: 'applied', row: { stock: 1 } });
      const answers = await asOneBatch([2, 3, 1, 2]);
      // Two were refused while 1 unit is reserved: expired holds were asked once, found none.
      expect(inventory.reclaimExpiredLines).toHaveBeenCalledTimes(1);
      expect(answers).toEqual([
        { ok: true, view: { sku: 'MUG', stock: 3 } },
        { ok: false, error: new InsufficientStockError('MUG', 2, 3) },
        { ok: true, view: { sku: 'MUG', stock: 2 } },
        { ok: false, error: new InsufficientStockError('MUG', 1, 2) },
      ]);
      expect(inventory.decrementDecidedBatch.mock.calls).toEqual([
        [
          {
            productId: PRODUCT_ID,
            expectedVersion: '9',
            fence: '2',
            decrements: [
              { quantity: 2, reference: 'ref-0' },
              { quantity: 1, reference: 'ref-2' },
            ],
          },
        ],
      ]);
      expect(inventory.decrement).not.toHaveBeenCalled();
    });

    it('a stale fence fails the whole batch with STALE_FENCE and writes nothing', async () => {
      inventory.readForBatch.mockResolvedValue({ ...STATE, lastFence: '7' });
      const answers = await asOneBatch([1, 1]);
      expect(answers).toEqual([
        { ok: false, error: new StaleFenceError('sku:MUG') },
        { ok: false, error: new StaleFenceError('sku:MUG') },
      ]);
      expect(inventory.decrementDecidedBatch).not.toHaveBeenCalled();
    });

    it('a constraint refusing the batch sends each decrement through its own statement', async () => {
      inventory.readForBatch.mockResolvedValue({ ...STATE, reserved: 0 });
      inventory.decrementDecidedBatch.mockResolvedValue({
        kind: 'constraint_violated',
        constraint: 'products_stock_non_negative',
      });
      inventory.decrement
        .mockResolvedValueOnce({ kind: 'applied', row: [taken('MUG', 1, 4)] })
        .mockResolvedValueOnce({ kind: 'applied', row: [taken('MUG', 1, 3)] });
      const answers = await asOneBatch([1, 1]);
      expect(answers).toEqual([
        { ok: true, view: { sku: 'MUG', stock: 4 } },
        { ok: true, view: { sku: 'MUG', stock: 3 } },
      ]);
      expect(inventory.decrement).toHaveBeenCalledTimes(2);
    });
  });

  describe('create and get', () => {
    it('a taken SKU is SKU_TAKEN', async () => {
      inventory.insert
        .mockResolvedValueOnce({ kind: 'applied', row: product() })
        .mockResolvedValueOnce({ kind: 'condition_failed', refusal: 'SKU_TAKEN' });
      const input = { sku: 'MUG', name: 'Mug', priceAmount: 1500, stock: 10 };
      await expect(sut.create(input)).resolves.toEqual(product());
      expectSameError(await rejectionOf(sut.create(input)), new SkuTakenError('MUG'));
      expect(inventory.insert.mock.calls).toEqual([[input], [input]]);
    });

    it('an unknown SKU is PRODUCT_NOT_FOUND', async () => {
      inventory.findBySku.mockResolvedValue(undefined);
      expectSameError(await rejectionOf(sut.get('NOPE')), new ProductNotFoundError('NOPE'));
    });
  });

  describe('decrement', () => {
    it('decrements under the SKU lock, with its fence, and answers the stock after', async () => {
      inventory.decrement.mockImplementation(() => {
        expect(currentLock()?.keys).toEqual(['sku:MUG']);
        return Promise.resolve({ kind: 'applied', row: [taken('MUG', 2, 8)] });
      });
      await expect(sut.decrement('MUG', 2, 'ref-1')).resolves.toEqual({ sku: 'MUG', stock: 8 });
      expect(inventory.decrement.mock.calls).toEqual([
        [[{ sku: 'MUG', quantity: 2, fence: '1' }], 'decrement', 'ref-1'],
      ]);
    });

    it('a decrement without a reference records null', async () => {
      inventory.decrement.mockResolvedValue({ kind: 'applied', row: [taken('MUG', 1, 9)] });
      await sut.decrement('MUG', 1);
      expect(inventory.decrement.mock.calls[0]?.[2]).toBeNull();
    });
  });

  describe('each refusal of the statement becomes its domain error, in precedence order', () => {
    it.each([
      [
        'an unknown SKU before anything else',
        [line('A', 'STALE_FENCE'), line('B', 'INSUFFICIENT_STOCK'), line('C', 'PRODUCT_NOT_FOUND')],
        new ProductNotFoundError('C'),
      ],
      [
        'a stale fence before a shortage',
        [line('A', 'INSUFFICIENT_STOCK'), line('B', 'STALE_FENCE')],
        new StaleFenceError('sku:B'),
      ],
      [
        'the first short line, with what is available',
        [line('A', null), line('B', 'INSUFFICIENT_STOCK', 4), line('C', 'INSUFFICIENT_STOCK', 9)],
        new InsufficientStockError('B', 3, 4),
      ],
    ])('%s', async (_, lines, expected) => {
      // A shortage first asks for expired holds' stock: none here.
      inventory.reclaimExpiredLines.mockResolvedValue({
        kind: 'applied',
        row: { lines: 0, versions: [] },
      });
      // The repository's verdict from the statement's lines (see stockRefusal).
      inventory.decrement.mockResolvedValue(stockRefusal(lines));
      const skus = lines.map((refused) => refused.sku);
      const error = await rejectionOf(
        holding(skus, () =>
          sut.decrementForOrder(
            'order-1',
            skus.map((sku) => ({ sku, quantity: 4 })),
          ),
        ),
      );
      expectSameError(error, expected);
      expect(inventory.decrement).toHaveBeenCalledTimes(1);
    });

    it('restocking above the limit is STOCK_LIMIT_EXCEEDED', async () => {
      inventory.restock.mockResolvedValue({
        kind: 'condition_failed',
        lines: [line('MUG', 'STOCK_LIMIT_EXCEEDED')],
      });
      expectSameError(
        await rejectionOf(sut.restock('MUG', 4)),
        new StockLimitExceededError('MUG', MAX_STOCK),
      );
      expect(inventory.restock.mock.calls).toEqual([
        [[{ sku: 'MUG', quantity: 4, fence: '1' }], 'restock', null],
      ]);
    });

    it('a refusal without a reason is a bug, not a domain error', async () => {
      inventory.restock.mockResolvedValue({ kind: 'condition_failed', lines: [line('MUG', null)] });
      const error = await rejectionOf(sut.restock('MUG', 4));
      expect(error).toEqual(new Error('stock change of MUG was refused'));
      expect(error).not.toHaveProperty('code');
    });
  });

  describe('a shortage first reclaims the stock of expired holds', () => {
    const lines = [
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 4 },
    ];

    it('on the short SKUs only, then asks once more', async () => {
      inventory.decrement
        .mockResolvedValueOnce({
          kind: 'condition_failed',
          lines: [line('A', null, 1), line('B', 'INSUFFICIENT_STOCK')],
        })
        .mockResolvedValueOnce({ kind: 'applied', row: [taken('A', 1, 4), taken('B', 4, 0)] });
      inventory.reclaimExpiredLines.mockResolvedValue({
        kind: 'applied',
        row: { lines: 1, versions: [] },
      });
      await expect(
        holding(['A', 'B'], () => sut.decrementForOrder('order-1', lines)),
      ).resolves.toEqual([taken('A', 1, 4), taken('B', 4, 0)]);
      const changes = [
        { sku: 'A', quantity: 1, fence: '1' },
        { sku: 'B', quantity: 4, fence: '1' },
      ];
      expect(inventory.reclaimExpiredLines.mock.calls).toEqual([[[changes[1]]]]);
      expect(inventory.decrement.mock.calls).toEqual([
        [changes, 'order_placed', 'order-1'],
        [changes, 'order_placed', 'order-1'],
      ]);
    });

    it('when nothing was reclaimed, the first refusal stands', async () => {
      inventory.decrement.mockResolvedValue({
        kind: 'condition_failed',
        lines: [line('B', 'INSUFFICIENT_STOCK')],
      });
      inventory.reclaimExpiredLines.mockResolvedValue({
        kind: 'applied',
        row: { lines: 0, versions: [] },
      });
      expectSameError(
        await rejectionOf(holding(['B'], () => sut.decrementForOrder('order-1', [lines[1]]))),
        new InsufficientStockError('B', 3, 4),
      );
      expect(inventory.decrement).toHaveBeenCalledTimes(1);
    });

    it('a stale fence while reclaiming is STALE_FENCE', async () => {
      inventory.reserve.mockResolvedValue({
        kind: 'condition_failed',
        lines: [line('B', 'INSUFFICIENT_STOCK')],
      });
      inventory.reclaimExpiredLines.mockResolvedValue({ kind: 'stale_fence' });
      expectSameError(
        await rejectionOf(holding(['B'], () => sut.reserveForHold('hold-1', [lines[1]]))),
        new StaleFenceError('sku:B'),
      );
      expect(inventory.reserve.mock.calls).toEqual([
        [[{ sku: 'B', quantity: 4, fence: '1' }], 'hold-1'],
      ]);
    });

    it('not when a line is also stale: the writer must not judge stock it no longer owns', async () => {
      inventory.decrement.mockResolvedValue(
        stockRefusal([line('A', 'STALE_FENCE', 1), line('B', 'INSUFFICIENT_STOCK')]),
      );
      expectSameError(
        await rejectionOf(holding(['A', 'B'], () => sut.decrementForOrder('order-1', lines))),
        new StaleFenceError('sku:A'),
      );
      expect(inventory.reclaimExpiredLines).not.toHaveBeenCalled();
    });
  });

  describe('order and hold lines (inside the caller lock)', () => {
    it('refuse to write stock without the SKU lock, and call nothing', async () => {
      const error = await rejectionOf(
        sut.decrementForOrder('order-1', [{ sku: 'A', quantity: 1 }]),
      );
      expect(error).toEqual(new Error('stock of A changed without holding sku:A'));
      // Under a lock that does not cover the SKU, the lock itself refuses to give a fence.
      const other = await rejectionOf(
        holding(['A'], () => sut.restockForOrder('order-1', [{ sku: 'B', quantity: 1 }])),
      );
      expect(other).toBeInstanceOf(RangeError);
      expect(other).toEqual(new RangeError('key "sku:B" is not part of this lock'));
      expect(inventory.decrement).not.toHaveBeenCalled();
      expect(inventory.restock).not.toHaveBeenCalled();
    });

    it('restockForOrder gives every line back with its own fence', async () => {
      inventory.restock.mockResolvedValue({ kind: 'applied', row: [] });
      await locks.withLock('sku:A', () => Promise.resolve()); // sku:A's next fence is 2
      await holding(['A', 'B'], () =>
        sut.restockForOrder('order-1', [
          { sku: 'A', quantity: 1 },
          { sku: 'B', quantity: 2 },
        ]),
      );
      expect(inventory.restock.mock.calls).toEqual([
        [
          [
            { sku: 'A', quantity: 1, fence: '2' },
            { sku: 'B', quantity: 2, fence: '1' },
          ],
          'order_cancelled',
          'order-1',
        ],
      ]);
    });

    it('releaseHoldLines: nothing without holds; STALE_FENCE names the first SKU', async () => {
      await expect(sut.releaseHoldLines([], ['A'])).resolves.toBe(0);
      inventory.releaseHoldLines
        .mockResolvedValueOnce({ kind: 'applied', row: { lines: 2, versions: [] } })
        .mockResolvedValueOnce({ kind: 'stale_fence' });
      const release = () => holding(['A', 'B'], () => sut.releaseHoldLines(['hold-1'], ['A', 'B']));
      await expect(release()).resolves.toBe(2);
      expectSameError(await rejectionOf(release()), new StaleFenceError('sku:A'));
      expect(inventory.releaseHoldLines.mock.calls[0]).toEqual([
        ['hold-1'],
        [
          { sku: 'A', fence: '1' },
          { sku: 'B', fence: '1' },
        ],
      ]);
    });

    it('confirmHoldLines is false when a line was given back meanwhile (the hold expired)', async () => {
      inventory.confirmHoldLines
        .mockResolvedValueOnce({ kind: 'applied', row: { lines: 2, versions: [] } })
        .mockResolvedValueOnce({ kind: 'applied', row: { lines: 1, versions: [] } })
        .mockResolvedValueOnce({ kind: 'stale_fence' });
      const confirm = () =>
        holding(['A', 'B'], () => sut.confirmHoldLines('hold-1', ['A', 'B'], 2));
      await expect(confirm()).resolves.toBe(true);
      await expect(confirm()).resolves.toBe(false);
      expectSameError(await rejectionOf(confirm()), new StaleFenceError('sku:A'));
    });
  });

  describe('movements: the cursor', () => {
    const movement = (id: string): MovementRecord => ({
      id,
      sku: 'MUG',
      delta: -1,
      reservedDelta: 0,
      reason: 'decrement',
      reference: null,
      fence: '1',
      createdAt: new Date('2026-01-01T00:00:00Z'),
    });

    beforeEach(() => {
      inventory.findBySku.mockResolvedValue(product());
    });

    it('reads one row more than the page: the extra row means another page follows', async () => {
      inventory.movements
        .mockResolvedValueOnce([movement('7'), movement('9'), movement('12')])
        .mockResolvedValueOnce([movement('12'), movement('15')]);
      await expect(sut.movements('MUG', { limit: 2 })).resolves.toEqual({
        records: [movement('7'), movement('9')],
        nextCursor: '9',
      });
      // An exactly full last page ends the ledger too.
      await expect(sut.movements('MUG', { limit: 2, cursor: '9' })).resolves.toEqual({
        records: [movement('12'), movement('15')],
        nextCursor: null,
      });
      expect(inventory.movements.mock.calls).toEqual([
        [PRODUCT_ID, 3, undefined],
        [PRODUCT_ID, 3, '9'],
      ]);
    });

    it('the default page is 100 (101 rows read)', async () => {
      inventory.movements.mockResolvedValue([]);
      await sut.movements('MUG', {});
      expect(inventory.movements.mock.calls).toEqual([[PRODUCT_ID, 101, undefined]]);
    });

    it.each(['', 'abc', '-1', '1.5', '0x10', '1'.repeat(19), ' 9'])(
      'cursor %j is INVALID_CURSOR and reads nothing',
      async (cursor) => {
        expectSameError(
          await rejectionOf(sut.movements('MUG', { cursor })),
          new InvalidCursorError(),
        );
        expect(inventory.movements).not.toHaveBeenCalled();
      },
    );

    it('an unknown SKU is PRODUCT_NOT_FOUND, whatever the cursor', async () => {
      inventory.findBySku.mockResolvedValue(undefined);
      expectSameError(
        await rejectionOf(sut.movements('NOPE', { cursor: 'abc' })),
        new ProductNotFoundError('NOPE'),
      );
    });
  });
});

import { currentLock, type LockService } from '@couponlock/lock';
import {
  expectSameError,
  newTestService,
  rejectionOf,
  runWorkInline,
  type TestService,
} from '../../test/support/service-mocks';
import { InvalidCursorError, RequestValidationError } from '../common/errors/domain-error';
import { StaleFenceError } from '../common/errors/stale-fence';
import { AppConfig } from '../config/app-config';
import { GuardedWrites } from '../database/guarded-writes';
import { CommitOutcomeUnknownError } from '../database/database-faults';
import { TransactionRunner } from '../database/transaction-runner';
import { FencingMetrics } from '../metrics/fencing.metrics';
import { INVARIANTS, StrategyMetrics } from '../metrics/strategy.metrics';
import {
  CouponsRepository,
  type CouponFacts,
  type RedeemRefusal,
  type RedemptionRecord,
} from './coupons.repository';
import {
  AlreadyRedeemedError,
  CouponCodeTakenError,
  CouponExhaustedError,
  CouponExpiredError,
  CouponInactiveError,
  CouponNotFoundError,
  CouponNotStartedError,
  CustomerLimitReachedError,
  LimitBelowUsageError,
  MinOrderNotMetError,
  RedemptionHeldByOrderError,
  RedemptionNotFoundError,
} from './coupons.errors';
import { CouponsService, type RedeemInput, type RedeemStrategy } from './coupons.service';
import { CouponEntity } from './entities/coupon.entity';
import { RedemptionEntity } from './entities/redemption.entity';

const REDEMPTION_ID = '5a0f3c1e-8d2b-4c6a-9e7f-0123456789ab';
const COUPON_ID = '11111111-2222-4333-8444-555555555555';
const STARTS_AT = new Date('2030-01-01T00:00:00Z');
const EXPIRES_AT = new Date('2020-01-01T00:00:00Z');
/** The fence of the first lock of a key on a fresh memory store (see newTestService). */
const FIRST_FENCE = '1';

/** What the storefront sends; the code as typed, before canonicalisation. */
const INPUT: RedeemInput = {
  code: ' spring ',
  customerId: 'cust-1',
  orderId: 'order-1',
  orderAmount: 5000,
};

function record(overrides: Partial<RedemptionEntity> = {}): RedemptionRecord {
  const redemption = Object.assign(new RedemptionEntity(), {
    id: REDEMPTION_ID,
    couponId: COUPON_ID,
    customerId: 'cust-1',
    orderId: 'order-1',
    orderAmount: 5000,
    discountAmount: 500,
    status: 'active',
    fence: FIRST_FENCE,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    releasedAt: null,
    ...overrides,
  });
  return { redemption, couponCode: 'SPRING' };
}

function facts(overrides: Partial<CouponFacts> = {}): CouponFacts {
  return {
    code: 'SPRING',
    startsAt: STARTS_AT,
    expiresAt: EXPIRES_AT,
    minOrderAmount: 8000,
    existingRedemptionId: REDEMPTION_ID,
    ...overrides,
  };
}

function coupon(overrides: Partial<CouponEntity> = {}): CouponEntity {
  return Object.assign(new CouponEntity(), {
    id: COUPON_ID,
    code: 'SPRING',
    discountType: 'percent',
    discountValue: 10,
    maxRedemptions: 100,
    perCustomerLimit: 1,
    minOrderAmount: 0,
    startsAt: null,
    expiresAt: null,
    active: true,
    redeemedCount: 7,
    heldCount: 3,
    lastFence: '0',
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  });
}

/** The command the repository must receive for INPUT, with this fence. */
function command(fence: string | null) {
  return { code: 'SPRING', customerId: 'cust-1', orderId: 'order-1', orderAmount: 5000, fence };
}

function configWith(strategy: RedeemStrategy): AppConfig {
  const values: Partial<Record<string, unknown>> = {
    COUPON_REDEEM_STRATEGY: strategy,
    COMBINING_MAX_BATCH: 64,
  };
  return { get: (key: string) => values[key] } as unknown as AppConfig;
}

describe(CouponsService.name, () => {
  let test: TestService<CouponsService> | undefined;
  let sut: CouponsService;
  let locks: LockService;
  let coupons: jest.Mocked<CouponsRepository>;
  let db: jest.Mocked<TransactionRunner>;
  let fencing: jest.Mocked<FencingMetrics>;
  let strategies: jest.Mocked<StrategyMetrics>;

  /** (Re)builds the service with this configured strategy. */
  async function build(strategy: RedeemStrategy = 'locked'): Promise<void> {
    await test?.close();
    test = await newTestService(CouponsService, [
      // Real, so that the service reaches the mocks below through it as in the app.
      GuardedWrites,
      { provide: AppConfig, useValue: configWith(strategy) },
    ]);
    sut = test.sut;
    locks = test.locks;
    coupons = test.mock(CouponsRepository);
    db = test.mock(TransactionRunner);
    fencing = test.mock(FencingMetrics);
    // A constraint refusal is a backstop firing; the real StrategyMetrics says it counted one.
    strategies = test.mock(StrategyMetrics);
    strategies.backstop.mockImplementation((_strategy, resource, constraint) =>
      INVARIANTS[resource].includes(constraint),
    );
    strategies.combined.mockReturnValue(undefined);
    runWorkInline(db);
    fencing.staleFence.mockImplementation((key) => new StaleFenceError(key));
  }

  beforeEach(() => build());
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  describe('redeem: strategy dispatch', () => {
    it('locked (the default): under the coupon lock, with its fence', async () => {
      const locksSeen: unknown[] = [];
      coupons.redeem.mockImplementation((cmd) => {
        locksSeen.push({ keys: currentLock()?.keys, reentrant: currentLock()?.reentrant });
        expect(cmd).toEqual(command(FIRST_FENCE));
        return Promise.resolve({ kind: 'applied', row: record() });
      });
      await expect(sut.redeem(INPUT)).resolves.toEqual(record());
      expect(coupons.redeem).toHaveBeenCalledTimes(1);
      expect(locksSeen).toEqual([{ keys: ['coupon:SPRING'], reentrant: false }]);
    });

    it('atomic: the conditional statement alone, no lock and no fence', async () => {
      await build('atomic');
      const lock = jest.spyOn(locks, 'withLock');
      coupons.redeem.mockImplementation(() => {
        expect(currentLock()).toBeUndefined();
        return Promise.resolve({ kind: 'applied', row: record({ fence: null }) });
      });
      await expect(sut.redeem(INPUT)).resolves.toEqual(record({ fence: null }));
      expect(coupons.redeem.mock.calls).toEqual([[command(null)]]);
      expect(lock).not.toHaveBeenCalled();
    });

    it('a per-call strategy overrides the configured one, both ways', async () => {
      coupons.redeem.mockResolvedValue({ kind: 'applied', row: record() });
      await sut.redeem(INPUT, 'atomic');
      expect(coupons.redeem.mock.calls).toEqual([[command(null)]]);
      await build('atomic');
      coupons.redeem.mockResolvedValue({ kind: 'applied', row: record() });
      await sut.redeem(INPUT, 'locked');
      expect(coupons.redeem.mock.calls).toEqual([[command(FIRST_FENCE)]]);
    });

    it('atomic inside a lock that holds the coupon (an order) re-enters it and writes with its fence', async () => {
      await build('atomic');
      coupons.redeem.mockImplementation((cmd) => {
        expect(currentLock()?.reentrant).toBe(true);
        expect(cmd.fence).toBe(FIRST_FENCE);
        return Promise.resolve({ kind: 'applied', row: record() });
      });
      await locks.withLock(['sku:A', 'coupon:SPRING'], () => sut.redeem(INPUT));
      expect(coupons.redeem).toHaveBeenCalledTimes(1);
    });
  });

  describe('redeem: combined batches (locked)', () => {
    const INPUTS: RedeemInput[] = ['a', 'b', 'c'].map((n) => ({
      code: 'spring',
      customerId: `cust-${n}`,
      orderId: `order-${n}`,
      orderAmount: 5000,
    }));

    function snapshot(overrides: Partial<CouponEntity> = {}) {
      return {
        coupon: coupon({ redeemedCount: 0, heldCount: 0, version: '4', ...overrides }),
        customerUses: new Map<string, number>(),
        activeRedemptions: new Map<string, string>(),
        now: new Date('2026-06-01T00:00:00Z'),
      };
    }

    /** Redeems INPUTS while the coupon lock is held, so that they form one batch. */
    async function asOneBatch(): Promise<Array<{ ok: boolean; error?: unknown }>> {
      const held = await locks.acquire('coupon:SPRING');
      const answers = INPUTS.map((input) =>
        sut.redeem(input).then(
          () => ({ ok: true }),
          (error: unknown) => ({ ok: false, error }),
        ),
      );
      await new Promise((resolve) => setImmediate(resolve));
      await held.release();
      return Promise.all(answers);
    }

    it('a stale fence on the coupon fails the whole batch with STALE_FENCE and writes nothing', async () => {
      coupons.readForBatch.mockResolvedValue(snapshot({ lastFence: '999' }));
      const answers = await asOneBatch();
      expect(answers.map((a) => a.error)).toEqual(
        INPUTS.map(() => new StaleFenceError('coupon:SPRING')),
      );
      expect(coupons.writeDecidedBatch).not.toHaveBeenCalled();
      expect(fencing.staleFence).toHaveBeenCalledTimes(3);
      // One lock hold took all three (couponlock_combined_batch_size).
      expect(strategies.combined.mock.calls).toEqual([['coupon', 3]]);
    });

    it('the write finding a newer fence fails the whole batch with STALE_FENCE', async () => {
      coupons.readForBatch.mockResolvedValue(snapshot());
      coupons.writeDecidedBatch.mockResolvedValue({ kind: 'stale_fence' });
      const answers = await asOneBatch();
      expect(answers.map((a) => a.error)).toEqual(
        INPUTS.map(() => new StaleFenceError('coupon:SPRING')),
      );
      expect(coupons.redeem).not.toHaveBeenCalled();
    });

    it('a version that moved is read and judged again; then, one statement each', async () => {
      coupons.readForBatch.mockResolvedValue(snapshot());
      coupons.writeDecidedBatch.mockResolvedValue({
        kind: 'condition_failed',
        refusal: 'VERSION_MOVED',
      });
      coupons.redeem.mockResolvedValue({ kind: 'applied', row: record() });
      const answers = await asOneBatch();
      expect(answers).toEqual(INPUTS.map(() => ({ ok: true })));
      expect(coupons.readForBatch).toHaveBeenCalledTimes(3);
      expect(coupons.redeem.mock.calls.map(([cmd]) => [cmd.customerId, cmd.fence])).toEqual([
        ['cust-a', '2'],
        ['cust-b', '2'],
        ['cust-c', '2'],
      ]);
    });

    it('a constraint refusing the batch sends each request through its own statement', async () => {
      coupons.readForBatch.mockResolvedValue(snapshot());
      coupons.writeDecidedBatch.mockResolvedValue({
        kind: 'constraint_violated',
        constraint: 'redemptions_one_active_per_order',
      });
      coupons.redeem
        .mockResolvedValueOnce({ kind: 'applied', row: record() })
        .mockResolvedValueOnce({
          kind: 'condition_failed',
          refusal: 'ALREADY_REDEEMED',
          coupon: facts({ existingRedemptionId: REDEMPTION_ID }),
        })
        .mockResolvedValueOnce({ kind: 'applied', row: record() });
      const answers = await asOneBatch();
      expect(answers[0]).toEqual({ ok: true });
      expect(answers[1]?.error).toBeInstanceOf(AlreadyRedeemedError);
      expect(answers[2]).toEqual({ ok: true });
      expect(coupons.readForBatch).toHaveBeenCalledTimes(1);
      expect(coupons.redeem).toHaveBeenCalledTimes(3);
    });

    it('a lost answer to the batch commit is COMMIT_OUTCOME_UNKNOWN for every member', async () => {
      coupons.readForBatch.mockResolvedValue(snapshot());
      coupons.writeDecidedBatch.mockRejectedValue(new CommitOutcomeUnknownError());
      const answers = await asOneBatch();
      expect(answers.map((a) => a.error)).toEqual(
        INPUTS.map(() => new CommitOutcomeUnknownError()),
      );
      expect(coupons.redeem).not.toHaveBeenCalled();
      // The write ran as a change: that is where a lost answer to the commit becomes UNKNOWN.
      expect(db.change).toHaveBeenCalledTimes(1);
    });

    it("an error from one request's data sends the batch one by one, where only it fails", async () => {
      coupons.readForBatch.mockResolvedValue(snapshot());
      const bad = new Error('invalid byte sequence for encoding "UTF8": 0x00');
      coupons.writeDecidedBatch.mockRejectedValue(bad);
      coupons.redeem
        .mockResolvedValueOnce({ kind: 'applied', row: record() })
        .mockRejectedValueOnce(bad)
        .mockResolvedValueOnce({ kind: 'applied', row: record() });
      const answers = await asOneBatch();
      expect(answers).toEqual([{ ok: true }, { ok: false, error: bad }, { ok: true }]);
    });

    it('an Idempotency-Key request is never combined: it takes the lock on its own', async () => {
      Object.defineProperty(db, 'hasParticipant', { get: () => true });
      coupons.redeem.mockResolvedValue({ kind: 'applied', row: record() });
      const answers = await asOneBatch();
      expect(answers).toEqual(INPUTS.map(() => ({ ok: true })));
      expect(coupons.readForBatch).not.toHaveBeenCalled();
      expect(coupons.redeem).toHaveBeenCalledTimes(3);
    });
  });

  describe('redeem: each refusal of the statement becomes its domain error', () => {
    const cases: Array<[RedeemRefusal, Error]> = [
      ['ALREADY_REDEEMED', new AlreadyRedeemedError('SPRING', 'order-1', REDEMPTION_ID)],
      ['COUPON_INACTIVE', new CouponInactiveError('SPRING')],
      ['COUPON_NOT_STARTED', new CouponNotStartedError('SPRING', STARTS_AT)],
      ['COUPON_EXPIRED', new CouponExpiredError('SPRING', EXPIRES_AT)],
      ['MIN_ORDER_NOT_MET', new MinOrderNotMetError('SPRING', 8000, 5000)],
      ['STALE_FENCE', new StaleFenceError('coupon:SPRING')],
    ];

    it.each(cases)('%s', async (refusal, expected) => {
      coupons.redeem.mockResolvedValue(
        refusal === 'STALE_FENCE'
          ? { kind: 'stale_fence' }
          : { kind: 'condition_failed', refusal, coupon: facts() },
      );
      expectSameError(await rejectionOf(sut.redeem(INPUT)), expected);
      expect(coupons.redeem.mock.calls).toEqual([[command(FIRST_FENCE)]]);
      expect(fencing.staleFence.mock.calls).toEqual(
        refusal === 'STALE_FENCE' ? [['coupon:SPRING']] : [],
      );
    });

    it.each([
      ['COUPON_EXHAUSTED', new CouponExhaustedError('SPRING')],
      ['CUSTOMER_LIMIT_REACHED', new CustomerLimitReachedError('SPRING', 'cust-1')],
    ] as const)(
      '%s, after giving back the uses of expired holds found none',
      async (refusal, expected) => {
        coupons.redeem.mockResolvedValue({ kind: 'condition_failed', refusal, coupon: facts() });
        coupons.reclaimExpiredUses.mockResolvedValue({
          kind: 'applied',
          row: { count: 0, versions: [] },
        });
        expectSameError(await rejectionOf(sut.redeem(INPUT)), expected);
        expect(coupons.reclaimExpiredUses.mock.calls).toEqual([
          [[{ code: 'SPRING', fence: FIRST_FENCE }]],
        ]);
        expect(coupons.redeem).toHaveBeenCalledTimes(1);
      },
    );

    it('asks again once when expired holds gave uses back, and answers the second verdict', async () => {
      coupons.redeem
        .mockResolvedValueOnce({
          kind: 'condition_failed',
          refusal: 'COUPON_EXHAUSTED',
          coupon: facts(),
        })
        .mockResolvedValueOnce({ kind: 'applied', row: record() });
      coupons.reclaimExpiredUses.mockResolvedValue({
        kind: 'applied',
        row: { count: 2, versions: [] },
      });
      await expect(sut.redeem(INPUT)).resolves.toEqual(record());
      expect(coupons.redeem.mock.calls).toEqual([[command(FIRST_FENCE)], [command(FIRST_FENCE)]]);
    });

    it('a stale fence while reclaiming expired holds is STALE_FENCE, and nothing is retried', async () => {
      coupons.redeem.mockResolvedValue({
        kind: 'condition_failed',
        refusal: 'CUSTOMER_LIMIT_REACHED',
        coupon: facts(),
      });
      coupons.reclaimExpiredUses.mockResolvedValue({ kind: 'stale_fence' });
      expectSameError(await rejectionOf(sut.redeem(INPUT)), new StaleFenceError('coupon:SPRING'));
      expect(coupons.redeem).toHaveBeenCalledTimes(1);
    });

    it('an unknown coupon is COUPON_NOT_FOUND, with the canonical code', async () => {
      coupons.redeem.mockResolvedValue({ kind: 'not_found' });
      expectSameError(await rejectionOf(sut.redeem(INPUT)), new CouponNotFoundError('SPRING'));
    });
  });

  describe('redeem: constraints a racing lock-free redeem tripped', () => {
    beforeEach(() => build('atomic'));

    it.each([
      ['customer_usage_within_limit', new CustomerLimitReachedError('SPRING', 'cust-1')],
      ['coupons_usage_within_limit', new CouponExhaustedError('SPRING')],
    ])('%s', async (constraint, expected) => {
      coupons.redeem.mockResolvedValue({ kind: 'constraint_violated', constraint });
      expectSameError(await rejectionOf(sut.redeem(INPUT)), expected);
    });

    it('redemptions_one_active_per_order names the winner, looked up after the failed statement', async () => {
      coupons.redeem.mockResolvedValue({
        kind: 'constraint_violated',
        constraint: 'redemptions_one_active_per_order',
      });
      coupons.findActiveRedemptionId.mockResolvedValue(REDEMPTION_ID);
      expectSameError(
        await rejectionOf(sut.redeem(INPUT)),
        new AlreadyRedeemedError('SPRING', 'order-1', REDEMPTION_ID),
      );
      expect(coupons.findActiveRedemptionId.mock.calls).toEqual([['SPRING', 'order-1']]);
    });

    it('inside a transaction the winner is not looked up (the transaction is aborted)', async () => {
      coupons.redeem.mockResolvedValue({
        kind: 'constraint_violated',
        constraint: 'redemptions_one_active_per_order',
      });
      expectSameError(
        await rejectionOf(db.run(() => sut.redeem(INPUT))),
        new AlreadyRedeemedError('SPRING', 'order-1', null),
      );
      expect(coupons.findActiveRedemptionId).not.toHaveBeenCalled();
    });

    it('any other constraint is a bug, not a refusal', async () => {
      coupons.redeem.mockResolvedValue({
        kind: 'constraint_violated',
        constraint: 'coupons_code_key',
      });
      const error = await rejectionOf(sut.redeem(INPUT));
      expect(error).toEqual(new Error('redeem of SPRING violated coupons_code_key'));
      expect(error).not.toHaveProperty('code');
    });
  });

  describe('validate', () => {
    it('answers the preview verdict with what is left, without a lock', async () => {
      coupons.preview.mockImplementation(() => {
        expect(currentLock()).toBeUndefined();
        return Promise.resolve({ kind: 'valid', discountAmount: 500, coupon: coupon() });
      });
      await expect(sut.validate(' spring ', 'cust-1', 5000)).resolves.toEqual({
        valid: true,
        discountAmount: 500,
        remaining: 90,
      });
      expect(coupons.preview.mock.calls).toEqual([['SPRING', 'cust-1', 5000]]);
    });

    it('remaining is null without a limit', async () => {
      coupons.preview.mockResolvedValue({
        kind: 'valid',
        discountAmount: 500,
        coupon: coupon({ maxRedemptions: null }),
      });
      await expect(sut.validate('SPRING', 'cust-1', 5000)).resolves.toMatchObject({
        remaining: null,
      });
    });

    it('a refusal is an answer (valid: false) worded like the redeem error', async () => {
      coupons.preview.mockResolvedValue({
        kind: 'refused',
        refusal: 'MIN_ORDER_NOT_MET',
        coupon: facts(),
      });
      const expected = new MinOrderNotMetError('SPRING', 8000, 5000);
      await expect(sut.validate('SPRING', 'cust-1', 5000)).resolves.toEqual({
        valid: false,
        code: 'MIN_ORDER_NOT_MET',
        detail: expected.message,
      });
    });

    it('an unknown coupon is COUPON_NOT_FOUND', async () => {
      coupons.preview.mockResolvedValue({ kind: 'not_found' });
      expectSameError(
        await rejectionOf(sut.validate('nope', 'cust-1', 5000)),
        new CouponNotFoundError('NOPE'),
      );
    });
  });

  describe('create', () => {
    it('inserts the canonical code with the documented defaults', async () => {
      coupons.insert.mockResolvedValue({ kind: 'applied', row: coupon() });
      await expect(
        sut.create({ code: ' spring ', discountType: 'percent', discountValue: 10 }),
      ).resolves.toEqual(coupon());
      expect(coupons.insert.mock.calls).toEqual([
        [
          {
            code: 'SPRING',
            discountType: 'percent',
            discountValue: 10,
            maxRedemptions: null,
            perCustomerLimit: 1,
            minOrderAmount: 0,
            startsAt: null,
            expiresAt: null,
            active: true,
          },
        ],
      ]);
    });

    it('keeps an explicit null per-customer limit (unlimited) and parses the window', async () => {
      coupons.insert.mockResolvedValue({ kind: 'applied', row: coupon() });
      await sut.create({
        code: 'SPRING',
        discountType: 'fixed',
        discountValue: 700,
        perCustomerLimit: null,
        startsAt: '2030-01-01T00:00:00Z',
        expiresAt: '2030-02-01T00:00:00+01:00',
      });
      expect(coupons.insert.mock.calls[0]?.[0]).toMatchObject({
        perCustomerLimit: null,
        startsAt: new Date('2030-01-01T00:00:00Z'),
        expiresAt: new Date('2030-01-31T23:00:00Z'),
      });
    });

    it('a taken code is COUPON_CODE_TAKEN', async () => {
      coupons.insert.mockResolvedValue({ kind: 'condition_failed', refusal: 'CODE_TAKEN' });
      expectSameError(
        await rejectionOf(sut.create({ code: 'spring', discountType: 'fixed', discountValue: 1 })),
        new CouponCodeTakenError('SPRING'),
      );
    });

    it.each([
      [
        'a percent above 100',
        { discountType: 'percent', discountValue: 101 },
        'discountValue',
        'a percent discount must be between 1 and 100',
      ],
      [
        'an empty window',
        {
          discountType: 'fixed',
          discountValue: 1,
          startsAt: '2030-01-01T00:00:00Z',
          expiresAt: '2030-01-01T00:00:00Z',
        },
        'expiresAt',
        'expiresAt must be later than startsAt',
      ],
    ] as const)('%s is VALIDATION_FAILED and inserts nothing', async (_, input, field, message) => {
      expectSameError(
        await rejectionOf(sut.create({ code: 'SPRING', ...input })),
        new RequestValidationError([{ field, messages: [message] }]),
      );
      expect(coupons.insert).not.toHaveBeenCalled();
    });
  });

  describe('update', () => {
    it('sends only the given fields, under the coupon lock, with its fence', async () => {
      coupons.update.mockResolvedValue({ kind: 'applied', row: coupon() });
      await expect(
        sut.update('spring', { maxRedemptions: 50, active: undefined, expiresAt: null }),
      ).resolves.toEqual(coupon());
      expect(coupons.update.mock.calls).toEqual([
        ['SPRING', { maxRedemptions: 50, expiresAt: null }, FIRST_FENCE],
      ]);
    });

    it.each([
      [{ kind: 'not_found' } as const, new CouponNotFoundError('SPRING')],
      [
        { kind: 'condition_failed', refusal: 'LIMIT_BELOW_USAGE', redeemedCount: 12 } as const,
        new LimitBelowUsageError('SPRING', 10, 12),
      ],
      [
        { kind: 'condition_failed', refusal: 'WINDOW_INVALID', redeemedCount: 0 } as const,
        new RequestValidationError([
          { field: 'expiresAt', messages: ['expiresAt must be later than startsAt'] },
        ]),
      ],
      [{ kind: 'stale_fence' } as const, new StaleFenceError('coupon:SPRING')],
    ])('%j', async (outcome, expected) => {
      coupons.update.mockResolvedValue(outcome);
      expectSameError(await rejectionOf(sut.update('spring', { maxRedemptions: 10 })), expected);
    });
  });

  describe('release', () => {
    it('an unknown redemption is REDEMPTION_NOT_FOUND, before any lock', async () => {
      coupons.findRedemption.mockResolvedValue(undefined);
      const lock = jest.spyOn(locks, 'withLock');
      expectSameError(
        await rejectionOf(sut.release(REDEMPTION_ID)),
        new RedemptionNotFoundError(REDEMPTION_ID),
      );
      expect(lock).not.toHaveBeenCalled();
    });

    it("releases under the lock of the redemption's coupon, with its fence", async () => {
      const released = record({ status: 'released' });
      coupons.findRedemption.mockResolvedValue(record());
      coupons.release.mockImplementation(() => {
        expect(currentLock()?.keys).toEqual(['coupon:SPRING']);
        return Promise.resolve({ kind: 'applied', row: { record: released, couponVersion: '7' } });
      });
      await expect(sut.release(REDEMPTION_ID)).resolves.toEqual(released);
      expect(coupons.release.mock.calls).toEqual([[REDEMPTION_ID, FIRST_FENCE]]);
    });

    it('is idempotent: an already released redemption is the answer', async () => {
      const released = record({ status: 'released' });
      coupons.findRedemption.mockResolvedValue(released);
      coupons.release.mockResolvedValue({
        kind: 'condition_failed',
        refusal: 'ALREADY_RELEASED',
        record: released,
        orderId: null,
      });
      await expect(sut.release(REDEMPTION_ID)).resolves.toEqual(released);
    });

    it.each([
      [
        {
          kind: 'condition_failed',
          refusal: 'REDEMPTION_HELD_BY_ORDER',
          orderId: 'ord-7',
          record: record(),
        } as const,
        new RedemptionHeldByOrderError(REDEMPTION_ID, 'ord-7'),
      ],
      [{ kind: 'stale_fence' } as const, new StaleFenceError('coupon:SPRING')],
    ])('%j', async (outcome, expected) => {
      coupons.findRedemption.mockResolvedValue(record());
      coupons.release.mockResolvedValue(outcome);
      expectSameError(await rejectionOf(sut.release(REDEMPTION_ID)), expected);
    });

    it('a redemption gone between the lookup and the statement is REDEMPTION_NOT_FOUND', async () => {
      coupons.findRedemption.mockResolvedValue(record());
      coupons.release.mockResolvedValue({ kind: 'not_found' });
      expectSameError(
        await rejectionOf(sut.release(REDEMPTION_ID)),
        new RedemptionNotFoundError(REDEMPTION_ID),
      );
    });
  });

  describe('listRedemptions: the cursor', () => {
    const position = { createdUs: '1764000000123456', id: REDEMPTION_ID };
    const cursor = Buffer.from(`${position.createdUs}.${position.id}`).toString('base64url');

    beforeEach(() => {
      coupons.findByCode.mockResolvedValue(coupon());
    });

    it('a full page carries the position of its last row, base64url-encoded', async () => {
      coupons.listRedemptions.mockResolvedValue({ records: [record()], next: position });
      await expect(sut.listRedemptions('spring', { limit: 1, status: 'active' })).resolves.toEqual({
        records: [record()],
        nextCursor: cursor,
      });
      expect(cursor).toBe(
        'MTc2NDAwMDAwMDEyMzQ1Ni41YTBmM2MxZS04ZDJiLTRjNmEtOWU3Zi0wMTIzNDU2Nzg5YWI',
      );
      expect(coupons.findByCode.mock.calls).toEqual([['SPRING']]);
      expect(coupons.listRedemptions.mock.calls).toEqual([
        [{ couponId: COUPON_ID, status: 'active', limit: 1, after: undefined }],
      ]);
    });

    it('the cursor it gave decodes to the same position; the last page has none', async () => {
      coupons.listRedemptions.mockResolvedValue({ records: [] });
      await expect(sut.listRedemptions('SPRING', { cursor })).resolves.toEqual({
        records: [],
        nextCursor: null,
      });
      expect(coupons.listRedemptions.mock.calls).toEqual([
        [{ couponId: COUPON_ID, status: undefined, limit: 100, after: position }],
      ]);
    });

    const encode = (text: string) => Buffer.from(text).toString('base64url');
    it.each([
      ['not base64 of a position', 'not-a-cursor'],
      ['no id', encode('1764000000123456')],
      ['a negative time', encode(`-1.${REDEMPTION_ID}`)],
      ['a fractional time', encode(`1.5.${REDEMPTION_ID}`)],
      ['17 digits of microseconds', encode(`${'1'.repeat(17)}.${REDEMPTION_ID}`)],
      ['an id that is no UUID', encode('1764000000123456.42')],
      ['an upper-case UUID', encode(`1764000000123456.${REDEMPTION_ID.toUpperCase()}`)],
      ['SQL in the id', encode("1.'; DROP TABLE redemptions; --")],
    ])('%s is INVALID_CURSOR and reads nothing', async (_, bad) => {
      expectSameError(
        await rejectionOf(sut.listRedemptions('SPRING', { cursor: bad })),
        new InvalidCursorError(),
      );
      expect(coupons.listRedemptions).not.toHaveBeenCalled();
    });

    it('an unknown coupon is COUPON_NOT_FOUND, whatever the cursor', async () => {
      coupons.findByCode.mockResolvedValue(undefined);
      expectSameError(
        await rejectionOf(sut.listRedemptions('nope', { cursor: 'not-a-cursor' })),
        new CouponNotFoundError('NOPE'),
      );
    });
  });

  describe('checkout holds (inside the caller transaction and lock)', () => {
    const hold = { code: 'spring', customerId: 'cust-1', holdId: 'hold-1', orderAmount: 5000 };
    const holdCommand = { ...hold, code: 'SPRING', fence: FIRST_FENCE };

    it('holdUse counts a held use with the fence of the lock the caller holds', async () => {
      coupons.holdUse.mockResolvedValue({
        kind: 'applied',
        row: { couponId: COUPON_ID, discountAmount: 500 },
      });
      await expect(locks.withLock('coupon:SPRING', () => sut.holdUse(hold))).resolves.toEqual({
        couponId: COUPON_ID,
        couponCode: 'SPRING',
        discountAmount: 500,
      });
      expect(coupons.holdUse.mock.calls).toEqual([[holdCommand]]);
    });

    it.each([
      [
        { kind: 'condition_failed', refusal: 'ALREADY_REDEEMED', coupon: facts() } as const,
        new AlreadyRedeemedError('SPRING', 'hold-1', REDEMPTION_ID),
      ],
      [{ kind: 'stale_fence' } as const, new StaleFenceError('coupon:SPRING')],
      [{ kind: 'not_found' } as const, new CouponNotFoundError('SPRING')],
    ])('holdUse %j', async (outcome, expected) => {
      coupons.holdUse.mockResolvedValue(outcome);
      expectSameError(
        await rejectionOf(locks.withLock('coupon:SPRING', () => sut.holdUse(hold))),
        expected,
      );
    });

    it('holdUse retries once after expired holds gave a use back', async () => {
      coupons.holdUse
        .mockResolvedValueOnce({
          kind: 'condition_failed',
          refusal: 'COUPON_EXHAUSTED',
          coupon: facts(),
        })
        .mockResolvedValueOnce({
          kind: 'applied',
          row: { couponId: COUPON_ID, discountAmount: 500 },
        });
      coupons.reclaimExpiredUses.mockResolvedValue({
        kind: 'applied',
        row: { count: 1, versions: [] },
      });
      await locks.withLock('coupon:SPRING', () => sut.holdUse(hold));
      expect(coupons.holdUse.mock.calls).toEqual([[holdCommand], [holdCommand]]);
    });

    it('confirmHeldUse: the redemption, nothing when the hold held no use, STALE_FENCE', async () => {
      coupons.confirmHeldUse
        .mockResolvedValueOnce({ kind: 'applied', row: record() })
        .mockResolvedValueOnce({ kind: 'not_found' })
        .mockResolvedValueOnce({ kind: 'stale_fence' });
      const confirm = () =>
        locks.withLock('coupon:SPRING', () => sut.confirmHeldUse('hold-1', 'SPRING', 'o-1'));
      await expect(confirm()).resolves.toEqual(record());
      await expect(confirm()).resolves.toBeUndefined();
      expectSameError(await rejectionOf(confirm()), new StaleFenceError('coupon:SPRING'));
      expect(coupons.confirmHeldUse.mock.calls).toEqual([
        ['hold-1', 'o-1', '1'],
        ['hold-1', 'o-1', '2'],
        ['hold-1', 'o-1', '3'],
      ]);
    });

    it('releaseHeldUses: nothing to do without holds or codes; STALE_FENCE names the first code', async () => {
      await expect(sut.releaseHeldUses([], ['SPRING'])).resolves.toBe(0);
      await expect(sut.releaseHeldUses(['hold-1'], [])).resolves.toBe(0);
      coupons.releaseHeldUses
        .mockResolvedValueOnce({ kind: 'applied', row: { count: 2, versions: [] } })
        .mockResolvedValueOnce({ kind: 'stale_fence' });
      const release = () =>
        locks.withLock(['coupon:A', 'coupon:B'], () =>
          sut.releaseHeldUses(['hold-1', 'hold-2'], ['A', 'B']),
        );
      await expect(release()).resolves.toBe(2);
      expectSameError(await rejectionOf(release()), new StaleFenceError('coupon:A'));
      expect(coupons.releaseHeldUses.mock.calls).toEqual([
        [
          ['hold-1', 'hold-2'],
          [
            { code: 'A', fence: '1' },
            { code: 'B', fence: '1' },
          ],
        ],
        [
          ['hold-1', 'hold-2'],
          [
            { code: 'A', fence: '2' },
            { code: 'B', fence: '2' },
          ],
        ],
      ]);
    });
  });
});

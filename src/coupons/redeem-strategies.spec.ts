import { Test } from '@nestjs/testing';
import { LockModule } from '@couponlock/lock';
import { Registry } from 'prom-client';
import { QueryFailedError } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { validateEnvironment, WRITE_STRATEGIES, type WriteStrategy } from '../config/environment';
import {
  backoffDelayMs,
  ConcurrencyControl,
  effectiveStrategy,
} from '../database/concurrency-control';
import { GuardedWrites } from '../database/guarded-writes';
import { TransactionRunner } from '../database/transaction-runner';
import { FencingMetrics } from '../metrics/fencing.metrics';
import { StrategyMetrics } from '../metrics/strategy.metrics';
import type { RedeemState } from './coupon-rules';
import { CouponsRepository, type RedemptionRecord } from './coupons.repository';
import { CouponsService } from './coupons.service';
import { RedemptionEntity } from './entities/redemption.entity';

const INPUT = { code: 'hot', customerId: 'c-1', orderId: 'o-1', orderAmount: 10_000 };

const RECORD: RedemptionRecord = {
  redemption: Object.assign(new RedemptionEntity(), { id: 'r-1', status: 'active' }),
  couponCode: 'HOT',
};

function stateOf(version: string, redeemedCount = 0): RedeemState {
  return {
    coupon: {
      id: '7',
      code: 'HOT',
      discountType: 'fixed',
      discountValue: 500,
      maxRedemptions: 50,
      perCustomerLimit: 1,
      minOrderAmount: 0,
      startsAt: null,
      expiresAt: null,
      active: true,
      redeemedCount,
      heldCount: 0,
      version,
    },
    customerUses: 0,
    existingRedemptionId: null,
    now: new Date('2026-01-01T00:00:00Z'),
  };
}

/** CouponsService on fakes of its repository and transaction runner, a real memory lock. */
async function serviceWith(env: Record<string, string>) {
  const config = validateEnvironment({
    DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
    REDIS_URL: 'redis://127.0.0.1:6379',
    ADMIN_API_KEYS: 'admin-key-1',
    STOREFRONT_API_KEYS: 'storefront-key-1',
    OPTIMISTIC_BACKOFF_BASE_MS: '0',
    OPTIMISTIC_BACKOFF_MAX_MS: '0',
    ...env,
  });
  const repository = {
    redeem: jest.fn().mockResolvedValue({ kind: 'applied', row: RECORD }),
    lockForRedeem: jest.fn().mockResolvedValue(stateOf('3')),
    readForRedeem: jest.fn().mockResolvedValue(stateOf('3')),
    writeDecidedRedemption: jest.fn().mockResolvedValue({ kind: 'applied', row: RECORD }),
    reclaimExpiredUses: jest
      .fn()
      .mockResolvedValue({ kind: 'applied', row: { count: 0, versions: [] } }),
  };
  const db = {
    inTransaction: false,
    change: jest.fn((work: () => Promise<unknown>) => work()),
    run: jest.fn((work: () => Promise<unknown>) => work()),
    query: jest.fn().mockResolvedValue([]),
  };
  const registry = new Registry();
  const module = await Test.createTestingModule({
    imports: [LockModule.forRoot({ backend: 'memory' })],
    providers: [
      CouponsService,
      GuardedWrites,
      ConcurrencyControl,
      { provide: CouponsRepository, useValue: repository },
      { provide: TransactionRunner, useValue: db },
      { provide: FencingMetrics, useValue: new FencingMetrics(registry) },
      { provide: StrategyMetrics, useValue: new StrategyMetrics(registry) },
      {
        provide: AppConfig,
        useValue: { get: (key: keyof typeof config) => config[key] },
      },
    ],
  }).compile();
  await module.init();
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const match = values.find((value) =>
      Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted),
    );
    return match?.value ?? 0;
  };
  return {
    service: module.get(CouponsService),
    repository,
    db,
    metric,
    close: () => module.close(),
  };
}

type Harness = Awaited<ReturnType<typeof serviceWith>>;

describe('redeem strategy dispatch', () => {
  let harness: Harness | undefined;

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('runs every strategy as configured outside a lock, and only `locked` inside one', () => {
    for (const strategy of WRITE_STRATEGIES) {
      expect(effectiveStrategy(strategy, false)).toBe(strategy);
      expect(effectiveStrategy(strategy, true)).toBe('locked');
    }
  });

  it('locked: the conditional statement under the coupon lock, with its fence', async () => {
    harness = await serviceWith({ COUPON_REDEEM_STRATEGY: 'locked' });
    await expect(harness.service.redeem(INPUT)).resolves.toBe(RECORD);
    expect(harness.repository.redeem).toHaveBeenCalledTimes(1);
    expect(harness.repository.redeem.mock.calls[0][0]).toMatchObject({
      code: 'HOT',
      fence: expect.stringMatching(/^\d+$/),
    });
    expect(harness.repository.lockForRedeem).not.toHaveBeenCalled();
    expect(harness.repository.readForRedeem).not.toHaveBeenCalled();
  });

  it('atomic: the conditional statement alone, no fence', async () => {
    harness = await serviceWith({ COUPON_REDEEM_STRATEGY: 'atomic' });
    await harness.service.redeem(INPUT);
    expect(harness.repository.redeem).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'HOT', fence: null }),
    );
    expect(harness.repository.writeDecidedRedemption).not.toHaveBeenCalled();
  });

  it('pessimistic: lock_timeout set, row locked, decided in the app, written unversioned', async () => {
    harness = await serviceWith({
      COUPON_REDEEM_STRATEGY: 'pessimistic',
      PESSIMISTIC_LOCK_TIMEOUT_MS: '750',
    });
    await expect(harness.service.redeem(INPUT)).resolves.toBe(RECORD);
    expect(harness.db.run).toHaveBeenCalledTimes(1);
    expect(harness.db.query).toHaveBeenCalledWith(expect.stringContaining('lock_timeout'), [
      '750ms',
    ]);
    expect(harness.repository.lockForRedeem).toHaveBeenCalledWith('HOT', 'c-1', 'o-1');
    expect(harness.repository.writeDecidedRedemption).toHaveBeenCalledWith({
      couponId: '7',
      expectedVersion: null,
      customerId: 'c-1',
      orderId: 'o-1',
      orderAmount: 10_000,
      discountAmount: 500,
    });
    expect(harness.repository.redeem).not.toHaveBeenCalled();
  });

  it('pessimistic: a lock wait past lock_timeout (55P03) is 503 LOCK_TIMEOUT, counted', async () => {
    harness = await serviceWith({ COUPON_REDEEM_STRATEGY: 'pessimistic' });
    const lockNotAvailable = new QueryFailedError('SELECT ... FOR UPDATE', [], {
      code: '55P03',
      message: 'canceling statement due to lock timeout',
    } as unknown as Error);
    harness.repository.lockForRedeem.mockRejectedValueOnce(lockNotAvailable);
    await expect(harness.service.redeem(INPUT)).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
      status: 503,
    });
    expect(harness.repository.writeDecidedRedemption).not.toHaveBeenCalled();
    expect(await harness.metric('couponlock_row_lock_timeouts_total', { resource: 'coupon' })).toBe(
      1,
    );
  });

  it('optimistic: writes with the version it read; a conflict reads and decides again', async () => {
    harness = await serviceWith({ COUPON_REDEEM_STRATEGY: 'optimistic' });
    harness.repository.readForRedeem
      .mockResolvedValueOnce(stateOf('3'))
      .mockResolvedValueOnce(stateOf('4', 1))
      .mockResolvedValueOnce(stateOf('9', 2));
    harness.repository.writeDecidedRedemption
      .mockResolvedValueOnce({ kind: 'condition_failed', refusal: 'VERSION_MOVED' })
      .mockResolvedValueOnce({ kind: 'condition_failed', refusal: 'VERSION_MOVED' });
    await expect(harness.service.redeem(INPUT)).resolves.toBe(RECORD);
    const versions = harness.repository.writeDecidedRedemption.mock.calls.map(
      ([command]: [{ expectedVersion: string }]) => command.expectedVersion,
    );
    expect(versions).toEqual(['3', '4', '9']);
    expect(harness.repository.redeem).not.toHaveBeenCalled();
    expect(
      await harness.metric('couponlock_optimistic_retries_total', { resource: 'coupon' }),
    ).toBe(2);
  });

  it('optimistic: out of attempts is 503 CONTENTION after exactly OPTIMISTIC_MAX_ATTEMPTS', async () => {
    harness = await serviceWith({
      COUPON_REDEEM_STRATEGY: 'optimistic',
      OPTIMISTIC_MAX_ATTEMPTS: '4',
    });
    harness.repository.writeDecidedRedemption.mockResolvedValue({
      kind: 'condition_failed',
      refusal: 'VERSION_MOVED',
    });
    await expect(harness.service.redeem(INPUT)).rejects.toMatchObject({
      code: 'CONTENTION',
      status: 503,
    });
    expect(harness.repository.writeDecidedRedemption).toHaveBeenCalledTimes(4);
    expect(
      await harness.metric('couponlock_optimistic_exhausted_total', { resource: 'coupon' }),
    ).toBe(1);
  });

  it('optimistic: a refusal read from committed state is answered at once, never retried', async () => {
    harness = await serviceWith({ COUPON_REDEEM_STRATEGY: 'optimistic' });
    harness.repository.readForRedeem.mockResolvedValue(stateOf('3', 50));
    await expect(harness.service.redeem(INPUT)).rejects.toMatchObject({ code: 'COUPON_EXHAUSTED' });
    expect(harness.repository.writeDecidedRedemption).not.toHaveBeenCalled();
    // Expired holds are asked once for their uses before the refusal stands.
    expect(harness.repository.reclaimExpiredUses).toHaveBeenCalledTimes(1);
  });

  it.each(['pessimistic', 'optimistic'] as const)(
    '%s: a constraint refusing the admitted write is the backstop: counted, answered 409',
    async (strategy: WriteStrategy) => {
      harness = await serviceWith({ COUPON_REDEEM_STRATEGY: strategy });
      harness.repository.writeDecidedRedemption.mockResolvedValue({
        kind: 'constraint_violated',
        constraint: 'coupons_usage_within_limit',
      });
      await expect(harness.service.redeem(INPUT)).rejects.toMatchObject({
        code: 'COUPON_EXHAUSTED',
      });
      expect(
        await harness.metric('couponlock_invariant_backstop_total', {
          strategy,
          invariant: 'coupons_usage_within_limit',
        }),
      ).toBe(1);
    },
  );

  it('a per-call strategy (the /demo route) overrides the configured one', async () => {
    harness = await serviceWith({ COUPON_REDEEM_STRATEGY: 'locked' });
    await harness.service.redeem(INPUT, 'optimistic');
    expect(harness.repository.readForRedeem).toHaveBeenCalledTimes(1);
    expect(harness.repository.redeem).not.toHaveBeenCalled();
  });
});

describe('backoffDelayMs (full jitter)', () => {
  it('stays within [0, min(max, base * 2^(attempt-1))]', () => {
    expect(backoffDelayMs(1, 5, 200, () => 0)).toBe(0);
    expect(backoffDelayMs(1, 5, 200, () => 0.999999)).toBe(5);
    expect(backoffDelayMs(3, 5, 200, () => 0.999999)).toBe(20);
    expect(backoffDelayMs(10, 5, 200, () => 0.999999)).toBe(200);
    expect(backoffDelayMs(4, 0, 0, () => 0.5)).toBe(0);
  });
});

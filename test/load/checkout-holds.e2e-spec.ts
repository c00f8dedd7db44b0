import { Client } from 'pg';
import { checkoutHolds, sweeperRace } from '../../load/scenarios';
import { TEST_DATABASE_URL } from '../support/test-env';
import { CONCURRENCY, failedChecks, useLoadCluster } from '../support/load/load-cluster';

/**
 * Checkout holds under storms across two app processes that share PostgreSQL and one lock key
 * prefix, both sweeping expired holds every 100 ms (issue 12, Proof). Then detection power:
 * the same verifier, run after the database was corrupted the way a broken release or a late
 * confirm would leave it, must fail.
 */
jest.setTimeout(300_000);

describe('checkout hold storms across 2 app processes', () => {
  const suite = useLoadCluster('holds', {
    CHECKOUT_HOLD_MIN_TTL_SECONDS: '1',
    CHECKOUT_SWEEP_INTERVAL_MS: '100',
  });
  // Every hold takes the hot SKU's (and coupon's) lock: 8 in flight keep each one's lock wait
  // well below LOCK_WAIT_MS on a shared 2-core machine, still contending across both processes.
  const ctx = () => suite.ctx(Math.min(CONCURRENCY, 8));

  it('hot SKU, stock 10, 200 holds (20x) with TTL 2 s: exact stock, reserved 0, each released once', async () => {
    const verdict = await checkoutHolds(ctx(), { hot: 'sku', capacity: 10, oversubscription: 20 });
    suite.load.verdicts.push(verdict);
    expect(failedChecks(verdict)).toEqual([]);
    const facts = verdict.facts;
    expect(facts).toMatchObject({ attempts: 200, unexpected: 0, finalReserved: 0 });
    expect(facts.finalStock).toBe(10 - Number(facts.confirmed));
    expect(Number(facts.holds)).toBeGreaterThan(10);
    expect(Number(facts.holds) + Number(facts.holdRefusals)).toBe(200);
    expect(facts.releasedRows).toBe(Number(facts.holds) - Number(facts.confirmed));
    expect(facts.confirmedRows).toBe(facts.confirmed);
    expect(Number(facts.lowestAvailable)).toBeGreaterThanOrEqual(0);
    expect(verdict.ok).toBe(true);
  });

  it('hot coupon, limit 10, 200 holds (20x): active + held uses never above 10, exact counts', async () => {
    const verdict = await checkoutHolds(ctx(), {
      hot: 'coupon',
      capacity: 10,
      oversubscription: 20,
    });
    suite.load.verdicts.push(verdict);
    expect(failedChecks(verdict)).toEqual([]);
    const facts = verdict.facts;
    expect(facts).toMatchObject({ attempts: 200, unexpected: 0, heldCount: 0, finalReserved: 0 });
    expect(facts.redeemedCount).toBe(facts.confirmed);
    expect(Number(facts.highestUses)).toBeLessThanOrEqual(10);
    expect(Number(facts.holds)).toBeGreaterThan(10);
    expect(facts.finalStock).toBe(200 - Number(facts.confirmed));
    expect(verdict.ok).toBe(true);
  });

  it('sweeper race: 60 holds expire together, both instances sweep, confirms at the expiry instant', async () => {
    const verdict = await sweeperRace(ctx(), { holds: 60, ttlSeconds: 2 });
    suite.load.verdicts.push(verdict);
    expect(failedChecks(verdict)).toEqual([]);
    const facts = verdict.facts;
    expect(facts).toMatchObject({ holds: 60, unexpected: 0, finalReserved: 0, heldCount: 0 });
    expect(Number(facts.confirmed) + Number(facts.confirmsExpired)).toBe(60);
    expect(facts.finalStock).toBe(60 - Number(facts.confirmed));
    expect(facts.redeemedCount).toBe(facts.confirmed);
    expect(facts.releasedRows).toBe(60 - Number(facts.confirmed));
    expect(facts.expired).toBe(60 - Number(facts.confirmed));
    expect(verdict.ok).toBe(true);
  });

  describe('detection power: the hold verifier catches a double release and a late confirm', () => {
    let db: Client;

    beforeAll(async () => {
      db = new Client({ connectionString: TEST_DATABASE_URL });
      await db.connect();
    });

    afterAll(async () => {
      await db?.end();
    });

    it('FAILS when a confirmed hold is also released and confirmed after its expiry', async () => {
      let tampered = '';
      const verdict = await sweeperRace(ctx(), {
        holds: 12,
        ttlSeconds: 2,
        beforeVerify: async (facts) => {
          // A hold disposed of twice: a confirmed one also released, or an expired one also
          // confirmed (what a release racing a confirm would leave), and a confirm recorded
          // after the expiry. The unique ledger index forbids the same movement twice.
          const confirmed = facts.confirmed.length > 0;
          tampered = (confirmed ? facts.confirmed[0] : facts.held[0]) ?? '';
          await db.query(
            `INSERT INTO inventory_movements (product_id, delta, reserved_delta, reason, reference)
             SELECT i.product_id, $2::int * i.quantity, -i.quantity, $3, i.hold_id::text
               FROM checkout_hold_items i WHERE i.hold_id = $1`,
            [tampered, confirmed ? 0 : -1, confirmed ? 'hold_released' : 'hold_confirmed'],
          );
          await db.query(
            `UPDATE checkout_holds SET ended_at = expires_at + interval '5 ms'
              WHERE id = $1 AND status = 'confirmed'`,
            [tampered],
          );
        },
      });
      suite.load.verdicts.push({ ...verdict, expectedToFail: true });
      expect(verdict.ok).toBe(false);
      const failed = failedChecks(verdict).join('\n');
      expect(failed).toContain(tampered);
      expect(failed).toMatch(/every hold reserved once, then released once or confirmed once/);
      expect(failed).toMatch(/reserved == sum of ledger reserved deltas/);
      if (Number(verdict.facts.confirmed) > 0) {
        expect(failed).toMatch(/no hold confirmed at or after its expiresAt/);
      }
    });
  });
});

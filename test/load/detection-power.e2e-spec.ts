import { hotCoupon, naiveHotCoupon, type ScenarioContext } from '../../load/scenarios';
import { failedChecks, useLoadCluster } from '../support/load/load-cluster';
import { expectProof } from '../support/load/proofs';

/**
 * Detection power: a proof that cannot fail proves nothing. The same hot-coupon storm and the
 * same checks, aimed at the deliberately unsafe naive routes (read-check-write, no lock, no
 * conditional write; src/naive), must FAIL and show the over-redemption. The control run on the
 * same processes, against the real routes, must pass: the failure is the naive code's, not the
 * harness's.
 */
describe('detection power: the proof catches the naive redeem path', () => {
  const suite = useLoadCluster('naive', { NAIVE_ROUTES_ENABLED: 'true' });

  it('the naive variant, limit 50 at 20x, FAILS the hot-coupon proof with over-redemption', async () => {
    const verdict = await naiveHotCoupon(suite.ctx(), { limit: 50, oversubscription: 20 });
    suite.load.verdicts.push(verdict);
    const facts = verdict.facts;
    // Over-redemption: more than 50 redemptions handed out and written to the ledger.
    expect(facts.maxRedemptions).toBe(50);
    expect(facts.ledgerCount).toBeGreaterThan(50);
    expect(facts.successes).toBeGreaterThan(50);
    // Every 201 really wrote a row; nothing errored: the naive path fails silently.
    expect(facts.ledgerCount).toBe(facts.successes);
    expect(facts.unexpected).toBe(0);
    // ...and the verdict catches it, through the same checks the real routes pass.
    expect(verdict.ok).toBe(false);
    expect(failedChecks(verdict)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^naive hot-coupon 20x: successes: expected 50, got \d+$/),
        expect.stringMatching(
          /^ledger rows == maxRedemptions \(no over-redemption\): expected 50, got \d+$/,
        ),
      ]),
    );
    expect(verdict.notes.join(' ')).toMatch(/OVER-REDEEMED by \d+/);
  });

  it('control: the real routes on the same two processes pass the same proof', async () => {
    const run = (ctx: ScenarioContext) => hotCoupon(ctx, { limit: 50, oversubscription: 20 });
    await expectProof(suite, run, {
      successes: 50,
      refusals: 950,
      unexpected: 0,
      redeemedCount: 50,
    });
  });
});

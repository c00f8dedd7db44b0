import { judge } from '../../load/live';

/** The verdict the storm page shows (load/live.ts judge), from the storm's facts. */
describe('live storm verdict', () => {
  const facts = { unit: 'redemptions', limit: 50, granted: 50, used: 50, unexpected: 0 };

  it('is exact when the database holds the limit and every answer agrees', () => {
    expect(judge(facts)).toEqual({
      outcome: 'exact',
      text: 'Exactly the limit: 50 of 50 redemptions',
    });
  });

  it('is over when the ledger or the answers exceed the limit, by how much', () => {
    expect(judge({ ...facts, granted: 1000, used: 1000 })).toEqual({
      outcome: 'over',
      text: 'OVER-REDEEMED: 1000 redemptions for a limit of 50 (+950)',
    });
    // Answers that claim more than the ledger holds are an over-redemption too.
    expect(judge({ ...facts, granted: 51, used: 50 }).outcome).toBe('over');
  });

  it('is within when under the limit and consistent (a hot SKU can end with units left)', () => {
    expect(judge({ ...facts, unit: 'units', limit: 500, granted: 498, used: 498 })).toEqual({
      outcome: 'within',
      text: 'Within the limit: 498 of 500 units, never over',
    });
  });

  it('is broken on unexpected answers, or when the answers and the database disagree', () => {
    expect(judge({ ...facts, unexpected: 1 }).outcome).toBe('broken');
    expect(judge({ ...facts, granted: 49 }).outcome).toBe('broken');
  });
});

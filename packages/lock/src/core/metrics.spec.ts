import { completeMetrics, FamilyLabels } from './metrics';

describe('metric hooks', () => {
  it('bounds the number of family label values', () => {
    const families = new FamilyLabels();
    const labels = new Set<string>();
    for (let i = 0; i < 200; i++) labels.add(families.bound(`f${i}`));
    expect(labels.size).toBe(65);
    expect(labels.has('other')).toBe(true);
    expect(families.bound('f1')).toBe('f1');
  });

  it('fills hooks an implementation leaves out, and keeps `this` for the ones it has', () => {
    const seen: string[] = [];
    const partial = {
      prefix: 'lost:',
      lost(family: string) {
        seen.push(this.prefix + family);
      },
    };
    const metrics = completeMetrics(partial);
    metrics.lost('coupon');
    metrics.acquired('coupon', 0.001, false);
    metrics.breakerChanged('open');
    expect(seen).toEqual(['lost:coupon']);
    expect(() => completeMetrics(undefined).timedOut('sku', 1)).not.toThrow();
  });

  it('a hook that throws never reaches the lock', () => {
    let calls = 0;
    const metrics = completeMetrics({
      acquired() {
        calls++;
        throw new Error('broken exporter');
      },
    });
    expect(() => metrics.acquired('coupon', 0.001, false)).not.toThrow();
    expect(calls).toBe(1);
  });
});

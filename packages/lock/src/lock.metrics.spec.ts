import { Registry } from 'prom-client';
import { LockMetrics } from './lock.metrics';

describe('LockMetrics', () => {
  it('registers every metric on the given registry', async () => {
    const registry = new Registry();
    const m = new LockMetrics(registry);
    m.acquireDuration.observe({ family: 'coupon' }, 0.001);
    m.extensions.inc({ family: 'coupon', result: 'ok' });
    const text = await registry.metrics();
    for (const name of [
      'lock_acquire_duration_seconds',
      'lock_wait_duration_seconds',
      'lock_hold_duration_seconds',
      'lock_contended_total',
      'lock_timeouts_total',
      'lock_lost_total',
      'lock_extensions_total',
      'lock_backend_errors_total',
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    expect(text).toContain('lock_extensions_total{family="coupon",result="ok"} 1');
  });

  it('reuses metrics already registered (many modules, one registry)', () => {
    const registry = new Registry();
    const a = new LockMetrics(registry);
    const b = new LockMetrics(registry);
    expect(b.acquireDuration.histogram).toBe(a.acquireDuration.histogram);
    expect(b.extensions).toBe(a.extensions);
  });

  it('buffers histogram samples and hands them over on scrape, from every instance', async () => {
    const registry = new Registry();
    const a = new LockMetrics(registry);
    const b = new LockMetrics(registry);
    for (let i = 0; i < 5000; i++) a.holdDuration.observe({ family: 'sku' }, 0.002);
    b.holdDuration.observe({ family: 'sku' }, 0.002);
    const text = await registry.metrics();
    expect(text).toContain('lock_hold_duration_seconds_count{family="sku"} 5001');
    expect(text).toContain('lock_hold_duration_seconds_bucket{le="0.005",family="sku"} 5001');
    // Nothing counted twice on the next scrape.
    expect(await registry.metrics()).toContain(
      'lock_hold_duration_seconds_count{family="sku"} 5001',
    );
  });

  it('bounds the number of family label values', () => {
    const m = new LockMetrics(new Registry());
    const labels = new Set<string>();
    for (let i = 0; i < 200; i++) labels.add(m.family(`f${i}`));
    expect(labels.size).toBe(65);
    expect(labels.has('other')).toBe(true);
    expect(m.family('f1')).toBe('f1');
  });
});

import { Registry } from 'prom-client';
import { PrometheusLockMetrics } from './prometheus-metrics';

describe('PrometheusLockMetrics', () => {
  it('registers every metric on the given registry', async () => {
    const registry = new Registry();
    const m = new PrometheusLockMetrics(registry);
    m.acquired('coupon', 0.001, false);
    m.extended('coupon', true);
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
      'lock_unavailable_total',
      'lock_breaker_state',
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    expect(text).toContain('lock_extensions_total{family="coupon",result="ok"} 1');
    expect(text).toContain('lock_acquire_duration_seconds_count{family="coupon"} 1');
    expect(text).toContain('lock_breaker_state{state="closed"} 1');
  });

  it('maps each hook to its metric', async () => {
    const registry = new Registry();
    const m = new PrometheusLockMetrics(registry);
    m.acquired('sku', 0.02, true);
    m.contended('sku');
    m.timedOut('sku', 0.5);
    m.released('sku', 0.004);
    m.lost('sku');
    m.extended('sku', false);
    m.backendError('sku');
    m.unavailable('sku');
    m.breakerChanged('open');
    const text = await registry.metrics();
    expect(text).toContain('lock_acquire_duration_seconds_count{family="sku"} 1');
    // The contended acquire and the timeout both waited.
    expect(text).toContain('lock_wait_duration_seconds_count{family="sku"} 2');
    expect(text).toContain('lock_hold_duration_seconds_count{family="sku"} 1');
    expect(text).toContain('lock_contended_total{family="sku"} 1');
    expect(text).toContain('lock_timeouts_total{family="sku"} 1');
    expect(text).toContain('lock_lost_total{family="sku"} 1');
    expect(text).toContain('lock_extensions_total{family="sku",result="failed"} 1');
    expect(text).toContain('lock_backend_errors_total{family="sku"} 1');
    expect(text).toContain('lock_unavailable_total{family="sku"} 1');
    expect(text).toContain('lock_breaker_state{state="open"} 1');
    expect(text).toContain('lock_breaker_state{state="closed"} 0');
    expect(text).toContain('lock_breaker_state{state="half-open"} 0');
  });

  it('reuses metrics already registered (many services, one registry)', () => {
    const registry = new Registry();
    const a = new PrometheusLockMetrics(registry);
    const b = new PrometheusLockMetrics(registry);
    expect(b.acquireDuration.histogram).toBe(a.acquireDuration.histogram);
    expect(b.extensionsTotal).toBe(a.extensionsTotal);
    expect(b.breakerState).toBe(a.breakerState);
  });

  it('buffers histogram samples and hands them over on scrape, from every instance', async () => {
    const registry = new Registry();
    const a = new PrometheusLockMetrics(registry);
    const b = new PrometheusLockMetrics(registry);
    for (let i = 0; i < 5000; i++) a.released('sku', 0.002);
    b.released('sku', 0.002);
    const text = await registry.metrics();
    expect(text).toContain('lock_hold_duration_seconds_count{family="sku"} 5001');
    expect(text).toContain('lock_hold_duration_seconds_bucket{le="0.005",family="sku"} 5001');
    // Nothing counted twice on the next scrape.
    expect(await registry.metrics()).toContain(
      'lock_hold_duration_seconds_count{family="sku"} 5001',
    );
  });
});

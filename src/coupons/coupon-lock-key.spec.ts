import { couponLockKey, setCouponLockGranularity } from './coupons.service';

describe('couponLockKey', () => {
  afterEach(() => setCouponLockGranularity('key'));

  it('is one key per canonical code by default', () => {
    expect(couponLockKey(' spring-10 ')).toBe('coupon:SPRING-10');
    expect(couponLockKey('SPRING-10')).not.toBe(couponLockKey('SUMMER-10'));
  });

  it('is one key for every coupon with LOCK_GRANULARITY=global', () => {
    setCouponLockGranularity('global');
    expect(couponLockKey('SPRING-10')).toBe('coupon:*');
    expect(couponLockKey('SUMMER-10')).toBe('coupon:*');
  });
});

// setup() helpers: create the fresh coupons and products a script works on, and read them back.
// A failure here throws, which aborts the run before any load is sent: a proof against a
// resource that was not created as asked would prove nothing.

import { check } from 'k6';
import { get, post, json, seg, sameCode } from './api.js';
import { describe } from './classify.js';
import { fmt } from './config.js';

export function createCoupon(body) {
  const res = post('/v1/coupons', body, { admin: true, name: 'POST /v1/coupons' });
  const coupon = json(res);
  const ok = check(res, {
    'setup: coupon created (201)': (r) => r.status === 201 && coupon !== null,
  });
  if (!ok) throw new Error(`setup: could not create coupon ${body.code}: ${describe(res, coupon)}`);
  // The coupon must be exactly what the proof assumes, or the expected counts are meaningless.
  const mismatches = [];
  if (!sameCode(coupon.code, body.code)) mismatches.push(`code=${fmt(coupon.code)}`);
  ['maxRedemptions', 'perCustomerLimit'].forEach((field) => {
    if (field in body && coupon[field] !== body[field]) {
      mismatches.push(`${field}=${fmt(coupon[field])} (asked ${fmt(body[field])})`);
    }
  });
  if (coupon.redeemedCount !== 0) mismatches.push(`redeemedCount=${fmt(coupon.redeemedCount)}`);
  if (coupon.active !== true) mismatches.push(`active=${fmt(coupon.active)}`);
  const shapeOk = check(coupon, {
    'setup: new coupon has the requested limits and no redemptions': () => mismatches.length === 0,
  });
  if (!shapeOk) {
    throw new Error(
      `setup: coupon ${body.code} differs from the request: ${mismatches.join(', ')}`,
    );
  }
  return coupon;
}

export function createProduct(body) {
  const res = post('/v1/products', body, { admin: true, name: 'POST /v1/products' });
  const product = json(res);
  const ok = check(res, {
    'setup: product created (201) with the requested stock': (r) =>
      r.status === 201 && product !== null && product.stock === body.stock,
  });
  if (!ok)
    throw new Error(`setup: could not create product ${body.sku}: ${describe(res, product)}`);
  return product;
}

// GET a coupon for teardown. Returns { ok, coupon, error }.
export function readCoupon(code, label) {
  const res = get(`/v1/coupons/${seg(code)}`, { name: 'GET /v1/coupons/:code' });
  const coupon = json(res);
  const ok = check(res, {
    [`${label}: GET coupon is 200`]: (r) => r.status === 200 && coupon !== null,
  });
  return { ok, coupon, error: ok ? null : describe(res, coupon) };
}

// GET a product for teardown. Returns { ok, product, error }.
export function readProduct(sku, label) {
  const res = get(`/v1/products/${seg(sku)}`, { name: 'GET /v1/products/:sku' });
  const product = json(res);
  const ok = check(res, {
    [`${label}: GET product is 200`]: (r) => r.status === 200 && product !== null,
  });
  return { ok, product, error: ok ? null : describe(res, product) };
}

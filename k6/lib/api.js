// Thin request helpers for the couponlock REST API: JSON bodies, the x-api-key header, a stable
// `name` tag per route, and a JSON parser that never throws.

import http from 'k6/http';
import { API_KEY, ADMIN_API_KEY, baseUrlFor } from './config.js';

// Statuses that count as "expected" for http_req_failed and the expected_response tag: 200/201
// are successes and 409 is the normal sold-out / limit-reached / out-of-stock answer of a
// correctly working service under oversubscription. Everything else (404, 410, 422, 5xx
// including 503 LOCK_TIMEOUT) is marked as a failed request. The scripts' own classifier is
// stricter still: a 409 only counts as expected when its problem `code` is the one the scenario
// can legitimately produce.
export function useExpectedStatuses() {
  http.setResponseCallback(http.expectedStatuses(200, 201, 409));
}

// Builds the parts of one request without sending it, so the same shape feeds http.request()
// and http.batch().
//   opts.admin          use ADMIN_API_KEY instead of API_KEY
//   opts.name           value of the `name` tag; pass the route template (e.g.
//                       'POST /v1/coupons/:code/redeem') so URLs with ids do not each become a
//                       separate time series
//   opts.index          which BASE_URLS entry to use (default: round-robin, see config.js)
//   opts.idempotencyKey optional Idempotency-Key header
//   opts.tags           extra tags for this request
export function buildRequest(method, path, body, opts) {
  const o = opts || {};
  const headers = {
    Accept: 'application/json, application/problem+json',
    'x-api-key': o.admin ? ADMIN_API_KEY : API_KEY,
  };
  let payload = null;
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (o.idempotencyKey) headers['Idempotency-Key'] = o.idempotencyKey;
  const tags = Object.assign({ name: o.name || `${method} ${path}` }, o.tags || {});
  return {
    method,
    url: `${baseUrlFor(o.index)}${path}`,
    body: payload,
    params: { headers, tags },
  };
}

export function send(method, path, body, opts) {
  const r = buildRequest(method, path, body, opts);
  return http.request(r.method, r.url, r.body, r.params);
}

export function get(path, opts) {
  return send('GET', path, null, opts);
}

export function post(path, body, opts) {
  return send('POST', path, body, opts);
}

// Sends requests built with buildRequest() in parallel. Responses come back in the same order.
// How many run at once is capped by the `batch` and `batchPerHost` options (defaults 20 and 6).
export function sendBatch(requests) {
  return http.batch(requests.map((r) => [r.method, r.url, r.body, r.params]));
}

// Parsed JSON body, or null when there is none or it is not JSON (network error, HTML error
// page from a proxy, empty body). Never throws, so one odd response cannot abort an iteration
// before it has been counted.
export function json(res) {
  if (!res || res.body === null || res.body === undefined || res.body === '') return null;
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

// Path segment encoding for ids taken from responses.
export function seg(value) {
  return encodeURIComponent(String(value));
}

// Codes are case-insensitive on the server, so compare them that way.
export function sameCode(a, b) {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

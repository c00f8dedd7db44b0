// Configuration shared by every couponlock k6 script: where the API is, which keys to use, and
// small helpers to read numeric knobs from the environment.
//
// Everything here is read in the init context, once per VU. Anything that must be identical for
// every VU (such as the run id that names the coupons and products) is NOT computed here: init
// code runs separately in each VU, so it would differ. Scripts create it in setup() and pass it on
// through the setup data instead.

import exec from 'k6/execution';

function raw(name) {
  const value = __ENV[name];
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

export function envString(name, fallback) {
  const value = raw(name);
  return value === undefined ? fallback : value;
}

// Integers only: every knob in these scripts is a count, a limit or a number of seconds. A typo
// must stop the run at start-up rather than silently fall back to a default.
export function envInt(name, fallback, min, max) {
  const value = raw(name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    throw new Error(`environment variable ${name} must be an integer, got "${value}"`);
  }
  const n = parseInt(value, 10);
  if (min !== undefined && n < min) {
    throw new Error(`environment variable ${name} must be >= ${min}, got ${n}`);
  }
  if (max !== undefined && n > max) {
    throw new Error(`environment variable ${name} must be <= ${max}, got ${n}`);
  }
  return n;
}

// BASE_URLS (comma-separated) wins over BASE_URL, so the same script can target one instance, a
// load balancer, or several instances directly (to spread load round-robin without a balancer).
function parseBaseUrls() {
  const list = envString('BASE_URLS', '');
  const source = list !== '' ? list.split(',') : [envString('BASE_URL', 'http://localhost:3000')];
  const urls = source
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => s.replace(/\/+$/, ''));
  if (urls.length === 0) throw new Error('BASE_URLS is set but contains no URL');
  return urls;
}

export const BASE_URLS = parseBaseUrls();

// Defaults match .env.example (STOREFRONT_API_KEYS / ADMIN_API_KEYS).
export const API_KEY = envString('API_KEY', 'dev-storefront-key');
export const ADMIN_API_KEY = envString('ADMIN_API_KEY', 'dev-admin-key');

// Where handleSummary() writes <script>-summary.json. The path is relative to the directory k6
// is started from (not to the script), and k6 does not create missing directories.
export const RESULTS_DIR = envString('RESULTS_DIR', 'k6/results').replace(/\/+$/, '');

// How long running iterations may finish after a scenario's maxDuration. Follow-on scenarios
// start after maxDuration + this, so they never overlap the scenario they depend on.
export const GRACEFUL_STOP_S = 10;

// Which instance serves the current request. Inside a scenario the test-wide iteration number
// spreads the load evenly over BASE_URLS; in setup()/teardown() there is no scenario, so the VU
// id is used instead (callers that care pass an explicit index).
function currentSpreadIndex() {
  try {
    return exec.scenario.iterationInTest;
  } catch (e) {
    // Not inside a scenario iteration (setup/teardown): fall through.
  }
  try {
    return exec.vu.idInTest;
  } catch (e) {
    return 0;
  }
}

export function baseUrlFor(index) {
  const n = BASE_URLS.length;
  if (n === 1) return BASE_URLS[0];
  const i = index === undefined || index === null ? currentSpreadIndex() : index;
  return BASE_URLS[((i % n) + n) % n];
}

// A short id that makes every resource name of one run unique (codes and SKUs allow
// [A-Za-z0-9_-], 3..64 chars), so runs never collide with each other or with old data.
export function newRunId() {
  const random = Math.random().toString(36).slice(2, 8);
  return `${Date.now().toString(36)}${random}`;
}

// Value formatting for log lines and failure messages.
export function fmt(value) {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value);
  } catch (e) {
    return String(value);
  }
}

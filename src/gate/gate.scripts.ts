/**
 * The sold-out gate's Redis scripts. One gate is three keys sharing a hash tag (one slot):
 *
 * - `opened`: string, the highest row version a change that made room committed at;
 * - `closed`: hash `{version, minRequired, expiresAtMs, orderCount}`, the row version a
 *   refusal for "no room" was judged at, with what the refusal's wording depends on; it carries
 *   a PX TTL (GATE_CLOSED_TTL_MS);
 * - `orders`: set, the order ids that held an active redemption at that version (a request for
 *   one of them must hear ALREADY_REDEEMED from the database, not COUPON_EXHAUSTED from us).
 *
 * The gate refuses only while closed.version > opened. Versions are PostgreSQL row versions
 * (bumped by a trigger on every update, migration 1764300000000), compared as Lua numbers:
 * exact up to 2^53 updates of one row.
 */

/**
 * KEYS: opened, closed, orders. ARGV: version, ttlMs, minRequired, expiresAtMs ('' = none),
 * then the order ids. Closes only if `version` is newer than every open and every close seen:
 * a refusal judged before a release committed can never shut the gate that release opened.
 * Returns 1 when it closed, 0 when the version was already overtaken.
 */
export const CLOSE_SCRIPT = `
local v = tonumber(ARGV[1])
local opened = tonumber(redis.call('GET', KEYS[1]) or '-1')
if v <= opened then return 0 end
local closed = tonumber(redis.call('HGET', KEYS[2], 'version') or '-1')
if v <= closed then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
local count = #ARGV - 4
for i = 5, #ARGV, 500 do
  redis.call('SADD', KEYS[3], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
redis.call('HSET', KEYS[2], 'version', ARGV[1], 'minRequired', ARGV[3],
  'expiresAtMs', ARGV[4], 'orderCount', count)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if count > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return 1`;

/**
 * KEYS: opened, closed, orders. ARGV: version, keepMs. Raises `opened` to `version` (never
 * lowers it) and drops a close it overtakes. `opened` must outlive any close that could still
 * arrive with an older version (a request in flight), hence keepMs (GATE_OPENED_KEEP_MS).
 * Returns 1 when it raised `opened`.
 */
export const OPEN_SCRIPT = `
local v = tonumber(ARGV[1])
local opened = tonumber(redis.call('GET', KEYS[1]) or '-1')
local closed = tonumber(redis.call('HGET', KEYS[2], 'version') or '-1')
if closed >= 0 and closed < v then redis.call('DEL', KEYS[2], KEYS[3]) end
if v > opened then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;

/**
 * KEYS: opened, closed, orders. ARGV: orderId. Nil when the gate lets the request through to
 * the lock and the database; otherwise {version, minRequired, expiresAtMs}. A set of order ids
 * that does not match its count (one key expired before the other) lets the request through.
 */
export const CHECK_SCRIPT = `
local c = redis.call('HMGET', KEYS[2], 'version', 'minRequired', 'expiresAtMs', 'orderCount')
if not c[1] then return false end
local opened = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(c[1]) <= opened then return false end
if redis.call('SCARD', KEYS[3]) ~= tonumber(c[4]) then return false end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return false end
return {c[1], c[2], c[3]}`;

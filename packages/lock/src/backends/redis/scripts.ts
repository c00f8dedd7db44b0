import { createHash } from 'node:crypto';

/**
 * Lua scripts run by SHA (EVALSHA) with an EVAL fallback on NOSCRIPT. Every script is
 * all-or-nothing for the keys it is given, so one call per Redis node (per slot in cluster mode)
 * decides a whole multi-key lock.
 */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, lua: string): LuaScript {
  return Object.freeze({ name, lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/**
 * Lua that sets `local f` to the last fence of the key's next block of `block` fences (a Lua
 * number expression; 1 for a single fence): INCRBY of its counter; with the seed flag a counter
 * that did not exist (first use, or lost in a restart without persistence) starts at the server
 * time in µs instead of 1, so it is still ahead of every fence handed out before; beyond 2^53
 * (no longer exact as a Lua number) it is read back as a string. The block is
 * `f - block + 1 .. f`. Inlined (not a Lua function) so the single-key acquire stays flat;
 * written once so every script issues fences by the same rule.
 */
function nextFence(fenceKey: string, seedFlag: string, block: string): string {
  return `local f = redis.call('INCRBY', ${fenceKey}, ${block})
  if f == ${block} and ${seedFlag} == '1' then
    local t = redis.call('TIME')
    redis.call('SET', ${fenceKey}, t[1] .. string.sub('00000' .. t[2], -6))
    f = redis.call('INCRBY', ${fenceKey}, ${block} - 1)
  end
  if f >= 9007199254740992 then
    f = redis.call('GET', ${fenceKey})
  end`;
}

// Fences are compared as canonical decimal strings: Lua numbers are doubles and would round
// above 2^53, and string `<` in Lua goes through strcoll (locale dependent).
const GREATER = `
local function greater(a, b)
  if #a ~= #b then return #a > #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return false
end
`;

/**
 * KEYS = lock keys (n), fence keys (n), wait-flag keys (n).
 * ARGV = token, ttl ms, seed flag ('1'|'0'), wait-flag ttl ms, id of the calling process, and
 * optionally the fence block (how many consecutive fences to reserve per key; default 1).
 * Reply, one key: the last fence of the block on success, else -2 - PTTL of the holder (< 0).
 * Reply, several keys: {1, fence1, ..., fenceN} (last of each block) or {0, index of first
 * blocking key, its PTTL}.
 *
 * A fence block is INCRBY of the key's counter: the holder gets the first fence of the block,
 * and the core hands the next ones to local successors that take the lease over without a
 * round trip (see LockService). Nobody else can be given a fence inside the block: every later
 * INCRBY starts past it. With the seed flag a counter that does not exist (first
 * use, or lost: restart without persistence, a fresh Redlock node) starts at the server time in
 * µs instead of 1, so it is still ahead of everything handed out before. Fences come back as
 * integers while they are exact as Lua numbers (< 2^53) and as strings (GET) beyond that.
 *
 * A blocked attempt marks the key as waited for (wait flag, holding the waiter's process id), so
 * that only releases somebody is waiting for pay for a PUBLISH, and so that a releasing process
 * can tell that another process is waiting. Waiters retry well within the flag's ttl, which
 * refreshes it. A successful attempt removes its own process's flag: that process waits no
 * more (its other waiters queue locally), and a stale flag would make others yield for nothing.
 *
 * A key reserved by a yielding hand-off chain (value `yield:<process id>`, see HAND_OFF) counts
 * as held for everyone except that process, which takes it over.
 */
export const ACQUIRE = script(
  'acquire',
  `
local n = #KEYS / 3
local reserved = 'yield:' .. ARGV[5]
local block = tonumber(ARGV[6] or '1')
if n == 1 then
  -- The common case, written out flat: no closures, fewest calls.
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if redis.call('GET', KEYS[1]) ~= reserved then
      redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[4])
      return -2 - redis.call('PTTL', KEYS[1])
    end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
  if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
  ${nextFence('KEYS[2]', 'ARGV[3]', 'block')}
  return f
end
for i = 1, n do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= reserved then
    redis.call('SET', KEYS[2 * n + i], ARGV[5], 'PX', ARGV[4])
    return {0, i, redis.call('PTTL', KEYS[i])}
  end
end
local reply = {1}
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  if redis.call('GET', KEYS[2 * n + i]) == ARGV[5] then redis.call('DEL', KEYS[2 * n + i]) end
  ${nextFence('KEYS[n + i]', 'ARGV[3]', 'block')}
  reply[i + 1] = f
end
return reply
`,
);

/**
 * KEYS = lock keys (n), wait-flag keys (n). ARGV = token, id of the calling process, then one
 * wake-up channel per key.
 * Deletes only keys still owned by the token and, where a waiter flagged the key, publishes a
 * wake-up in the same atomic step: a waiter whose failed attempt (which set the flag) came
 * before this release, and who subscribed before that attempt, cannot miss it.
 * Reply: 2 * keys released + 1 if the last waiter flagged on a released key is another process.
 */
export const RELEASE = script(
  'release',
  `
local n = #KEYS / 2
local released = 0
local remote = 0
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    local waiter = redis.call('GET', KEYS[n + i])
    if waiter then
      redis.call('PUBLISH', ARGV[i + 2], '')
      if waiter ~= ARGV[2] then remote = 1 end
    end
    released = released + 1
  end
end
return released * 2 + remote
`,
);

/**
 * Local hand-off (lock cohorting) in one atomic step.
 * KEYS = lock keys (n), fence keys (n), wait-flag keys (n).
 * ARGV = token, next token, ttl ms, seed flag ('1'|'0'), yield flag ('1'|'0'), id of the
 * calling process, one wake-up channel per key, then the reservation ms.
 * Reply:
 * - 0: the token no longer owns every key (lost). Keys it still owned are released (with
 *   wake-ups), so nothing is left behind.
 * - -1: yielded. The yield flag was set and a waiter of another process is flagged on a key:
 *   each such key is reserved for that process (`yield:<its id>`, ARGV[7 + n] ms) and the
 *   others deleted, with wake-ups as in RELEASE. The reservation makes the yield stick: without
 *   it the chain's own next waiter, which needs no wake-up, would win the race for the key
 *   almost every time. If that process no longer waits, the reservation simply runs out.
 * - {remote (0|1), fence1, ..., fenceN}: every key now belongs to the next token with a fresh
 *   lease and a new fence (INCR, seeded as in ACQUIRE); remote tells whether another process
 *   is flagged as waiting.
 */
export const HAND_OFF = script(
  'hand-off',
  `
local n = #KEYS / 3
local owned = true
for i = 1, n do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then owned = false end
end
local remote = 0
for i = 1, n do
  local waiter = redis.call('GET', KEYS[2 * n + i])
  if waiter and waiter ~= ARGV[6] then remote = 1 end
end
if not owned or (remote == 1 and ARGV[5] == '1') then
  for i = 1, n do
    if redis.call('GET', KEYS[i]) == ARGV[1] then
      local waiter = redis.call('GET', KEYS[2 * n + i])
      if owned and waiter and waiter ~= ARGV[6] then
        redis.call('SET', KEYS[i], 'yield:' .. waiter, 'PX', ARGV[7 + n])
      else
        redis.call('DEL', KEYS[i])
      end
      if waiter then redis.call('PUBLISH', ARGV[6 + i], '') end
    end
  end
  if owned then return -1 end
  return 0
end
local reply = {remote}
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[3])
  ${nextFence('KEYS[n + i]', 'ARGV[4]', '1')}
  reply[i + 1] = f
end
return reply
`,
);

/**
 * KEYS = lock keys. ARGV = token, ttl ms. Extends only if the token still owns every key.
 * Reply: 1 extended, 0 not the owner of at least one key (nothing changed).
 */
export const EXTEND = script(
  'extend',
  `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then return 0 end
end
for i = 1, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
`,
);

/**
 * KEYS = fence keys. ARGV = fence values (same order). Raises each counter to the value if it is
 * lower (never lowers it). Used by Redlock to write the quorum maximum back before handing out.
 */
export const RAISE_FENCE = script(
  'raise-fence',
  `${GREATER}
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if not cur or greater(ARGV[i], cur) then
    redis.call('SET', KEYS[i], ARGV[i])
  end
end
return 1
`,
);

export const ALL_SCRIPTS: readonly LuaScript[] = [ACQUIRE, RELEASE, HAND_OFF, EXTEND, RAISE_FENCE];

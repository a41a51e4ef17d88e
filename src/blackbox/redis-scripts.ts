/**
 * The Lua scripts behind the Redis store (redis-store.ts). Redis runs a script atomically, so each
 * is one check-and-update step that no other replica can interleave with: the whole point of
 * moving budgets to Redis is that N replicas enforce one budget exactly.
 */

/**
 * KEYS[1] the key's count; ARGV[1] queries wanted, ARGV[2] the budget.
 * Counts the queries only if the total stays within the budget. Returns {granted 0|1, used after}.
 */
export const CHARGE_SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if used + wanted > tonumber(ARGV[2]) then
  return {0, used}
end
return {1, redis.call('INCRBY', KEYS[1], wanted)}
`;

/** KEYS[1] the key's count; ARGV[1] queries to give back. Never below 0. Returns the count after. */
export const REFUND_SCRIPT = `
local used = redis.call('DECRBY', KEYS[1], tonumber(ARGV[1]))
if used < 0 then
  redis.call('SET', KEYS[1], 0)
  return 0
end
return used
`;

/**
 * KEYS[1] a window (hash of count and reset time); ARGV[1] now (epoch ms), ARGV[2] window length.
 * Counts one event, starting a new window when the last has ended; the hash expires with its
 * window, so stale windows (one per client address for key guesses) do not pile up.
 * Returns {count, resetAt}.
 */
export const HIT_SCRIPT = `
local now = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'count', 'reset')
local count = tonumber(state[1])
local reset = tonumber(state[2])
if count ~= nil and reset ~= nil and reset > now then
  count = count + 1
else
  count = 1
  reset = now + tonumber(ARGV[2])
end
redis.call('HSET', KEYS[1], 'count', count, 'reset', reset)
redis.call('PEXPIREAT', KEYS[1], reset)
return {count, reset}
`;

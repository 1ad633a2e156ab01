/**
 * Lua scripts of the shared rate budget (src/lib/rate-budget.ts). Every script reads the clock
 * with `TIME`, so the clocks of the worker processes never matter, and runs atomically.
 *
 * Keys, always passed in KEYS (Cluster: they share the deployment prefix's hash tag):
 *   1 the account's hash: pace, ceiling, paceAt, cooldownUntil, strikes, last429At, lastAt, keepUntil, seq
 *   2 real-time demand: sorted set, member = budget instance, score = expiry (server ms)
 *   3 bulk grants within the shortest window: sorted set, score = grant time
 *   4.. one sorted set of grants per window, shortest window first
 * Times are integer epoch milliseconds of the Redis server.
 */

/** Shared prelude: `now` and the pace, which recovers linearly from `paceAt` on. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The pace recovers up to a ceiling (just below the pace that last drew a 429), and the
-- ceiling itself relaxes toward 1 at a 25th of that speed, so a budget set too high settles
-- below AIQ's real limit instead of probing it again every few seconds.
local function effectiveCeiling(ceilingRaw, paceAtRaw, recoveryPerS)
  local ceiling = tonumber(ceilingRaw) or 1
  local paceAt = tonumber(paceAtRaw) or 0
  if ceiling < 1 and now > paceAt then ceiling = math.min(1, ceiling + recoveryPerS / 25 * (now - paceAt) / 1000) end
  return ceiling
end
local function effectivePace(paceRaw, paceAtRaw, recoveryPerS, ceilingRaw)
  local pace = tonumber(paceRaw) or 1
  local paceAt = tonumber(paceAtRaw) or 0
  local ceiling = effectiveCeiling(ceilingRaw, paceAtRaw, recoveryPerS)
  if pace < ceiling and now > paceAt then pace = math.min(ceiling, pace + recoveryPerS * (now - paceAt) / 1000) end
  return pace
end
`;

/**
 * ARGV: 1 lane, 2 demand member ('' = do not announce), 3 '1' when more real-time waiters
 * follow this one, 4 base spacing ms at pace 1, 5 bulk share of the shortest window,
 * 6 priority gap ms, 7 pace recovery per second, 8 demand slack ms, 9 minimum hash TTL ms,
 * 10.. (limit, windowMs) per window, shortest first.
 * Returns {1, grantedAt} or {0, waitMs}.
 */
export const ACQUIRE_LUA = `${PRELUDE}
local lane, demandId = ARGV[1], ARGV[2]
local st = redis.call('HMGET', KEYS[1], 'pace', 'paceAt', 'cooldownUntil', 'lastAt', 'keepUntil', 'ceiling')
local pace = effectivePace(st[1], st[2], tonumber(ARGV[7]), st[6])
local interval = math.ceil(tonumber(ARGV[4]) / pace)
local lastAt = tonumber(st[4])
local wait = 0
local cooldownUntil = tonumber(st[3]) or 0
if cooldownUntil > now then wait = cooldownUntil - now end
local nwin = #KEYS - 3
for i = 1, nwin do
  local key, limit, win = KEYS[3 + i], tonumber(ARGV[8 + 2 * i]), tonumber(ARGV[9 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
  local c = redis.call('ZCARD', key)
  if c >= limit then
    local e = redis.call('ZRANGE', key, c - limit, c - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(e[2]) + win - now)
  end
end
if lastAt then wait = math.max(wait, lastAt + interval - now) end
local shortest = tonumber(ARGV[11])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if lane == 'bulk' and redis.call('ZCARD', KEYS[2]) > 0 then
  -- Real-time work waits somewhere: bulk keeps to its share and leaves real-time the next slot.
  -- Both waits are capped at one interval, because the demand may end at any moment.
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - shortest)
  local share = tonumber(ARGV[5])
  local c = redis.call('ZCARD', KEYS[3])
  local held = 0
  if c >= share then
    held = interval
    if share > 0 then
      local e = redis.call('ZRANGE', KEYS[3], c - share, c - share, 'WITHSCORES')
      held = math.min(interval, tonumber(e[2]) + shortest - now)
    end
  end
  if lastAt then held = math.max(held, lastAt + interval + math.min(interval, tonumber(ARGV[6])) - now) end
  wait = math.max(wait, held)
end
if wait > 0 then
  wait = math.ceil(wait)
  if demandId ~= '' then
    redis.call('ZADD', KEYS[2], now + wait + tonumber(ARGV[8]), demandId)
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(last[2]) - now))
  end
  return {0, wait}
end
local member = now .. '-' .. redis.call('HINCRBY', KEYS[1], 'seq', 1)
for i = 1, nwin do
  redis.call('ZADD', KEYS[3 + i], now, member)
  redis.call('PEXPIRE', KEYS[3 + i], tonumber(ARGV[9 + 2 * i]))
end
if lane == 'bulk' then
  redis.call('ZADD', KEYS[3], now, member)
  redis.call('PEXPIRE', KEYS[3], shortest)
end
if demandId ~= '' then
  if ARGV[3] == '1' then
    redis.call('ZADD', KEYS[2], now + interval + tonumber(ARGV[8]), demandId)
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(last[2]) - now))
  else
    redis.call('ZREM', KEYS[2], demandId)
  end
end
redis.call('HSET', KEYS[1], 'lastAt', now)
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[9]), (tonumber(st[5]) or 0) - now))
return {1, now}
`;

/**
 * KEYS: 1 the account's hash. ARGV: 1 Retry-After ms ('' = none), 2 grant time of the request
 * that got the 429 ('' = unknown), 3 backoff base ms, 4 backoff cap ms, 5 quiet ms after which
 * the consecutive count restarts, 6 pace factor, 7 pace floor, 8 pace recovery per second,
 * 9 minimum hash TTL ms.
 *
 * A 429 reported while a cool-down runs, or for a request granted before the last 429 was
 * reported, belongs to the same episode: it may extend the cool-down (Retry-After) but neither
 * counts as a new consecutive 429 nor lowers the pace again.
 * Returns {cooldownUntil, cooldownMs, pace (string), consecutive, counted (0/1)}.
 */
export const REPORT_LUA = `${PRELUDE}
local st = redis.call('HMGET', KEYS[1], 'pace', 'paceAt', 'cooldownUntil', 'strikes', 'last429At', 'ceiling')
local recovery = tonumber(ARGV[8])
local pace = effectivePace(st[1], st[2], recovery, st[6])
local ceiling = effectiveCeiling(st[6], st[2], recovery)
local cooldownUntil = tonumber(st[3]) or 0
local strikes = tonumber(st[4]) or 0
local last429At = tonumber(st[5]) or 0
local retryAfter = tonumber(ARGV[1])
local grantedAt = tonumber(ARGV[2])
local counted = cooldownUntil <= now and not (grantedAt and grantedAt <= last429At)
if counted then
  if now - cooldownUntil > tonumber(ARGV[5]) then strikes = 0 end
  local ms = retryAfter or math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ strikes)
  strikes = strikes + 1
  cooldownUntil = now + math.ceil(ms)
  ceiling = math.max(tonumber(ARGV[7]), pace * 0.9)
  pace = math.max(tonumber(ARGV[7]), pace * tonumber(ARGV[6]))
  last429At = now
elseif retryAfter and now + retryAfter > cooldownUntil then
  cooldownUntil = now + math.ceil(retryAfter)
end
-- Recovery starts when the cool-down ends: no traffic flows before, so there is no evidence.
local paceAt = math.max(now, cooldownUntil)
local keepUntil = paceAt + tonumber(ARGV[5]) + math.ceil((1 - pace) / recovery * 1000)
redis.call('HSET', KEYS[1], 'pace', tostring(pace), 'ceiling', tostring(ceiling), 'paceAt', paceAt, 'cooldownUntil', cooldownUntil,
  'strikes', strikes, 'last429At', last429At, 'keepUntil', keepUntil)
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[9]), keepUntil - now))
return {cooldownUntil, math.max(0, cooldownUntil - now), tostring(pace), strikes, counted and 1 or 0}
`;

/**
 * Read-only view. KEYS as for ACQUIRE_LUA. ARGV: 1 pace recovery per second, 2.. windowMs per
 * window. Returns {now, pace (string), cooldownUntil, strikes, realtimeWaiting, bulkInShortest,
 * grants per window...}.
 */
export const STATE_LUA = `${PRELUDE}
local st = redis.call('HMGET', KEYS[1], 'pace', 'paceAt', 'cooldownUntil', 'strikes', 'ceiling')
local pace = effectivePace(st[1], st[2], tonumber(ARGV[1]), st[5])
local out = {now, tostring(pace), tonumber(st[3]) or 0, tonumber(st[4]) or 0,
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  redis.call('ZCOUNT', KEYS[3], '(' .. (now - tonumber(ARGV[2])), '+inf')}
for i = 4, #KEYS do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], '(' .. (now - tonumber(ARGV[i - 2])), '+inf')
end
return out
`;

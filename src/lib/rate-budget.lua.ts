/**
 * Lua scripts of the shared rate budget (src/lib/rate-budget.ts). Every script reads the clock
 * with `TIME`, so the clocks of the worker processes never matter, and runs atomically.
 *
 * Keys, always passed in KEYS (Cluster: they share the deployment prefix's hash tag):
 *   1 the account's hash: pace, ceiling, relax, paceAt, cooldownUntil, strikes, last429At, lastAt,
 *     keepUntil, seq, slowMs, slowAt
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
-- A ceiling measured from the grant log (see REPORT_LUA) relaxes ten times slower still.
local function effectiveCeiling(ceilingRaw, paceAtRaw, recoveryPerS, relaxRaw)
  local ceiling = tonumber(ceilingRaw) or 1
  local paceAt = tonumber(paceAtRaw) or 0
  local relax = tonumber(relaxRaw) or recoveryPerS / 25
  if ceiling < 1 and now > paceAt then ceiling = math.min(1, ceiling + relax * (now - paceAt) / 1000) end
  return ceiling
end
local function effectivePace(paceRaw, paceAtRaw, recoveryPerS, ceilingRaw, relaxRaw)
  local pace = tonumber(paceRaw) or 1
  local paceAt = tonumber(paceAtRaw) or 0
  local ceiling = effectiveCeiling(ceilingRaw, paceAtRaw, recoveryPerS, relaxRaw)
  if pace < ceiling and now > paceAt then pace = math.min(ceiling, pace + recoveryPerS * (now - paceAt) / 1000) end
  return pace
end
`;

/**
 * ARGV: 1 lane, 2 demand member ('' = do not announce), 3 callers of this lane waiting in the
 * calling instance, 4 base spacing ms at pace 1, 5 bulk share of the shortest window, 6 priority
 * gap ms, 7 pace recovery per second, 8 demand slack ms, 9 minimum hash TTL ms, 10 horizon cap
 * ms, 11 minimum horizon ms, 12 the caller's slowest recent answer ms (0 = none), 13 its age ms,
 * 14.. (limit, windowMs, marginMs) per window, shortest first.
 *
 * Grants are reservations: the next free slot is handed out when it lies within the horizon
 * (min(spacing, cap), at least the minimum) from now, and the caller sleeps until it. So a
 * waiter that wakes a little late still gets its slot, and many slots can be handed out in one
 * call when the spacing is short. A slot is the first instant that keeps the spacing after the
 * previous grant and leaves room in every window, each window counted as `windowMs + margin`
 * long: a request reaches AIQ some time between its grant and its answer, so the margin (the
 * caller's recent slow answers) keeps requests that arrive out of order within AIQ's window.
 * Returns {'n:tight', now, t1, member1, .., tn, membern} (n >= 1 grants at those Redis-clock
 * instants, and their members in the grant logs, which a late caller moves to when it really sent
 * if tight is 1: a window is nearly full) or {0, waitMs, now}; numbers as strings (fractional ms).
 */
export const ACQUIRE_LUA = `${PRELUDE}
local lane, demandId = ARGV[1], ARGV[2]
local waiting = tonumber(ARGV[3])
local wanted = math.min(waiting, 64)
local st = redis.call('HMGET', KEYS[1], 'pace', 'paceAt', 'cooldownUntil', 'lastAt', 'keepUntil', 'ceiling', 'relax', 'slowMs', 'slowAt')
local pace = effectivePace(st[1], st[2], tonumber(ARGV[7]), st[6], st[7])
local interval = tonumber(ARGV[4]) / pace
local prev = tonumber(st[4])
local cooldownUntil = tonumber(st[3]) or 0
local horizon = math.max(math.min(interval, tonumber(ARGV[10])), tonumber(ARGV[11]))
local nwin = #KEYS - 3
local shortest = tonumber(ARGV[15])
-- The slowest recent answer any instance saw (ms, and when, Redis clock): its request may have
-- reached AIQ that late, so every window it can still be in keeps that much margin.
local slowMs, slowAt = tonumber(st[8]) or 0, tonumber(st[9]) or 0
local reported, reportedAt = tonumber(ARGV[12]), now - tonumber(ARGV[13])
if reported > 0 and (reported > slowMs or (reportedAt > slowAt and slowAt < now - shortest - 1000)) then
  slowMs, slowAt = reported, reportedAt
  redis.call('HSET', KEYS[1], 'slowMs', tostring(slowMs), 'slowAt', tostring(slowAt))
end
local limits, spans, counts = {}, {}, {}
for i = 1, nwin do
  limits[i] = tonumber(ARGV[11 + 3 * i])
  local win, margin = tonumber(ARGV[12 + 3 * i]), tonumber(ARGV[13 + 3 * i])
  if slowMs > margin and slowAt >= now - win - 1000 then margin = math.min(slowMs, win / 4) end
  spans[i] = win + margin
  redis.call('ZREMRANGEBYSCORE', KEYS[3 + i], '-inf', now - spans[i])
  counts[i] = redis.call('ZCARD', KEYS[3 + i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
-- Real-time work waits somewhere: bulk keeps to its share and leaves real-time a head start.
local demand = lane == 'bulk' and redis.call('ZCARD', KEYS[2]) > 0
local share = tonumber(ARGV[5])
local gap = math.min(interval, tonumber(ARGV[6]))
local bulkCount = 0
if demand then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - shortest)
  bulkCount = redis.call('ZCARD', KEYS[3])
end
local granted = {}
-- The back-th most recent grant time in a sorted set holding count entries, grants of this call included.
local function recent(key, count, back)
  local n = #granted
  if back <= n then return granted[n - back + 1] end
  local idx = count - (back - n)
  if idx < 0 then return nil end
  return tonumber(redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')[2])
end
-- The next slot ignoring the real-time demand, and the slot bulk may take given it.
local function nextSlot()
  local t = math.max(now, cooldownUntil)
  if prev then t = math.max(t, prev + interval) end
  for i = 1, nwin do
    local e = recent(KEYS[3 + i], counts[i], limits[i])
    if e then t = math.max(t, e + spans[i]) end
  end
  local held = t
  if demand then
    if prev then held = math.max(held, prev + interval + gap) end
    if share <= 0 then
      held = math.huge
    else
      local e = recent(KEYS[3], bulkCount, share)
      if e then held = math.max(held, e + shortest) end
    end
  end
  return t, held
end
local wait = 0
while #granted < wanted do
  local free, t = nextSlot()
  if t - now > horizon then
    wait = t - now - horizon
    -- Held back only by the demand, which may end at any moment: look again within one spacing.
    if t > free then wait = math.max(free - now - horizon, math.min(wait, interval)) end
    break
  end
  granted[#granted + 1] = t
  prev = t
end
local n = #granted
local fmt = function(v) return string.format('%.3f', v) end
local members = {}
if n > 0 then
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', n)
  for k = 1, n do
    members[#members + 1] = fmt(granted[k])
    members[#members + 1] = fmt(granted[k]) .. '-' .. (seq - n + k)
  end
  for i = 1, nwin do
    redis.call('ZADD', KEYS[3 + i], unpack(members))
    redis.call('PEXPIRE', KEYS[3 + i], math.ceil(prev - now + spans[i]))
  end
  if lane == 'bulk' then
    redis.call('ZADD', KEYS[3], unpack(members))
    redis.call('PEXPIRE', KEYS[3], math.ceil(prev - now + shortest))
  end
  redis.call('HSET', KEYS[1], 'lastAt', fmt(prev))
  redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[9]), (tonumber(st[5]) or 0) - now))
end
if demandId ~= '' then
  if n < waiting then
    local untilAt = (n > 0 and prev + interval or now + wait) + tonumber(ARGV[8])
    redis.call('ZADD', KEYS[2], math.ceil(untilAt), demandId)
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(last[2]) - now))
  else
    redis.call('ZREM', KEYS[2], demandId)
  end
end
if n == 0 then return {'0', fmt(wait), fmt(now)} end
-- Tight: a window is nearly full, so a grant sent late could break it (the caller then moves it).
local tight = 0
for i = 1, nwin do
  if counts[i] + n >= limits[i] * 0.8 then tight = 1 end
end
local out = {tostring(n) .. ':' .. tight, fmt(now)}
for k = 1, n do
  out[#out + 1] = members[2 * k - 1]
  out[#out + 1] = members[2 * k]
end
return out
`;

/**
 * KEYS: 1 the account's hash, 2 the shortest window's grant log. ARGV: 1 Retry-After ms ('' =
 * none), 2 grant time of the request that got the 429 ('' = unknown), 3 backoff base ms, 4 backoff
 * cap ms, 5 quiet ms after which the consecutive count restarts, 6 pace factor, 7 pace floor,
 * 8 pace recovery per second, 9 minimum hash TTL ms, 10 the shortest window's limit, 11 its
 * length ms, 12 headroom below an evident limit (0..1).
 *
 * A new episode lowers the pace: to `headroom` × the share of the shortest window that AIQ
 * evidently allowed (the grants in it, less the refused one) when that is at least half the
 * current pace; otherwise by the pace factor. The ceiling goes just below the pace that drew it.
 *
 * A 429 reported while a cool-down runs, or for a request granted before the last 429 was
 * reported, belongs to the same episode: it may extend the cool-down (Retry-After) but neither
 * counts as a new consecutive 429 nor lowers the pace again.
 * Returns {cooldownUntil, cooldownMs, pace (string), consecutive, counted (0/1)}.
 */
export const REPORT_LUA = `${PRELUDE}
local st = redis.call('HMGET', KEYS[1], 'pace', 'paceAt', 'cooldownUntil', 'strikes', 'last429At', 'ceiling', 'relax')
local recovery = tonumber(ARGV[8])
local pace = effectivePace(st[1], st[2], recovery, st[6], st[7])
local ceiling = effectiveCeiling(st[6], st[2], recovery, st[7])
local relax = tonumber(st[7]) or recovery / 25
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
  -- What AIQ evidently allowed: the grants of the shortest window ending now, less the refused one.
  local allowed = -1
  if KEYS[2] then allowed = (redis.call('ZCOUNT', KEYS[2], '(' .. (now - tonumber(ARGV[11])), now) - 1) / tonumber(ARGV[10]) end
  local estimate = allowed * tonumber(ARGV[12])
  if estimate >= pace * 0.5 then
    -- A plausible measure of AIQ's limit: go straight to just below it, without probing again.
    ceiling = math.max(tonumber(ARGV[7]), math.min(pace * 0.9, estimate))
    pace = ceiling
    relax = recovery / 250
  else
    ceiling = math.max(tonumber(ARGV[7]), pace * 0.9)
    pace = math.max(tonumber(ARGV[7]), pace * tonumber(ARGV[6]))
    relax = recovery / 25
  end
  last429At = now
elseif retryAfter and now + retryAfter > cooldownUntil then
  cooldownUntil = now + math.ceil(retryAfter)
end
-- Recovery starts when the cool-down ends: no traffic flows before, so there is no evidence.
local paceAt = math.max(now, cooldownUntil)
local keepUntil = paceAt + tonumber(ARGV[5]) + math.ceil(math.max((1 - pace) / recovery, (1 - ceiling) / relax) * 1000)
if counted then redis.call('HSET', KEYS[1], 'relax', tostring(relax)) end
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
local st = redis.call('HMGET', KEYS[1], 'pace', 'paceAt', 'cooldownUntil', 'strikes', 'ceiling', 'relax')
local pace = effectivePace(st[1], st[2], tonumber(ARGV[1]), st[5], st[6])
local out = {now, tostring(pace), tonumber(st[3]) or 0, tonumber(st[4]) or 0,
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  redis.call('ZCOUNT', KEYS[3], '(' .. (now - tonumber(ARGV[2])), now)}
-- Reservations not yet due are left out: only grants whose instant lies in the window ending now.
for i = 4, #KEYS do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], '(' .. (now - tonumber(ARGV[i - 2])), now)
end
return out
`;

/**
 * KEYS: the grant logs of one grant (every window, and the bulk log for bulk). ARGV: 1 the
 * instant the request really left (Redis clock, ms), 2 the grant's member. Moves the grant later
 * in every log that still holds it.
 */
export const RESTAMP_LUA = `
for _, key in ipairs(KEYS) do redis.call('ZADD', key, 'XX', 'GT', ARGV[1], ARGV[2]) end
return 1
`;

import type { Redis, Cluster } from 'ioredis';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';
import { buildEvent, eventFields, type EventInput, type ResultEvent } from './events.ts';

/**
 * The idempotency ledger: one Redis hash per idempotency key.
 *
 * - `enqueuedAt`: set once by the producer (duplicate detection outlives the BullMQ job).
 * - `state`: `pending` while an attempt may be talking to AIQ, `idle` when an attempt ended
 *   knowing nothing was applied, then the terminal kind.
 * - `firstAttemptAt`, `attemptStartedAt`, `leaseUntil`, `owner`: who holds the pending attempt.
 * - `terminal` plus the outcome's fields (`value`, `contactID`, …) once done; the terminal
 *   result event is appended in the same script, so it is emitted exactly once.
 */
export interface LedgerEntry {
  state: string | undefined;
  terminal: string | undefined;
  enqueuedAt: number | undefined;
  firstAttemptAt: number | undefined;
  leaseUntil: number | undefined;
  fields: Record<string, string>;
}

export type ReleaseMode = 'clear' | 'answered' | 'ambiguous';

export type ClaimResult =
  | { kind: 'fresh'; firstAttemptAt: number }
  /** A previous attempt may have applied the effect: reconcile before calling. */
  | { kind: 'ambiguous'; firstAttemptAt: number }
  /** Another live attempt holds the key until `leaseUntil` (epoch ms). */
  | { kind: 'busy'; leaseUntil: number }
  | { kind: 'terminal'; terminal: string };

export interface Ledger {
  /** Producer side: true when the key is new (first acceptance). */
  accept(key: string): Promise<boolean>;
  /** The same for many keys in one round trip, in order. */
  acceptMany(keys: readonly string[]): Promise<boolean[]>;
  get(key: string): Promise<LedgerEntry | null>;
  /**
   * Takes the key for one attempt. `settleMs`: how long after an ambiguous attempt sent its
   * request it may still reach AIQ; until then the key is `busy`, so the reconciliation that
   * follows cannot miss a late application. The send is taken to be as late as it can have been:
   * the release of the attempt, or the end of its lease when its holder died.
   */
  claim(key: string, owner: string, leaseMs: number, settleMs: number): Promise<ClaimResult>;
  /** Extends a held lease; false when it is no longer ours. */
  renew(key: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Ends a held attempt without a terminal outcome: `clear` when nothing can have been applied;
   * `answered` when AIQ answered but may have applied it (5xx: the next attempt reconciles at
   * once); `ambiguous` when the request may still be in flight (timeout, dropped connection:
   * the next attempt reconciles once it has settled).
   */
  release(key: string, owner: string, mode: ReleaseMode): Promise<void>;
  /**
   * Records the terminal outcome and appends its result event atomically. Returns the event,
   * or null when the key was already terminal (nothing appended).
   */
  finish(key: string, fields: Record<string, string | number>, event: EventInput): Promise<ResultEvent | null>;
  /** Makes a dead key runnable again (DLQ replay). True when it was dead. */
  reopen(key: string): Promise<boolean>;
  /** Forgets a key entirely (`dlq purge`). */
  forget(key: string): Promise<void>;
}

export interface CreateLedgerOptions {
  redis: RedisClient;
  keys: Keys;
  /** How long a key is remembered after its last change; default 30 days. */
  ttlMs?: number;
  /** Approximate MAXLEN of the event stream; default 1 000 000. */
  eventsMaxLen?: number;
}

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const SCRIPTS = {
  ledgerAccept: {
    numberOfKeys: 1,
    lua: `${NOW}
if redis.call('HSETNX', KEYS[1], 'enqueuedAt', tostring(now)) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1]) return 1 end
return 0`,
  },
  // Every key of the call in one script (the keys share the deployment's hash tag): one round
  // trip and no client-side pipeline, whose set-up copies every script defined on the connection.
  ledgerAcceptMany: {
    // null: the caller passes the number of keys first.
    numberOfKeys: null,
    lua: `${NOW}
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('HSETNX', key, 'enqueuedAt', tostring(now)) == 1 then
    redis.call('PEXPIRE', key, ARGV[1]) out[i] = 1
  else out[i] = 0 end
end
return out`,
  },
  ledgerClaim: {
    numberOfKeys: 1,
    lua: `${NOW}
local h = redis.call('HMGET', KEYS[1], 'terminal', 'state', 'leaseUntil', 'owner', 'firstAttemptAt', 'attemptStartedAt')
if h[1] then return {'terminal', h[1]} end
local lease = tonumber(h[3] or '0') or 0
if h[2] == 'pending' and lease > now and h[4] ~= ARGV[1] then return {'busy', tostring(lease)} end
-- An ambiguous attempt's request may still be in flight at AIQ: reconcile only once it has settled.
-- It left no later than its release (attemptStartedAt, set then) or, when its holder died, than the
-- end of the holder's lease: a request can wait for the rate budget long after the key was claimed.
local settled = math.max(tonumber(h[6] or '0') or 0, lease) + tonumber(ARGV[4])
if h[2] == 'pending' and settled > now then return {'busy', tostring(settled)} end
local first = h[5]
local fields = {'state', 'pending', 'owner', ARGV[1], 'leaseUntil', tostring(now + tonumber(ARGV[2])), 'attemptStartedAt', tostring(now)}
if not first then
  first = tostring(now)
  fields[#fields + 1] = 'firstAttemptAt'
  fields[#fields + 1] = first
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if h[2] == 'pending' then return {'ambiguous', first} end
return {'fresh', first}`,
  },
  ledgerRenew: {
    numberOfKeys: 1,
    lua: `${NOW}
local h = redis.call('HMGET', KEYS[1], 'state', 'owner')
if h[1] ~= 'pending' or h[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'leaseUntil', tostring(now + tonumber(ARGV[2])))
return 1`,
  },
  ledgerRelease: {
    numberOfKeys: 1,
    // 'ambiguous': the request left at the latest now, so it settles from now (not from the claim).
    lua: `${NOW}
local h = redis.call('HMGET', KEYS[1], 'state', 'owner')
if h[1] ~= 'pending' or h[2] ~= ARGV[1] then return 0 end
if ARGV[2] == 'clear' then redis.call('HSET', KEYS[1], 'state', 'idle', 'leaseUntil', '0')
elseif ARGV[2] == 'answered' then redis.call('HSET', KEYS[1], 'leaseUntil', '0', 'attemptStartedAt', '0')
else redis.call('HSET', KEYS[1], 'leaseUntil', '0', 'attemptStartedAt', tostring(now)) end
redis.call('HDEL', KEYS[1], 'owner')
return 1`,
  },
  ledgerFinish: {
    numberOfKeys: 2,
    lua: `if redis.call('HEXISTS', KEYS[1], 'terminal') == 1 then return 0 end
local n = tonumber(ARGV[4])
local fields = {'terminal', ARGV[3], 'state', ARGV[3]}
for i = 1, n * 2 do fields[#fields + 1] = ARGV[4 + i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HDEL', KEYS[1], 'owner')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local ev = {}
for i = 5 + n * 2, #ARGV do ev[#ev + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ev))
return 1`,
  },
  ledgerReopen: {
    numberOfKeys: 1,
    // A dead attempt may have ended ambiguously: when any attempt ever claimed the key, the
    // replay starts as 'pending' with an expired lease, so it reconciles before calling AIQ.
    lua: `if redis.call('HGET', KEYS[1], 'terminal') ~= 'job.dead' then return 0 end
redis.call('HDEL', KEYS[1], 'terminal', 'owner', 'error')
if redis.call('HEXISTS', KEYS[1], 'firstAttemptAt') == 1 then
  redis.call('HSET', KEYS[1], 'state', 'pending', 'leaseUntil', '0')
else
  redis.call('HSET', KEYS[1], 'state', 'idle', 'leaseUntil', '0')
end
return 1`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptClient = Record<ScriptName, (...args: Array<string | number>) => Promise<unknown>>;

/** Defines the ledger's Lua commands on a connection once (ioredis caches them by SHA). */
function withScripts(redis: RedisClient): ScriptClient {
  const r = redis as (Redis | Cluster) & Partial<ScriptClient>;
  if (typeof r.ledgerClaim !== 'function') {
    for (const [name, s] of Object.entries(SCRIPTS)) {
      r.defineCommand(name, s.numberOfKeys === null ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }
  return r as unknown as ScriptClient;
}

function num(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function createLedger(options: CreateLedgerOptions): Ledger {
  const { redis, keys } = options;
  const ttlMs = options.ttlMs ?? 30 * 86_400_000;
  const maxLen = options.eventsMaxLen ?? 1_000_000;
  const scripts = withScripts(redis);

  return {
    async accept(key) {
      return (await scripts.ledgerAccept(keys.ledger(key), ttlMs)) === 1;
    },
    async acceptMany(list) {
      if (list.length === 0) return [];
      if (list.length === 1) return [(await scripts.ledgerAccept(keys.ledger(list[0] as string), ttlMs)) === 1];
      const reply = await scripts.ledgerAcceptMany(list.length, ...list.map((key) => keys.ledger(key)), ttlMs);
      return (Array.isArray(reply) ? reply : []).map((value) => value === 1);
    },
    async get(key) {
      const h = await redis.hgetall(keys.ledger(key));
      if (Object.keys(h).length === 0) return null;
      return {
        state: h.state,
        terminal: h.terminal,
        enqueuedAt: num(h.enqueuedAt),
        firstAttemptAt: num(h.firstAttemptAt),
        leaseUntil: num(h.leaseUntil),
        fields: h,
      };
    },
    async claim(key, owner, leaseMs, settleMs) {
      const [kind, a] = (await scripts.ledgerClaim(keys.ledger(key), owner, leaseMs, ttlMs, settleMs)) as [string, string];
      switch (kind) {
        case 'terminal':
          return { kind, terminal: a };
        case 'busy':
          return { kind, leaseUntil: Number(a) };
        case 'ambiguous':
          return { kind, firstAttemptAt: Number(a) };
        default:
          return { kind: 'fresh', firstAttemptAt: Number(a) };
      }
    },
    async renew(key, owner, leaseMs) {
      return (await scripts.ledgerRenew(keys.ledger(key), owner, leaseMs)) === 1;
    },
    async release(key, owner, mode) {
      await scripts.ledgerRelease(keys.ledger(key), owner, mode);
    },
    async finish(key, fields, input) {
      const event = buildEvent(input);
      const flat = Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
      const done = await scripts.ledgerFinish(
        keys.ledger(key),
        keys.events(),
        ttlMs,
        maxLen,
        event.kind,
        flat.length / 2,
        ...flat,
        ...eventFields(event),
      );
      return done === 1 ? event : null;
    },
    async reopen(key) {
      return (await scripts.ledgerReopen(keys.ledger(key))) === 1;
    },
    async forget(key) {
      await redis.del(keys.ledger(key));
    },
  };
}

import type { Redis, Cluster } from 'ioredis';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';
import { createCoalescer } from './coalesce.ts';
import type { ConfirmWrites } from './replicas.ts';
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
  | { kind: 'terminal'; terminal: string }
  /**
   * The claim was made but its replicas did not confirm it in time (`confirmWrites`), so it was
   * undone: nothing may be sent now, try again later.
   */
  | { kind: 'unconfirmed' };

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
  /**
   * Confirms a batch of claims on the replicas before any is used (REDIS_WAIT_REPLICAS), so a
   * failover cannot lose the record that a request is about to be sent.
   */
  confirmWrites?: ConfirmWrites;
}

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// The claim of one key (see Ledger.claim), shared by the single and the batched script.
const CLAIM_FN = `local function claim(key, owner, leaseMs, ttl, settleMs, now)
local h = redis.call('HMGET', key, 'terminal', 'state', 'leaseUntil', 'owner', 'firstAttemptAt', 'attemptStartedAt')
if h[1] then return {'terminal', h[1]} end
local lease = tonumber(h[3] or '0') or 0
if h[2] == 'pending' and lease > now and h[4] ~= owner then return {'busy', tostring(lease)} end
-- An ambiguous attempt's request may still be in flight at AIQ: reconcile only once it has settled.
-- It left no later than its release (attemptStartedAt, set then) or, when its holder died, than the
-- end of the holder's lease: a request can wait for the rate budget long after the key was claimed.
local settled = math.max(tonumber(h[6] or '0') or 0, lease) + tonumber(settleMs)
if h[2] == 'pending' and settled > now then return {'busy', tostring(settled)} end
local first = h[5]
local fields = {'state', 'pending', 'owner', owner, 'leaseUntil', tostring(now + tonumber(leaseMs)), 'attemptStartedAt', tostring(now)}
if not first then
  first = tostring(now)
  fields[#fields + 1] = 'firstAttemptAt'
  fields[#fields + 1] = first
end
redis.call('HSET', key, unpack(fields))
redis.call('PEXPIRE', key, ttl)
if h[2] == 'pending' then return {'ambiguous', first} end
return {'fresh', first}
end`;

// The terminal outcome of one key and its result event (see Ledger.finish): 0 when the key was
// already terminal (nothing written), else 1.
const FINISH_FN = `local function finish(key, stream, ttl, maxLen, kind, extra, ev)
if redis.call('HEXISTS', key, 'terminal') == 1 then return 0 end
local fields = {'terminal', kind, 'state', kind}
for _, v in ipairs(extra) do fields[#fields + 1] = v end
redis.call('HSET', key, unpack(fields))
redis.call('HDEL', key, 'owner')
redis.call('PEXPIRE', key, ttl)
redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', unpack(ev))
return 1
end`;

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
${CLAIM_FN}
return claim(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], now)`,
  },
  // Claims of many keys in one script: KEYS are the ledger keys, ARGV the TTL then owner,
  // lease and settle time per key. One reply per key, as the single claim's.
  ledgerClaimMany: {
    numberOfKeys: null,
    lua: `${NOW}
${CLAIM_FN}
local out = {}
for i, key in ipairs(KEYS) do
  local b = 2 + (i - 1) * 3
  out[i] = claim(key, ARGV[b], ARGV[b + 1], ARGV[1], ARGV[b + 2], now)
end
return out`,
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
    lua: `${FINISH_FN}
local n = tonumber(ARGV[4])
local fields = {}
for i = 1, n * 2 do fields[i] = ARGV[4 + i] end
local ev = {}
for i = 5 + n * 2, #ARGV do ev[#ev + 1] = ARGV[i] end
return finish(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], fields, ev)`,
  },
  // Finishes of many keys in one script: KEYS are the ledger keys then the event stream; ARGV the
  // TTL, the stream's MAXLEN, then per key its kind, its field count and fields, its event's
  // value count and values. Events are appended in the order of the keys.
  ledgerFinishMany: {
    numberOfKeys: null,
    lua: `${FINISH_FN}
local stream = KEYS[#KEYS]
local out = {}
local a = 3
for i = 1, #KEYS - 1 do
  local kind = ARGV[a]
  local n = tonumber(ARGV[a + 1]) * 2
  local fields = {}
  for j = 1, n do fields[j] = ARGV[a + 1 + j] end
  a = a + 2 + n
  local m = tonumber(ARGV[a])
  local ev = {}
  for j = 1, m do ev[j] = ARGV[a + j] end
  a = a + 1 + m
  out[i] = finish(KEYS[i], stream, ARGV[1], ARGV[2], kind, fields, ev)
end
return out`,
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

interface ClaimCall {
  /** The ledger's Redis key. */
  key: string;
  owner: string;
  leaseMs: number;
  settleMs: number;
}

interface FinishCall {
  key: string;
  kind: string;
  /** Extra fields, flat (name, value, …). */
  fields: string[];
  /** The event's fields for XADD, flat. */
  event: string[];
}

function claimResult(reply: unknown): ClaimResult {
  const [kind, a] = reply as [string, string];
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

  // Claims and finishes of concurrent jobs leave as one script call per turn of the event loop:
  // at a few thousand jobs/s a command's write is a good share of a job's CPU. A lone call goes
  // as the single-key script, as before.
  const claims = createCoalescer<ClaimCall, ClaimResult>(async (batch) => {
    const [only] = batch;
    const results =
      batch.length === 1 && only
        ? [claimResult(await scripts.ledgerClaim(only.key, only.owner, only.leaseMs, ttlMs, only.settleMs))]
        : (
            (await scripts.ledgerClaimMany(batch.length, ...batch.map((c) => c.key), ttlMs, ...batch.flatMap((c) => [c.owner, c.leaseMs, c.settleMs]))) as unknown[]
          ).map(claimResult);
    const taken = (r: ClaimResult) => r.kind === 'fresh' || r.kind === 'ambiguous';
    if (!options.confirmWrites || !results.some(taken) || (await options.confirmWrites())) return results;
    // Unconfirmed: nothing has been sent under these claims, so each goes back to what it was
    // (a fresh key to idle; an ambiguous one to pending, to be reconciled at once). Should that
    // fail, the lease runs out and the next attempt reconciles: safe either way.
    await Promise.all(
      batch.map((c, i) => {
        const kind = results[i]?.kind;
        if (kind !== 'fresh' && kind !== 'ambiguous') return undefined;
        return scripts.ledgerRelease(c.key, c.owner, kind === 'fresh' ? 'clear' : 'answered').catch(() => undefined);
      }),
    );
    return results.map((r): ClaimResult => (taken(r) ? { kind: 'unconfirmed' } : r));
  });
  // The acceptances of concurrent requests (each a list of keys, in order), likewise.
  const accepts = createCoalescer<readonly string[], boolean[]>(async (batch) => {
    const all = batch.flat();
    const [only] = all;
    if (all.length === 1 && only !== undefined) return [[(await scripts.ledgerAccept(only, ttlMs)) === 1]];
    const reply = await scripts.ledgerAcceptMany(all.length, ...all, ttlMs);
    const fresh = (Array.isArray(reply) ? reply : []).map((value) => value === 1);
    if (fresh.length !== all.length) throw new Error(`the ledger answered ${fresh.length} acceptances for ${all.length} keys`);
    let at = 0;
    return batch.map((list) => fresh.slice(at, (at += list.length)));
  });
  const finishes = createCoalescer<FinishCall, boolean>(async (batch) => {
    const [only] = batch;
    if (batch.length === 1 && only) {
      return [(await scripts.ledgerFinish(only.key, keys.events(), ttlMs, maxLen, only.kind, only.fields.length / 2, ...only.fields, ...only.event)) === 1];
    }
    const args = batch.flatMap((f) => [f.kind, f.fields.length / 2, ...f.fields, f.event.length, ...f.event]);
    const reply = await scripts.ledgerFinishMany(batch.length + 1, ...batch.map((f) => f.key), keys.events(), ttlMs, maxLen, ...args);
    return (reply as unknown[]).map((v) => v === 1);
  });

  return {
    async accept(key) {
      const [fresh] = await accepts.call([keys.ledger(key)]);
      return fresh === true;
    },
    async acceptMany(list) {
      if (list.length === 0) return [];
      return accepts.call(list.map((key) => keys.ledger(key)));
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
    claim(key, owner, leaseMs, settleMs) {
      return claims.call({ key: keys.ledger(key), owner, leaseMs, settleMs });
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
      const done = await finishes.call({ key: keys.ledger(key), kind: event.kind, fields: flat, event: eventFields(event) });
      return done ? event : null;
    },
    async reopen(key) {
      return (await scripts.ledgerReopen(keys.ledger(key))) === 1;
    },
    async forget(key) {
      await redis.del(keys.ledger(key));
    },
  };
}

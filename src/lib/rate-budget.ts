import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { AbortedError } from './errors.ts';
import type { RedisClient } from './redis.ts';
import { ACQUIRE_LUA, REPORT_LUA, STATE_LUA } from './rate-budget.lua.ts';
import { jitteredDelayMs, planRateBudget } from './rate-budget-plan.ts';
import {
  LANES,
  type CreateRateBudgetOptions,
  type Grant,
  type Lane,
  type RateBudget,
  type RateBudgetState,
  type RateLimitedReport,
  type TryAcquireResult,
} from './rate-budget-types.ts';

export * from './rate-budget-types.ts';
export { MAX_REALTIME_RESERVE, planRateBudget, type RateBudgetPlan } from './rate-budget-plan.ts';

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;
type ScriptClient = Record<'aiqBudgetAcquire' | 'aiqBudgetReport' | 'aiqBudgetState', ScriptFn>;

/** Defines the budget's Lua commands on a connection once; ioredis runs them by EVALSHA. */
function withScripts(redis: RedisClient): ScriptClient {
  const r = redis as (Redis | Cluster) & Partial<ScriptClient>;
  if (typeof r.aiqBudgetAcquire !== 'function') {
    r.defineCommand('aiqBudgetAcquire', { lua: ACQUIRE_LUA });
    r.defineCommand('aiqBudgetReport', { lua: REPORT_LUA });
    r.defineCommand('aiqBudgetState', { lua: STATE_LUA });
  }
  return r as unknown as ScriptClient;
}

function numbers(reply: unknown, min: number): number[] {
  const values = Array.isArray(reply) ? reply.map(Number) : [];
  if (values.length < min || values.some((v) => !Number.isFinite(v))) {
    throw new Error(`unexpected reply from a rate budget script: ${JSON.stringify(reply)}`);
  }
  return values;
}

const perLane = (): Record<Lane, number> => ({ realtime: 0, bulk: 0 });

interface Waiter {
  lane: Lane;
  settle(outcome: { grantedAt: number } | { error: unknown }): void;
}

/**
 * The shared rate budget of one account. Design (the Lua is in rate-budget.lua.ts):
 * - every window is a sliding log (a sorted set of grant times); a grant needs room in all;
 * - consecutive grants are spaced by shortest window / its limit / pace, so the stream is steady;
 * - real-time callers announce themselves in a demand set; while it is not empty, bulk keeps to
 *   its share of the shortest window and leaves real-time a head start at each slot;
 * - a 429 puts the account in a cool-down and lowers the pace, which recovers gradually.
 * Each instance runs one loop that asks Redis for its callers in turn (real-time first) and
 * sleeps as long as Redis says, so Redis sees one attempt per slot per process, not per caller.
 */
export function createRateBudget(options: CreateRateBudgetOptions): RateBudget {
  const { keys, account } = options;
  const plan = planRateBudget(options.windows, options.realtimeReserve);
  const log = options.logger?.child({ component: 'rate-budget', account });
  const scripts = withScripts(options.redis);
  const recovery = options.paceRecoveryPerSecond ?? 0.05;
  const jitterMs = options.jitterMs ?? 3;
  const instanceId = randomUUID();
  const budgetKeys = [
    keys.budget(account),
    keys.budgetDemand(account),
    keys.budgetBulk(account),
    ...plan.windows.map((w) => keys.budgetWindow(account, w.windowMs)),
  ];
  const windowArgs = plan.windows.flatMap((w) => [w.limit, w.windowMs]);
  const demandSlackMs = Math.max(1_000, 2 * plan.baseIntervalMs);
  const minHashTtlMs = plan.longestWindowMs + 1_000;

  const counters = { grants: perLane(), waits: perLane(), waitedMs: perLane() };
  const queues: Record<Lane, Waiter[]> = { realtime: [], bulk: [] };
  let pumping = false;
  let sleepingLane: Lane | undefined;
  let wake: (() => void) | undefined;
  /** Whether this instance's entry may be in the demand set. */
  let demandAnnounced = false;
  /** Serialises the pump's Redis calls with the removal of the demand entry. */
  let serial: Promise<unknown> = Promise.resolve();
  const inSeries = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = serial.then(fn);
    serial = next.catch(() => undefined);
    return next;
  };

  async function attempt(lane: Lane, announce: boolean, moreWaiting: boolean): Promise<TryAcquireResult> {
    const reply = await scripts.aiqBudgetAcquire(
      budgetKeys.length,
      ...budgetKeys,
      lane,
      announce ? instanceId : '',
      moreWaiting ? '1' : '0',
      plan.baseIntervalMs,
      plan.bulkShare,
      options.priorityGapMs ?? 30,
      recovery,
      demandSlackMs,
      minHashTtlMs,
      ...windowArgs,
    );
    const [granted, value] = numbers(reply, 2) as [number, number];
    return granted === 1 ? { granted: true, grantedAt: value } : { granted: false, waitMs: value };
  }

  /** Removes this instance's demand entry once no real-time caller waits here any more. */
  const withdrawDemand = () =>
    inSeries(async () => {
      if (queues.realtime.length > 0 || !demandAnnounced) return;
      await options.redis.zrem(keys.budgetDemand(account), instanceId);
      demandAnnounced = false;
    });

  function sleep(ms: number, lane: Lane): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        sleepingLane = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
      sleepingLane = lane;
    });
  }

  /** One loop per instance: real-time callers first, one Redis attempt at a time, FIFO per lane. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const lane: Lane | undefined =
          queues.realtime.length > 0 ? 'realtime' : queues.bulk.length > 0 ? 'bulk' : undefined;
        if (lane === undefined) break;
        const realtime = lane === 'realtime';
        const more = realtime && queues.realtime.length > 1;
        const result = await inSeries(async () => {
          const r = await attempt(lane, realtime, more);
          if (realtime) demandAnnounced = r.granted ? more : true;
          return r;
        });
        if (result.granted) {
          // Callers aborted while the attempt ran are gone: the grant goes to the next in line.
          queues[lane].shift()?.settle({ grantedAt: result.grantedAt });
        } else {
          counters.waits[lane] += 1;
          options.onWait?.(lane, result.waitMs);
          if (queues[lane].length > 0) await sleep(jitteredDelayMs(result.waitMs, jitterMs), lane);
        }
        if (queues.realtime.length === 0 && demandAnnounced) await withdrawDemand();
      }
    } catch (error) {
      log?.error({ err: error }, 'rate budget failed; rejecting its waiters');
      for (const lane of LANES) for (const w of queues[lane].splice(0)) w.settle({ error });
      void withdrawDemand().catch(() => undefined);
    } finally {
      pumping = false;
    }
  }

  function acquire(lane: Lane, signal?: AbortSignal): Promise<Grant> {
    if (signal?.aborted) return Promise.reject(new AbortedError('aborted while waiting for the rate budget'));
    return new Promise<Grant>((resolve, reject) => {
      const enqueuedAt = Date.now();
      const onAbort = () => {
        const queue = queues[lane];
        const at = queue.indexOf(waiter);
        if (at < 0) return;
        queue.splice(at, 1);
        if (sleepingLane === lane && queue.length === 0) wake?.();
        const error = new AbortedError('aborted while waiting for the rate budget', { cause: signal?.reason });
        if (lane === 'realtime' && queue.length === 0) {
          withdrawDemand().then(
            () => reject(error),
            (err: unknown) => {
              log?.warn({ err }, 'could not withdraw real-time demand');
              reject(error);
            },
          );
        } else {
          reject(error);
        }
      };
      const waiter: Waiter = {
        lane,
        settle(outcome) {
          signal?.removeEventListener('abort', onAbort);
          if ('error' in outcome) return reject(outcome.error);
          const waitedMs = Date.now() - enqueuedAt;
          counters.grants[lane] += 1;
          counters.waitedMs[lane] += waitedMs;
          options.onGrant?.(lane, waitedMs);
          resolve({ grantedAt: outcome.grantedAt, waitedMs });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queues[lane].push(waiter);
      // Real-time may be granted where bulk is held back: retry at once instead of sleeping on.
      if (lane === 'realtime' && sleepingLane === 'bulk') wake?.();
      void pump();
    });
  }

  async function reportRateLimited(
    retryAfterMs?: number,
    reportOptions: { grantedAt?: number } = {},
  ): Promise<RateLimitedReport> {
    const retryAfter = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0;
    const reply = await scripts.aiqBudgetReport(
      1,
      keys.budget(account),
      retryAfter ? Math.ceil(retryAfterMs) : '',
      reportOptions.grantedAt ?? '',
      options.cooldownBaseMs ?? 1_000,
      options.cooldownMaxMs ?? 60_000,
      options.backoffResetMs ?? 30_000,
      options.paceDecrease ?? 0.7,
      options.paceMin ?? 0.1,
      recovery,
      minHashTtlMs,
    );
    const [cooldownUntil, cooldownMs, pace, consecutive, counted] = numbers(reply, 5) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const report = { cooldownUntil, cooldownMs, pace, consecutive, counted: counted === 1 };
    if (report.counted) log?.warn(report, 'rate limited by AIQ: account cooling down');
    return report;
  }

  async function state(): Promise<RateBudgetState> {
    const reply = await scripts.aiqBudgetState(
      budgetKeys.length,
      ...budgetKeys,
      recovery,
      ...plan.windows.map((w) => w.windowMs),
    );
    const v = numbers(reply, 6 + plan.windows.length);
    return {
      now: v[0] as number,
      pace: v[1] as number,
      cooldownUntil: v[2] as number,
      consecutiveRateLimits: v[3] as number,
      realtimeWaiting: v[4] as number,
      bulkGrantsInShortestWindow: v[5] as number,
      grantsInWindow: plan.windows.map((w, i) => ({ ...w, grants: v[6 + i] as number })),
    };
  }

  return {
    account,
    windows: plan.windows,
    acquire,
    tryAcquire: (lane) => attempt(lane, false, false),
    reportRateLimited,
    state,
    stats: () => ({
      grants: { ...counters.grants },
      waits: { ...counters.waits },
      waitedMs: { ...counters.waitedMs },
      waiting: { realtime: queues.realtime.length, bulk: queues.bulk.length },
    }),
  };
}

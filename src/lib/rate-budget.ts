import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { AbortedError } from './errors.ts';
import type { RedisClient } from './redis.ts';
import { ACQUIRE_LUA, REPORT_LUA, RESTAMP_LUA, STATE_LUA } from './rate-budget.lua.ts';
import { jitteredDelayMs, planRateBudget } from './rate-budget-plan.ts';
import { numbers, parseAcquireReply, type AcquireReply, type SlotGrant } from './rate-budget-reply.ts';
import { createClockSync, createMarginTracker } from './rate-budget-timing.ts';
import {
  LANES,
  type CreateRateBudgetOptions,
  type Grant,
  type Lane,
  type RateBudget,
  type RateBudgetState,
  type RateLimitedReport,
} from './rate-budget-types.ts';

export * from './rate-budget-types.ts';
export { MAX_REALTIME_RESERVE, planRateBudget, type RateBudgetPlan } from './rate-budget-plan.ts';

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;
type ScriptClient = Record<'aiqBudgetAcquire' | 'aiqBudgetReport' | 'aiqBudgetState' | 'aiqBudgetRestamp', ScriptFn>;

/** Defines the budget's Lua commands on a connection once; ioredis runs them by EVALSHA. */
function withScripts(redis: RedisClient): ScriptClient {
  const r = redis as (Redis | Cluster) & Partial<ScriptClient>;
  if (typeof r.aiqBudgetRestamp !== 'function') {
    r.defineCommand('aiqBudgetAcquire', { lua: ACQUIRE_LUA });
    r.defineCommand('aiqBudgetReport', { lua: REPORT_LUA });
    r.defineCommand('aiqBudgetState', { lua: STATE_LUA });
    r.defineCommand('aiqBudgetRestamp', { lua: RESTAMP_LUA });
  }
  return r as unknown as ScriptClient;
}

const perLane = (): Record<Lane, number> => ({ realtime: 0, bulk: 0 });

interface Waiter {
  lane: Lane;
  settle(outcome: { grantedAt: number } | { error: unknown }): void;
}

/** A slot reserved for a caller that sleeps until it. */
interface Reservation {
  lane: Lane;
  grant: SlotGrant;
  timer: NodeJS.Timeout;
}

/** A caller woken this much later than its slot has its grant moved in the log (ms). */
const RESTAMP_AFTER_MS = 2;
/** Real-time callers may reserve up to one spacing ahead (the script caps the horizon at the spacing). */
const REALTIME_HORIZON_CAP_MS = 3_600_000;
/** Slots within this many ms are reserved in one call even when the spacing is shorter (high budgets). */
const MIN_HORIZON_MS = 1;

/**
 * The shared rate budget of one account. Design (the Lua is in rate-budget.lua.ts):
 * - every window is a sliding log (a sorted set of grant times); a grant needs room in all;
 * - consecutive grants are spaced by shortest window / its limit / pace, so the stream is steady;
 * - a grant is a reservation of the next slot, handed out shortly before it (within one spacing)
 *   so that a caller woken a little late still sends on time; short spacings get many at once;
 * - each window counts as a little longer than AIQ's (a margin widened by slow answers), and a
 *   caller that still sends late has its grant moved in the log, so what AIQ sees fits too;
 * - real-time callers announce themselves in a demand set; while it is not empty, bulk keeps to
 *   its share of the shortest window and leaves real-time a head start at each slot;
 * - a 429 puts the account in a cool-down and lowers the pace, which recovers gradually; when
 *   the log shows how many requests AIQ took before refusing, the pace goes just below that.
 * Each instance runs one loop that asks Redis for its callers in turn (real-time first) and
 * sleeps as long as Redis says, so Redis sees about one call per slot per process, not per caller.
 */
export function createRateBudget(options: CreateRateBudgetOptions): RateBudget {
  const { keys, account } = options;
  const plan = planRateBudget(options.windows, options.realtimeReserve);
  const log = options.logger?.child({ component: 'rate-budget', account });
  const scripts = withScripts(options.redis);
  const recovery = options.paceRecoveryPerSecond ?? 0.05;
  const jitterMs = options.jitterMs ?? 3;
  const priorityGapMs = options.priorityGapMs ?? 30;
  const windowMarginMs = options.windowMarginMs ?? 15;
  const bulkHorizonMs = Math.min(options.bulkHorizonMs ?? 5, priorityGapMs);
  const instanceId = randomUUID();
  const budgetKeys = [
    keys.budget(account),
    keys.budgetDemand(account),
    keys.budgetBulk(account),
    ...plan.windows.map((w) => keys.budgetWindow(account, w.windowMs)),
  ];
  const clock = createClockSync();
  const margins = createMarginTracker(windowMarginMs, plan.longestWindowMs);
  const shortestMs = (plan.windows[0] as (typeof plan.windows)[number]).windowMs;
  /** This instance's slowest recent answer and its age, then (limit, windowMs, marginMs) per window. */
  const marginArgs = () => {
    const now = Date.now();
    return [...margins.slowest(shortestMs + 1_000, now), ...plan.windows.flatMap((w) => [w.limit, w.windowMs, margins.marginFor(w.windowMs, now)])];
  };
  /** Keys a grant of a lane is logged in: every window, and the bulk log for bulk. */
  const logKeys: Record<Lane, string[]> = {
    realtime: budgetKeys.slice(3),
    bulk: [keys.budgetBulk(account), ...budgetKeys.slice(3)],
  };
  const demandSlackMs = Math.max(1_000, 2 * plan.baseIntervalMs);
  const minHashTtlMs = plan.longestWindowMs + 1_000;

  const counters = { grants: perLane(), waits: perLane(), waitedMs: perLane() };
  const queues: Record<Lane, Waiter[]> = { realtime: [], bulk: [] };
  const reserved = new Map<Waiter, Reservation>();
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

  /**
   * One call of the acquire script for `waiting` callers of a lane: reservations (Redis-clock
   * instants, the first maybe now) or how long to wait. `horizonCapMs` 0 grants only at once.
   */
  async function attempt(lane: Lane, announce: boolean, waiting: number, horizonCapMs: number, minHorizonMs: number): Promise<AcquireReply> {
    const reply = await scripts.aiqBudgetAcquire(
      budgetKeys.length,
      ...budgetKeys,
      lane,
      announce ? instanceId : '',
      waiting,
      plan.baseIntervalMs,
      plan.bulkShare,
      priorityGapMs,
      recovery,
      demandSlackMs,
      minHashTtlMs,
      horizonCapMs,
      minHorizonMs,
      ...marginArgs(),
    );
    const localAt = Date.now();
    const parsed = parseAcquireReply(reply);
    clock.sample(localAt, parsed.now);
    return parsed;
  }

  /**
   * A caller woke later than its slot (a busy event loop, a slow Redis reply): its request leaves
   * later than the log says, so the log is moved to when it really left. The windows then stay
   * right about what AIQ sees, at the cost of one call for late wakers only.
   */
  function restamp(lane: Lane, member: string, sentAt: number): void {
    const keysOfLane = logKeys[lane];
    scripts.aiqBudgetRestamp(keysOfLane.length, ...keysOfLane, sentAt.toFixed(3), member).catch((err: unknown) => {
      log?.debug({ err }, 'could not move a late grant in the log');
    });
  }

  /** Hands a reservation to a caller when it is due (at once when it already is). */
  function deliver(waiter: Waiter, lane: Lane, grant: SlotGrant): void {
    const dueAt = clock.toLocal(grant.at);
    const settle = () => {
      const late = Date.now() - dueAt;
      if (grant.tight && late > RESTAMP_AFTER_MS) restamp(lane, grant.member, grant.at + late);
      waiter.settle({ grantedAt: grant.at });
    };
    const delayMs = dueAt - Date.now();
    // Within the shortest horizon the wait is not worth a timer: the margin covers a slot sent that early.
    if (delayMs < MIN_HORIZON_MS) return settle();
    const timer = setTimeout(() => {
      reserved.delete(waiter);
      settle();
    }, delayMs);
    reserved.set(waiter, { lane, grant, timer });
  }

  /** A caller aborted while its reservation was pending: the next caller in its lane takes the slot. */
  function passOn(waiter: Waiter): boolean {
    const r = reserved.get(waiter);
    if (!r) return false;
    clearTimeout(r.timer);
    reserved.delete(waiter);
    const next = queues[r.lane].shift();
    if (next) deliver(next, r.lane, r.grant);
    if (r.lane === 'realtime' && queues.realtime.length === 0 && demandAnnounced) void withdrawDemand().catch(() => undefined);
    return true;
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

  /**
   * One loop per instance: real-time callers first, one Redis call at a time, FIFO per lane.
   * Each call reserves slots for as many waiting callers as the horizon allows (see the script).
   */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const lane: Lane | undefined =
          queues.realtime.length > 0 ? 'realtime' : queues.bulk.length > 0 ? 'bulk' : undefined;
        if (lane === undefined) break;
        const realtime = lane === 'realtime';
        const waiting = queues[lane].length;
        const result = await inSeries(async () => {
          // Bulk reserves only just before a slot, so a real-time caller arriving earlier still
          // finds it free; real-time reserves up to one spacing ahead.
          const r = await attempt(lane, realtime, waiting, realtime ? REALTIME_HORIZON_CAP_MS : bulkHorizonMs, MIN_HORIZON_MS);
          if (realtime) demandAnnounced = r.grants.length < waiting;
          return r;
        });
        if (result.grants.length > 0) {
          const firstDelay = (result.grants[0] as SlotGrant).at - result.now;
          if (firstDelay >= 0.5) {
            counters.waits[lane] += 1;
            options.onWait?.(lane, firstDelay);
          }
          for (const grant of result.grants) {
            // Callers aborted while the call ran are gone: their slots go to the next in line.
            const waiter = queues[lane].shift();
            if (!waiter) break;
            deliver(waiter, lane, grant);
          }
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
        const error = new AbortedError('aborted while waiting for the rate budget', { cause: signal?.reason });
        if (passOn(waiter)) {
          reject(error);
          return;
        }
        const queue = queues[lane];
        const at = queue.indexOf(waiter);
        if (at < 0) return;
        queue.splice(at, 1);
        if (sleepingLane === lane && queue.length === 0) wake?.();
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
    const shortest = plan.windows[0] as (typeof plan.windows)[number];
    const reply = await scripts.aiqBudgetReport(
      2,
      keys.budget(account),
      keys.budgetWindow(account, shortest.windowMs),
      retryAfter ? Math.ceil(retryAfterMs) : '',
      reportOptions.grantedAt ?? '',
      options.cooldownBaseMs ?? 1_000,
      options.cooldownMaxMs ?? 60_000,
      options.backoffResetMs ?? 30_000,
      options.paceDecrease ?? 0.7,
      options.paceMin ?? 0.1,
      recovery,
      minHashTtlMs,
      shortest.limit,
      shortest.windowMs,
      options.limitHeadroom ?? 0.97,
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
    tryAcquire: async (lane) => {
      const r = await attempt(lane, false, 1, 0, 0);
      const grant = r.grants[0];
      return grant === undefined ? { granted: false, waitMs: r.waitMs } : { granted: true, grantedAt: grant.at };
    },
    reportRateLimited,
    observeAnswer: (durationMs) => margins.observe(durationMs, Date.now()),
    state,
    stats: () => ({
      grants: { ...counters.grants },
      waits: { ...counters.waits },
      waitedMs: { ...counters.waitedMs },
      waiting: { realtime: queues.realtime.length, bulk: queues.bulk.length },
    }),
  };
}

import type { RateWindow } from './config.ts';
import type { Keys } from './keys.ts';
import type { Logger } from './logger.ts';
import type { RedisClient } from './redis.ts';

/** Public types of the shared rate budget (src/lib/rate-budget.ts). */

/** `realtime`: points, opt-ins, contacts. `bulk`: attribute sync, backfill. */
export type Lane = 'realtime' | 'bulk';
export const LANES = ['realtime', 'bulk'] as const satisfies readonly Lane[];

export interface Grant {
  /** The instant granted (the caller was woken at it), in epoch ms of the Redis server's clock. */
  grantedAt: number;
  /** How long this caller waited, in ms of the local clock. */
  waitedMs: number;
}

export type TryAcquireResult = { granted: true; grantedAt: number } | { granted: false; waitMs: number };

export interface RateLimitedReport {
  /** End of the account's cool-down, epoch ms (Redis clock). */
  cooldownUntil: number;
  /** Cool-down left from now, ms. */
  cooldownMs: number;
  pace: number;
  /** Consecutive 429s of the current episode. */
  consecutive: number;
  /** False when the 429 belonged to an episode already counted (only Retry-After applied). */
  counted: boolean;
}

export interface RateBudgetState {
  /** The Redis server's clock, epoch ms. */
  now: number;
  /** 0.1..1: the fraction of the shortest window's rate used for spacing. */
  pace: number;
  /** Epoch ms (Redis clock) until which nothing is granted; 0 when there never was a 429. */
  cooldownUntil: number;
  consecutiveRateLimits: number;
  /** Grants in the sliding window ending now, shortest window first. */
  grantsInWindow: Array<RateWindow & { grants: number }>;
  bulkGrantsInShortestWindow: number;
  /** Budget instances (processes) with real-time requests waiting. */
  realtimeWaiting: number;
}

/** Counters of this instance since it was created, for metrics. */
export interface RateBudgetStats {
  grants: Record<Lane, number>;
  /** Times a lane had to sleep because Redis said "not yet". */
  waits: Record<Lane, number>;
  /** Total time callers waited for their grant, ms. */
  waitedMs: Record<Lane, number>;
  /** Callers waiting right now in this instance. */
  waiting: Record<Lane, number>;
}

/** One account's API budget, shared through Redis by every queue and process. */
export interface RateBudget {
  readonly account: string;
  /** The windows in force, shortest first. */
  readonly windows: readonly RateWindow[];
  /** Waits until a grant is taken. Rejects only with AbortedError when `signal` fires. */
  acquire(lane: Lane, signal?: AbortSignal): Promise<Grant>;
  /** One attempt, without waiting and without announcing real-time demand. */
  tryAcquire(lane: Lane): Promise<TryAcquireResult>;
  /**
   * AIQ answered 429: cools the whole account down (Retry-After, or exponential backoff) and
   * lowers the pace. `grantedAt` (of the request that got the 429) lets concurrent 429s of one
   * burst count once.
   */
  reportRateLimited(retryAfterMs?: number, options?: { grantedAt?: number }): Promise<RateLimitedReport>;
  /**
   * How long a request sent under this budget took until AIQ answered (ms). A request reaches
   * AIQ somewhere between its grant and its answer, so slow answers widen the margin the windows
   * keep (up to a quarter of each window) for as long as those requests can still be in them.
   */
  observeAnswer(durationMs: number): void;
  state(): Promise<RateBudgetState>;
  stats(): RateBudgetStats;
}

export interface CreateRateBudgetOptions {
  redis: RedisClient;
  keys: Keys;
  account: string;
  windows: readonly RateWindow[];
  /** Share (0..0.95) of the shortest window kept for real-time work while it waits. */
  realtimeReserve: number;
  logger?: Logger;
  /** Called each time a lane must sleep, with the wait in ms (metrics). */
  onWait?: (lane: Lane, waitMs: number) => void;
  /** Called for each grant with how long its caller waited, in ms (metrics). */
  onGrant?: (lane: Lane, waitedMs: number) => void;
  /** First cool-down without Retry-After, ms; doubled per consecutive 429. Default 1000. */
  cooldownBaseMs?: number;
  /** Longest cool-down without Retry-After, ms. Default 60 000. */
  cooldownMaxMs?: number;
  /** Quiet time after a cool-down that restarts the consecutive count, ms. Default 30 000. */
  backoffResetMs?: number;
  /**
   * Pace multiplier per 429 when the grant log tells nothing plausible about AIQ's real limit
   * (the recovery then stops at 90% of the pace that drew it). Default 0.7.
   */
  paceDecrease?: number;
  /**
   * After a 429, the pace becomes this share of the rate AIQ evidently allowed (the shortest
   * window's grants when it refused), when that is at least half the pace: the budget settles just
   * below a limit set lower than configured instead of probing it again. Default 0.97.
   */
  limitHeadroom?: number;
  /** Lowest pace. Default 0.1. */
  paceMin?: number;
  /** Pace regained per second without 429, up to 1. Default 0.05. */
  paceRecoveryPerSecond?: number;
  /** Head start of real-time over bulk at each slot, ms (at most one spacing). Default 30. */
  priorityGapMs?: number;
  /**
   * How long before its slot bulk work may reserve it, ms (real-time: up to one spacing). A
   * real-time caller arriving earlier than that takes the slot instead; a bulk waker later than
   * that loses only its lateness. Default 5, at most `priorityGapMs`.
   */
  bulkHorizonMs?: number;
  /** Random extra sleep, ms, so the waiters of many processes do not wake at once. Default 3. */
  jitterMs?: number;
  /**
   * Extra length given to every window, ms, so requests that reach AIQ a few ms out of the
   * order they were granted in still fit its sliding window; slower answers widen it (see
   * `observeAnswer`). Default 15 (1.5 % of a 1-s window).
   */
  windowMarginMs?: number;
}

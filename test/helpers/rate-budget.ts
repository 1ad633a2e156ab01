import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import { AbortedError } from '../../src/lib/errors.ts';
import { createKeys, type Keys } from '../../src/lib/keys.ts';
import { createRateBudget, type CreateRateBudgetOptions, type Lane, type RateBudget } from '../../src/lib/rate-budget.ts';
import { createTestRedis, deletePrefix, testPrefix } from './redis.ts';
import { waitFor } from './wait-for.ts';

export interface GrantRecord {
  /** Grant time on the Redis clock, epoch ms. */
  at: number;
  lane: Lane;
  /** Index of the budget instance (simulated process) that got it. */
  instance: number;
}

export interface BudgetRig {
  keys: Keys;
  account: string;
  /** One budget per simulated process, each on its own connection. */
  budgets: RateBudget[];
  redis: Redis;
  close(): Promise<void>;
}

type RigOptions = Omit<CreateRateBudgetOptions, 'redis' | 'keys' | 'account'>;

/** `processes` budget instances of one account, each with its own Redis connection. */
export function createBudgetRig(processes: number, options: RigOptions): BudgetRig {
  const prefix = testPrefix();
  const keys = createKeys(prefix);
  const account = 'acct';
  const connections = Array.from({ length: processes }, () => createTestRedis());
  const redis = createTestRedis();
  const budgets = connections.map((connection) => createRateBudget({ ...options, redis: connection, keys, account }));
  return {
    keys,
    account,
    budgets,
    redis,
    async close() {
      await deletePrefix(redis, prefix);
      await Promise.all([...connections, redis].map((c) => c.quit()));
    },
  };
}

/**
 * Runs `loops` callers per budget on a lane, each acquiring again as soon as it is granted,
 * until `signal` fires. Grants go to `sink` as they come.
 */
export function drive(
  budgets: readonly RateBudget[],
  lane: Lane,
  loops: number,
  signal: AbortSignal,
  sink: GrantRecord[],
  firstInstance = 0,
): Promise<void> {
  const callers = budgets.flatMap((budget, i) =>
    Array.from({ length: loops }, async () => {
      while (!signal.aborted) {
        try {
          const grant = await budget.acquire(lane, signal);
          sink.push({ at: grant.grantedAt, lane, instance: firstInstance + i });
        } catch (err) {
          if (err instanceof AbortedError) return;
          throw err;
        }
      }
    }),
  );
  return Promise.all(callers).then(() => undefined);
}

/** Drives the lanes until `sink` holds `count` grants, then stops every caller. */
export async function collectGrants(
  count: number,
  run: (signal: AbortSignal, sink: GrantRecord[]) => Promise<void>,
  timeoutMs = 20_000,
): Promise<GrantRecord[]> {
  const stop = new AbortController();
  setMaxListeners(1000, stop.signal);
  const sink: GrantRecord[] = [];
  const running = run(stop.signal, sink);
  try {
    await waitFor(() => sink.length >= count, { timeoutMs, intervalMs: 5, message: `${count} grants` });
  } finally {
    stop.abort();
    await running;
  }
  return [...sink].sort((a, b) => a.at - b.at).slice(0, count);
}

/** The most grants in any half-open interval [t, t + windowMs). */
export function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    while (j < sorted.length && (sorted[j] as number) < (sorted[i] as number) + windowMs) j += 1;
    best = Math.max(best, j - i);
  }
  return best;
}

/** Grants per second between the first and the last grant. */
export function achievedRate(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const span = (sorted[sorted.length - 1] as number) - (sorted[0] as number);
  return ((sorted.length - 1) * 1000) / span;
}

/** Gaps between consecutive grants, ms. */
export function gaps(times: readonly number[]): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.slice(1).map((t, i) => t - (sorted[i] as number));
}

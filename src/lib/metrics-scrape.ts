import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import type { Keys } from './keys.ts';
import { LANES, type RateBudget } from './rate-budget-types.ts';
import type { RedisClient } from './redis.ts';

/**
 * What the scrape-time gauges read: a structural subset of the App (src/app.ts), so metrics do
 * not depend on the composition root.
 */
export interface MetricsSource {
  queues: Readonly<Record<string, Pick<Queue, 'getJobCounts'>>>;
  /** A fail-fast (producer-role) connection: a scrape never waits for Redis to come back. */
  redis: Pick<RedisClient, 'xlen'>;
  keys: Pick<Keys, 'events'>;
  accounts: ReadonlyMap<string, { budget: Pick<RateBudget, 'state' | 'stats'> }>;
}

/** Job states reported by `aiq_sync_queue_jobs`. */
export const QUEUE_STATES = ['wait', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

interface Snapshot {
  /** Per queue, counts by state; undefined when Redis did not answer. */
  counts: Map<string, Record<string, number>> | undefined;
  streamLength: number | undefined;
  budgets: Map<string, { pace: number; cooldownMs: number } | undefined>;
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

async function takeSnapshot(source: MetricsSource, timeoutMs: number): Promise<Snapshot> {
  const queueCounts = async (): Promise<Map<string, Record<string, number>>> => {
    const entries = await Promise.all(
      Object.entries(source.queues).map(async ([name, queue]) => [name, await queue.getJobCounts(...QUEUE_STATES)] as const),
    );
    return new Map(entries);
  };
  const budget = async (b: Pick<RateBudget, 'state'>) => {
    const state = await b.state();
    return { pace: state.pace, cooldownMs: Math.max(0, state.cooldownUntil - state.now) };
  };
  const [counts, streamLength, budgets] = await Promise.all([
    withTimeout(queueCounts(), timeoutMs),
    withTimeout(source.redis.xlen(source.keys.events()), timeoutMs),
    Promise.all([...source.accounts].map(async ([name, a]) => [name, await withTimeout(budget(a.budget), timeoutMs)] as const)),
  ]);
  return { counts, streamLength, budgets: new Map(budgets) };
}

export interface ScrapeGaugesOptions {
  registry: Registry;
  /** The app to read, once attached; gauges are empty until then. */
  source: () => MetricsSource | undefined;
  /** Longest wait for Redis per scrape, ms; a part that does not answer in time is left out. */
  timeoutMs: number;
}

/**
 * Gauges read at scrape time from Redis and the budgets. One snapshot serves every gauge of a
 * scrape (prom-client collects them concurrently); a part that fails or times out is left out
 * rather than reported stale, and `aiq_sync_redis_up` says so.
 */
export function registerScrapeGauges(options: ScrapeGaugesOptions): void {
  const { registry, source, timeoutMs } = options;
  let inflight: Promise<Snapshot | undefined> | undefined;
  const snapshot = (): Promise<Snapshot | undefined> => {
    inflight ??= (async () => {
      const s = source();
      return s === undefined ? undefined : takeSnapshot(s, timeoutMs);
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  const registers = [registry];

  new Gauge({
    name: 'aiq_sync_queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const [queue, counts] of snap?.counts ?? []) {
        for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'aiq_sync_dead_letters',
    help: 'Dead-lettered jobs per queue (the failed set), read at scrape time.',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const [queue, counts] of snap?.counts ?? []) this.set({ queue }, counts.failed ?? 0);
    },
  });
  new Gauge({
    name: 'aiq_sync_redis_up',
    help: '1 when Redis answered the last scrape, 0 when it did not.',
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      if (snap !== undefined) this.set(snap.counts === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: 'aiq_sync_events_stream_length',
    help: 'Entries in the result-event stream (XLEN at scrape time).',
    registers,
    async collect() {
      const snap = await snapshot();
      // A gauge without labels always has a value: NaN says "unknown" rather than a stale or false 0.
      this.set(snap?.streamLength ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'aiq_sync_budget_pace',
    help: "Fraction (0.1..1) of the account's shortest rate window used for spacing; below 1 after 429s.",
    labelNames: ['account'] as const,
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const [account, b] of snap?.budgets ?? []) if (b) this.set({ account }, b.pace);
    },
  });
  new Gauge({
    name: 'aiq_sync_budget_cooldown_seconds',
    help: "Cool-down left after a 429 (0 when the account's budget is open).",
    labelNames: ['account'] as const,
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const [account, b] of snap?.budgets ?? []) if (b) this.set({ account }, b.cooldownMs / 1000);
    },
  });
  new Gauge({
    name: 'aiq_sync_budget_waiting',
    help: 'Requests of this process waiting for budget right now, per account and lane.',
    labelNames: ['account', 'lane'] as const,
    registers,
    collect() {
      this.reset();
      for (const [account, a] of source()?.accounts ?? []) {
        const stats = a.budget.stats();
        for (const lane of LANES) this.set({ account, lane }, stats.waiting[lane]);
      }
    },
  });
}

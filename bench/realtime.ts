/**
 * Item 3: real-time latency under bulk load. With a budget of 50/s (AIQ limited to 50/s too),
 * a backlog of attribute syncs saturates the budget while POS sales arrive at 10/s, a fifth
 * of it; each sale's latency runs from its enqueue to its `points.applied` event's `at`. The
 * same sales without the backlog are the baseline; runs alternate.
 */
import { parseRateLimits } from '../src/lib/config.ts';
import type { ResultEvent } from '../src/lib/events.ts';
import type { AttributeUpdate } from '../src/producers/schemas.ts';
import { enqueue, startApp } from './lib/apps.ts';
import { alternate, benchPrefix, sleep, until, type BenchContext, type Figure, type SectionResult } from './lib/context.ts';
import { deletePrefix } from './lib/redis.ts';
import { appEnv, sales, startSimulator } from './lib/sim.ts';
import { median, percentile, round } from './lib/stats.ts';

const BUDGET = 50;
const SALES_PER_S = 10;

export interface RealtimeRun {
  kind: 'bulk' | 'alone';
  round: number;
  sales: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Attribute syncs applied per second while the sales arrived. */
  bulkPerS: number;
  rateLimited: number;
}

async function runOne(ctx: BenchContext, kind: RealtimeRun['kind'], round: number, salesCount: number, bulkCount: number): Promise<RealtimeRun> {
  const { sim, contactIDs } = await startSimulator({ personas: 200, limits: parseRateLimits(`${BUDGET}/s`) });
  const prefix = benchPrefix(`rt-${kind}`);
  const env = appEnv({ redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, rateLimits: `${BUDGET}/s` });
  try {
    if (kind === 'bulk') {
      const attributes: AttributeUpdate[] = Array.from({ length: bulkCount }, (_, i) => ({
        customer: { contactID: contactIDs[i % contactIDs.length] as string },
        attributes: { tier: i % 3 === 0 ? 'gold' : 'silver', visits: i },
        version: i + 1,
      }));
      await enqueue(env, { attributes });
    }
    const app = await startApp(env, ['points', 'attributes']);
    try {
      // The backlog must be running at full budget before the first sale arrives.
      if (kind === 'bulk') await until(() => sim.control.ledger().length >= BUDGET / 2, 10_000, 'the bulk load to start');
      const list = sales(contactIDs, salesCount, `${prefix}-r${round}`);
      const enqueuedAt = new Map<string, number>();
      const start = Date.now();
      const bulkBefore = sim.control.ledger().length;
      for (const [k, sale] of list.entries()) {
        const due = start + (k * 1000) / SALES_PER_S;
        if (due > Date.now()) await sleep(due - Date.now());
        const at = Date.now();
        const [result] = await app.producer.enqueuePos([sale]);
        if (result) enqueuedAt.set(result.idempotencyKey, at);
      }
      const windowMs = Date.now() - start;
      const bulkApplied = sim.control.ledger().length - bulkBefore - salesCount;
      const applied = new Map<string, ResultEvent>();
      let from = '0';
      await until(
        async () => {
          for (const e of await app.events.read(from, 5000)) {
            from = e.streamId ?? from;
            if (e.kind === 'points.applied' && enqueuedAt.has(e.key)) applied.set(e.key, e);
          }
          return applied.size >= salesCount;
        },
        60_000,
        `${salesCount} points.applied events`,
        50,
      );
      const latencies = [...applied.values()].map((e) => e.at - (enqueuedAt.get(e.key) as number));
      return {
        kind,
        round,
        sales: salesCount,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        // Sales still being applied at the end count against bulk here; close enough for "saturated".
        bulkPerS: kind === 'bulk' ? (Math.max(0, bulkApplied) * 1000) / windowMs : 0,
        rateLimited: sim.control.stats().rateLimited,
      };
    } finally {
      await app.close({ force: true });
    }
  } finally {
    await sim.close();
    await deletePrefix(ctx.redis, prefix);
  }
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const seconds = ctx.quick ? 5 : 20;
  const rounds = ctx.quick ? 1 : 3;
  const salesCount = seconds * SALES_PER_S;
  const bulkCount = ctx.quick ? 500 : 2_000;
  const runs: RealtimeRun[] = [];
  for (let r = 0; r < rounds; r += 1) {
    for (const kind of alternate(r, 'bulk' as const, 'alone' as const)) {
      const one = await runOne(ctx, kind, r, salesCount, bulkCount);
      runs.push(one);
      ctx.log(`  ${kind.padEnd(5)} p50 ${one.p50Ms} ms, p99 ${one.p99Ms} ms, max ${one.maxMs} ms; bulk ${round(one.bulkPerS, 1)}/s; ${one.rateLimited} × 429`);
    }
  }
  const m = (kind: RealtimeRun['kind'], f: (r: RealtimeRun) => number) => median(runs.filter((r) => r.kind === kind).map(f));
  const n = rounds;
  const how = `${salesCount} sales at ${SALES_PER_S}/s, budget ${BUDGET}/s; median of ${n} run${n > 1 ? 's' : ''}`;
  const figures: Figure[] = [
    {
      id: 'realtime.p50',
      item: 3,
      label: 'Sale latency enqueue → points.applied, p50, under bulk load (alone)',
      value: m('bulk', (r) => r.p50Ms),
      unit: 'ms',
      detail: `alone ${m('alone', (r) => r.p50Ms)} ms; ${how}`,
    },
    {
      id: 'realtime.p99',
      item: 3,
      label: 'Sale latency enqueue → points.applied, p99, under bulk load (alone)',
      value: m('bulk', (r) => r.p99Ms),
      unit: 'ms',
      detail: `alone ${m('alone', (r) => r.p99Ms)} ms; bulk kept ${round(m('bulk', (r) => r.bulkPerS), 1)} attribute syncs/s meanwhile (${bulkCount} queued); ${Math.max(...runs.map((r) => r.rateLimited))} × 429 at most`,
    },
  ];
  return { figures, data: { budgetPerS: BUDGET, salesPerS: SALES_PER_S, bulkJobs: bulkCount, runs } };
}

/**
 * Item 2: how faithfully the shared budget uses an AIQ limit of 50/s (sliding window), against
 * BullMQ's own fixed-window limiter. Everything runs in this process: the simulator, limited to
 * 50/s, records every applied write with its time, and each run records when every request left.
 *
 * Runs (fixed length, more work queued than fits): the pipeline configured at 50/s (exact), the
 * pipeline configured at 60/s (too high: it must find AIQ's real limit from the 429s), and a
 * plain BullMQ Worker with `limiter: {max: 50, duration: 1000}` doing one PUT per job.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { parseRateLimits } from '../src/lib/config.ts';
import type { PosTransaction } from '../src/producers/schemas.ts';
import { enqueue, startApp } from './lib/apps.ts';
import { benchPrefix, sleep, type BenchContext, type Figure, type SectionResult } from './lib/context.ts';
import { deletePrefix } from './lib/redis.ts';
import { appEnv, sales, SIM_API_KEY, SIM_UID, startSimulator } from './lib/sim.ts';
import { headShare, maxInAnyWindow, median, round } from './lib/stats.ts';

const AIQ_LIMIT = 50;
const KINDS = ['budget50', 'budget60', 'bullmq'] as const;
type Kind = (typeof KINDS)[number];

interface Sent {
  /** Epoch ms the request left. */
  at: number;
  status: number | 'network_error';
}

export interface BudgetRun {
  kind: Kind;
  round: number;
  durationMs: number;
  requests: number;
  applied: number;
  /** Applied writes per second from 1 s after the first request to the end. */
  appliedPerS: number;
  usedShare: number;
  rateLimited: number;
  rateLimitedAfterFirstSecond: number;
  /** 429s among the requests sent from 1 s after the first one on. */
  rateLimitedShareAfterFirstSecond: number;
  maxSentIn100ms: number;
  maxAppliedInAnySecond: number;
  /** Share of requests in the first 200 ms of each fixed 1-s window (20 % = steady). */
  headShare: number;
}

async function runOne(ctx: BenchContext, kind: Kind, round: number, durationMs: number): Promise<BudgetRun> {
  const { sim, contactIDs } = await startSimulator({ personas: 200, limits: parseRateLimits(`${AIQ_LIMIT}/s`) });
  const prefix = benchPrefix(kind);
  const jobs = Math.ceil((72 * durationMs) / 1000);
  const list = sales(contactIDs, jobs, `${prefix}-r${round}`);
  const sent: Sent[] = [];
  let stop: () => Promise<void>;
  try {
    if (kind === 'bullmq') {
      stop = await startBullmq(ctx.redisUrl, prefix, sim.url, list, sent);
    } else {
      const env = appEnv({ redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, rateLimits: kind === 'budget50' ? '50/s' : '60/s' });
      await enqueue(env, { sales: list });
      const app = await startApp(env, ['points'], {
        requests: (event) => sent.push({ at: Date.now() - event.durationMs, status: event.status }),
      });
      stop = () => app.close({ force: true });
    }
    const started = Date.now();
    await sleep(durationMs);
    await stop();
    const firstAt = Math.min(...sent.map((s) => s.at));
    const end = started + durationMs;
    const from = firstAt + 1000;
    const applied = sim.control.ledger().map((e) => e.at);
    const steady = applied.filter((t) => t >= from && t < end);
    const late = sent.filter((s) => s.at >= from && s.at < end);
    const limitedLate = late.filter((s) => s.status === 429).length;
    const appliedPerS = (steady.length * 1000) / (end - from);
    const inWindow = sent.filter((s) => s.at < end).map((s) => s.at);
    return {
      kind,
      round,
      durationMs,
      requests: inWindow.length,
      applied: applied.filter((t) => t < end).length,
      appliedPerS,
      usedShare: appliedPerS / AIQ_LIMIT,
      rateLimited: sent.filter((s) => s.at < end && s.status === 429).length,
      rateLimitedAfterFirstSecond: limitedLate,
      rateLimitedShareAfterFirstSecond: late.length === 0 ? 0 : limitedLate / late.length,
      maxSentIn100ms: maxInAnyWindow(inWindow, 100),
      maxAppliedInAnySecond: maxInAnyWindow(applied, 1000),
      headShare: headShare(inWindow),
    };
  } finally {
    await sim.close();
    await deletePrefix(ctx.redis, prefix);
  }
}

/** The baseline: BullMQ's limiter, 429s retried by BullMQ after 1 s. Returns its stop function. */
async function startBullmq(redisUrl: string, prefix: string, simUrl: string, list: PosTransaction[], sent: Sent[]): Promise<() => Promise<void>> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-limited', { connection, prefix });
  queue.on('error', () => undefined);
  for (let i = 0; i < list.length; i += 500) {
    await queue.addBulk(
      list.slice(i, i + 500).map((data) => ({ name: 'points', data, opts: { attempts: 100, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true } })),
    );
  }
  const pool = new Pool(simUrl, { connections: 64 });
  const worker = new Worker(
    'raw-limited',
    async (job: Job<PosTransaction>) => {
      const t = job.data;
      const at = Date.now();
      const res = await pool.request({
        method: 'PUT',
        path: `/api/v1.1/adjust/loyaltyPoints/${SIM_UID}/${encodeURIComponent(t.customer.contactID ?? '')}`,
        headers: { 'content-type': 'application/json', 'x-apikey': SIM_API_KEY },
        body: JSON.stringify({ value: Math.floor(t.total ?? 0), note: `pos:${t.source}:${t.storeId}:${t.transactionId}:${t.type}` }),
      });
      await res.body.text();
      sent.push({ at, status: res.statusCode });
      if (res.statusCode !== 200) throw new Error(`AIQ answered ${res.statusCode}`);
    },
    { connection, prefix, concurrency: 16, limiter: { max: AIQ_LIMIT, duration: 1000 } },
  );
  worker.on('error', () => undefined);
  return async () => {
    await worker.close(true);
    await queue.close();
    await pool.close();
    await connection.quit();
  };
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const durationMs = ctx.quick ? 5_000 : 20_000;
  const rounds = ctx.quick ? 1 : 3;
  const runs: BudgetRun[] = [];
  for (let roundNo = 0; roundNo < rounds; roundNo += 1) {
    // Rotate the order each round, so no kind always runs first (or right after another).
    const order = KINDS.map((_, i) => KINDS[(i + roundNo) % KINDS.length] as Kind);
    for (const kind of order) {
      const r = await runOne(ctx, kind, roundNo, durationMs);
      runs.push(r);
      ctx.log(
        `  ${kind.padEnd(8)} ${round(r.appliedPerS, 2)}/s applied (${round(r.usedShare * 100, 1)} %), ${r.rateLimited} × 429 (${r.rateLimitedAfterFirstSecond} after 1 s), ` +
          `max ${r.maxSentIn100ms} sent in 100 ms, ${round(r.headShare * 100, 1)} % in the first 200 ms of each second`,
      );
    }
  }
  return summarize(runs, durationMs);
}

function summarize(runs: BudgetRun[], durationMs: number): SectionResult {
  const m = (kind: Kind, f: (r: BudgetRun) => number) => median(runs.filter((r) => r.kind === kind).map(f));
  const n = runs.length / KINDS.length;
  const runsText = `median of ${n} run${n > 1 ? 's' : ''} of ${durationMs / 1000} s`;
  const pct = (v: number) => round(v * 100, 2);
  const figures: Figure[] = [
    {
      id: 'budget.used50',
      item: 2,
      label: 'Budget 50/s vs AIQ 50/s: share of the limit used',
      value: pct(m('budget50', (r) => r.usedShare)),
      unit: '%',
      target: { op: '>=', value: 98 },
      detail: `${round(m('budget50', (r) => r.appliedPerS), 2)} applied/s from 1 s after the first request; ${runsText}`,
    },
    {
      id: 'budget.429s50',
      item: 2,
      label: 'Budget 50/s vs AIQ 50/s: 429 answers',
      value: Math.max(...runs.filter((r) => r.kind === 'budget50').map((r) => r.rateLimited)),
      unit: '× 429',
      target: { op: '<=', value: 0 },
      detail: `the most in any run; max ${m('budget50', (r) => r.maxSentIn100ms)} sent in any 100 ms; ${pct(m('budget50', (r) => r.headShare))} % in the first 200 ms of each second`,
    },
    {
      id: 'budget.429share60',
      item: 2,
      label: 'Budget 60/s (too high) vs AIQ 50/s: 429s after the first second',
      value: pct(m('budget60', (r) => r.rateLimitedShareAfterFirstSecond)),
      unit: '% of requests',
      target: { op: '<', value: 2 },
      detail: `${m('budget60', (r) => r.rateLimitedAfterFirstSecond)} × 429 after 1 s, ${m('budget60', (r) => r.rateLimited)} in all; ${runsText}`,
    },
    {
      id: 'budget.achieved60',
      item: 2,
      label: 'Budget 60/s (too high) vs AIQ 50/s: share of 50/s achieved',
      value: pct(m('budget60', (r) => r.usedShare)),
      unit: '%',
      target: { op: '>=', value: 90 },
      detail: `${round(m('budget60', (r) => r.appliedPerS), 2)} applied/s from 1 s after the first request`,
    },
    {
      id: 'budget.bullmq429s',
      item: 2,
      label: 'Baseline BullMQ limiter {max 50, duration 1 s} vs AIQ 50/s: 429s',
      value: pct(m('bullmq', (r) => r.rateLimitedShareAfterFirstSecond)),
      unit: '% of requests',
      detail: `${m('bullmq', (r) => r.rateLimited)} × 429 in ${m('bullmq', (r) => r.requests)} requests; ${round(m('bullmq', (r) => r.appliedPerS), 2)} applied/s (${pct(m('bullmq', (r) => r.usedShare))} %)`,
    },
    {
      id: 'budget.bullmqBurst',
      item: 2,
      label: 'Baseline BullMQ limiter: burst shape',
      value: pct(m('bullmq', (r) => r.headShare)),
      unit: '% in first 200 ms of each s',
      detail: `max ${m('bullmq', (r) => r.maxSentIn100ms)} requests in any 100 ms (budget 50/s: ${m('budget50', (r) => r.maxSentIn100ms)}, ${pct(m('budget50', (r) => r.headShare))} %; steady = 5 and 20 %)`,
    },
  ];
  return { figures, data: { aiqLimitPerS: AIQ_LIMIT, durationMs, runs } };
}

/**
 * Item 1: the whole pipeline (points jobs: ledger, shared budget, AIQ client, result events)
 * against a plain BullMQ Worker doing one undici PUT per job, both draining pre-enqueued jobs
 * into the same simulator (no limit, no faults) at concurrency 50. The workers run in the
 * benchmark child, so process.cpuUsage() there is the worker side alone; Redis commands are
 * `INFO commandstats` deltas over the drain (the private Redis sees nobody else).
 */
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { createApp } from '../src/app.ts';
import { JOBS } from '../src/jobs/registry.ts';
import { loadConfig } from '../src/lib/config.ts';
import { createLogger } from '../src/lib/logger.ts';
import type { PosTransaction } from '../src/producers/schemas.ts';
import { enqueue } from './lib/apps.ts';
import { alternate, benchPrefix, type BenchContext, type Figure, type SectionResult } from './lib/context.ts';
import { commandCalls, commandDelta, deletePrefix, type CommandDelta } from './lib/redis.ts';
import { appEnv, sales, SIM_API_KEY, SIM_UID, startSimulator } from './lib/sim.ts';
import { median, round } from './lib/stats.ts';

const SELF = fileURLToPath(import.meta.url);
const CONCURRENCY = 50;
const RAW_QUEUE = 'raw-points';

export interface DrainResult {
  jobs: number;
  ms: number;
  /** process.cpuUsage() of the child over the drain, ms. */
  cpuMs: number;
  commands: CommandDelta;
  outcomes: Record<string, number>;
}

interface DrainPipelineArgs {
  env: Record<string, string>;
  jobs: number;
  timeoutMs: number;
}

/** Child side: measures one pipeline worker process draining `jobs` points jobs. */
export async function drainPipeline(args: DrainPipelineArgs): Promise<DrainResult> {
  const config = loadConfig(args.env, { roles: ['worker'] });
  const outcomes: Record<string, number> = {};
  let done = 0;
  let finish: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (finish = resolve));
  const app = createApp({
    config,
    logger: createLogger({ level: 'silent' }),
    workerQueues: ['points'],
    observers: {
      jobs: {
        onOutcome: (_queue, kind) => {
          outcomes[kind] = (outcomes[kind] ?? 0) + 1;
          done += 1;
          if (done >= args.jobs) finish();
        },
      },
    },
  });
  const stats = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  try {
    return await measureDrain(stats, args.jobs, args.timeoutMs, () => app.start(), drained, outcomes);
  } finally {
    await app.close();
    await stats.quit();
  }
}

interface DrainRawArgs {
  redisUrl: string;
  prefix: string;
  simUrl: string;
  jobs: number;
  timeoutMs: number;
}

/** Child side: the baseline, a plain BullMQ Worker doing one undici PUT per job. */
export async function drainRaw(args: DrainRawArgs): Promise<DrainResult> {
  const pool = new Pool(args.simUrl, { connections: 64, keepAliveTimeout: 10_000 });
  const connection = new Redis(args.redisUrl, { maxRetriesPerRequest: null });
  const stats = new Redis(args.redisUrl, { maxRetriesPerRequest: null });
  const outcomes: Record<string, number> = {};
  let done = 0;
  let finish: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker(
    RAW_QUEUE,
    async (job: Job<PosTransaction>) => {
      const t = job.data;
      const res = await pool.request({
        method: 'PUT',
        path: `/api/v1.1/adjust/loyaltyPoints/${SIM_UID}/${encodeURIComponent(t.customer.contactID ?? '')}`,
        headers: { 'content-type': 'application/json', 'x-apikey': SIM_API_KEY },
        body: JSON.stringify({ value: Math.floor(t.total ?? 0), note: `pos:${t.source}:${t.storeId}:${t.transactionId}:${t.type}` }),
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`AIQ answered ${res.statusCode}`);
    },
    { connection, prefix: args.prefix, concurrency: CONCURRENCY, autorun: false },
  );
  worker.on('error', () => undefined);
  worker.on('completed', () => {
    outcomes.completed = (outcomes.completed ?? 0) + 1;
    done += 1;
    if (done >= args.jobs) finish();
  });
  worker.on('failed', () => {
    outcomes.failed = (outcomes.failed ?? 0) + 1;
  });
  try {
    return await measureDrain(stats, args.jobs, args.timeoutMs, async () => void worker.run(), drained, outcomes);
  } finally {
    await worker.close();
    await pool.close();
    await connection.quit();
    await stats.quit();
  }
}

async function measureDrain(
  stats: Redis,
  jobs: number,
  timeoutMs: number,
  start: () => Promise<void>,
  drained: Promise<void>,
  outcomes: Record<string, number>,
): Promise<DrainResult> {
  const before = await commandCalls(stats);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await start();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`drain of ${jobs} jobs did not finish in ${timeoutMs} ms (${JSON.stringify(outcomes)})`)), timeoutMs);
  });
  try {
    await Promise.race([drained, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const after = await commandCalls(stats);
  return { jobs, ms, cpuMs: (used.user + used.system) / 1000, commands: commandDelta(before, after), outcomes };
}

interface RunRecord extends DrainResult {
  kind: 'pipeline' | 'raw';
  round: number;
  jobsPerS: number;
  cpuSPer1000: number;
  commandsPerJob: number;
  scriptsPerJob: number;
}

function record(kind: RunRecord['kind'], round: number, r: DrainResult): RunRecord {
  return {
    kind,
    round,
    ...r,
    jobsPerS: (r.jobs * 1000) / r.ms,
    cpuSPer1000: r.cpuMs / r.jobs,
    commandsPerJob: r.commands.total / r.jobs,
    scriptsPerJob: r.commands.scripts / r.jobs,
  };
}

/** Parent side: alternating pipeline and raw runs, medians and ratios. */
export async function run(ctx: BenchContext): Promise<SectionResult> {
  const jobs = ctx.quick ? 2_000 : 5_000;
  const rounds = ctx.quick ? 2 : 4;
  const { sim, contactIDs } = await startSimulator({ personas: 500 });
  const runs: RunRecord[] = [];
  try {
    // Round -1 warms both code paths in the child (JIT, connections) and is not recorded.
    for (let round = -1; round < rounds; round += 1) {
      const size = round < 0 ? 2_000 : jobs;
      for (const kind of alternate(round + 2, 'pipeline' as const, 'raw' as const)) {
        const prefix = benchPrefix(kind === 'pipeline' ? 'pipe' : 'raw');
        const appliedBefore = sim.control.ledger().length;
        const list = sales(contactIDs, size, `${prefix}-r${round}`);
        try {
          let result: DrainResult;
          if (kind === 'pipeline') {
            const env = appEnv({ redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, rateLimits: '100000/s', concurrency: CONCURRENCY });
            await enqueue(env, { sales: list });
            result = await ctx.host.call<DrainResult>(SELF, 'drainPipeline', { env, jobs: size, timeoutMs: 120_000 } satisfies DrainPipelineArgs);
          } else {
            await enqueueRaw(ctx.redisUrl, prefix, list);
            result = await ctx.host.call<DrainResult>(SELF, 'drainRaw', { redisUrl: ctx.redisUrl, prefix, simUrl: sim.url, jobs: size, timeoutMs: 120_000 } satisfies DrainRawArgs);
          }
          const applied = sim.control.ledger().length - appliedBefore;
          if (applied !== size) throw new Error(`${kind}: ${applied} adjustments applied for ${size} jobs`);
          if (round < 0) continue;
          const r = record(kind, round, result);
          runs.push(r);
          ctx.log(`  ${kind.padEnd(8)} ${Math.round(r.jobsPerS)} jobs/s, ${round2(r.cpuSPer1000)} CPU s/1000 jobs, ${round2(r.commandsPerJob)} Redis commands/job`);
        } finally {
          await deletePrefix(ctx.redis, prefix);
        }
      }
    }
  } finally {
    await sim.close();
  }
  return summarize(runs, jobs);
}

const round2 = (v: number) => round(v, 2);

async function enqueueRaw(redisUrl: string, prefix: string, list: PosTransaction[]): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(RAW_QUEUE, { connection, prefix });
  queue.on('error', () => undefined);
  // The same removal settings as the pipeline's points jobs, so BullMQ does the same work.
  const { removeOnComplete, removeOnFail } = JOBS.points.options;
  const opts: JobsOptions = {
    ...(removeOnComplete === undefined ? {} : { removeOnComplete }),
    ...(removeOnFail === undefined ? {} : { removeOnFail }),
  };
  try {
    for (let i = 0; i < list.length; i += 500) {
      await queue.addBulk(list.slice(i, i + 500).map((data) => ({ name: 'points', data, opts })));
    }
  } finally {
    await queue.close();
    await connection.quit();
  }
}

function summarize(runs: RunRecord[], jobs: number): SectionResult {
  const of = (kind: RunRecord['kind'], f: (r: RunRecord) => number) => runs.filter((r) => r.kind === kind).map(f);
  const pairRatios = (f: (r: RunRecord) => number) => {
    const rounds = [...new Set(runs.map((r) => r.round))];
    return rounds.map((round) => {
      const p = runs.find((r) => r.round === round && r.kind === 'pipeline');
      const b = runs.find((r) => r.round === round && r.kind === 'raw');
      return p && b ? f(p) / f(b) : Number.NaN;
    });
  };
  const pipeRate = median(of('pipeline', (r) => r.jobsPerS));
  const rawRate = median(of('raw', (r) => r.jobsPerS));
  const pipeCpu = median(of('pipeline', (r) => r.cpuSPer1000));
  const rawCpu = median(of('raw', (r) => r.cpuSPer1000));
  const pipeCmd = median(of('pipeline', (r) => r.commandsPerJob));
  const rawCmd = median(of('raw', (r) => r.commandsPerJob));
  const n = runs.length / 2;
  const figures: Figure[] = [
    {
      id: 'pipeline.ratio',
      item: 1,
      label: 'Pipeline ÷ raw BullMQ, jobs/s (drain, concurrency 50)',
      value: round(median(pairRatios((r) => r.jobsPerS)), 3),
      unit: '×',
      target: { op: '>=', value: 0.7 },
      detail: `median of ${n} alternating pairs of ${jobs} jobs; pipeline ${Math.round(pipeRate)} jobs/s, raw ${Math.round(rawRate)} jobs/s`,
    },
    { id: 'pipeline.jobsPerS', item: 1, label: 'Pipeline throughput', value: Math.round(pipeRate), unit: 'jobs/s', detail: `median of ${n}` },
    { id: 'pipeline.raw.jobsPerS', item: 1, label: 'Raw BullMQ + undici throughput (baseline)', value: Math.round(rawRate), unit: 'jobs/s', detail: `median of ${n}` },
    {
      id: 'pipeline.cpu',
      item: 1,
      label: 'Worker CPU per 1,000 jobs, pipeline (raw BullMQ)',
      value: round(pipeCpu, 3),
      unit: 'CPU s',
      detail: `raw ${round(rawCpu, 3)} CPU s; ratio ${round(median(pairRatios((r) => r.cpuSPer1000)), 2)}×`,
    },
    {
      id: 'pipeline.redisRatio',
      item: 1,
      label: 'Redis commands per job, pipeline ÷ raw BullMQ',
      value: round(pipeCmd / rawCmd, 3),
      unit: '×',
      target: { op: '<=', value: 2 },
      detail: `pipeline ${round(pipeCmd, 1)} commands/job (${round(median(of('pipeline', (r) => r.scriptsPerJob)), 2)} scripts), raw ${round(rawCmd, 1)} (${round(median(of('raw', (r) => r.scriptsPerJob)), 2)} scripts); INFO commandstats, commands inside scripts included`,
    },
  ];
  return { figures, data: { jobs, concurrency: CONCURRENCY, runs } };
}

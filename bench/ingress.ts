/**
 * Item 4: the HTTP ingress (`POST /v1/pos/transactions`: auth, validation, ledger, enqueue)
 * against a bare fastify route that only calls `queue.add` with the same payload, on the same
 * Redis. The servers run in the benchmark child; autocannon runs here, every request with a new
 * transaction ID. Alternating, median of 3.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/lib/config.ts';
import { createLogger } from '../src/lib/logger.ts';
import { startIngress } from '../src/producers/ingress/index.ts';
import { startApp } from './lib/apps.ts';
import { alternate, benchPrefix, type BenchContext, type Figure, type SectionResult } from './lib/context.ts';
import { deletePrefix } from './lib/redis.ts';
import { median, round } from './lib/stats.ts';

const SELF = fileURLToPath(import.meta.url);
const TOKEN = 'bench-ingress-token';
const CONNECTIONS = 32;

interface Served {
  value: { url: string };
  close(): Promise<void>;
}

/** Child side: the product's ingress with its producer (no workers). */
export async function startProductIngress(args: { env: Record<string, string> }): Promise<Served> {
  const config = loadConfig(args.env, { roles: ['ingress'] });
  const app = await startApp(args.env);
  const ingress = await startIngress({ producer: app.producer, redis: app.redis, config, logger: createLogger({ level: 'silent' }), host: '127.0.0.1', port: 0 });
  return {
    value: { url: ingress.url },
    close: async () => {
      await ingress.close();
      await app.close();
    },
  };
}

/** Child side: the baseline, a fastify route that only calls queue.add. */
export async function startBareRoute(args: { redisUrl: string; prefix: string }): Promise<Served> {
  const connection = new Redis(args.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const queue = new Queue('points', { connection, prefix: args.prefix });
  queue.on('error', () => undefined);
  const app = Fastify({ logger: false });
  app.post('/v1/pos/transactions', async (request, reply) => {
    const job = await queue.add('points', request.body);
    return reply.code(202).send({ jobId: job.id });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    value: { url },
    close: async () => {
      await app.close();
      await queue.close();
      await connection.quit();
    },
  };
}

/** Child side: this process's CPU time so far, ms (read before and after a load run). */
export async function cpuMs(): Promise<number> {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface CannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
type Autocannon = (options: { url: string; connections: number; duration: number; requests: CannonRequest[] }) => Promise<CannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** One load run: every request a new sale (its transaction ID from a counter). */
async function load(url: string, seconds: number, tag: string): Promise<CannonResult> {
  let n = 0;
  const request: CannonRequest = {
    method: 'POST',
    path: '/v1/pos/transactions',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    setupRequest: (req) => {
      n += 1;
      const body = {
        source: 'bench',
        storeId: '7',
        transactionId: `${tag}-${n}`,
        type: 'sale',
        occurredAt: '2026-11-28T10:00:00Z',
        customer: { contactID: `C-${n % 500}` },
        total: 10 + (n % 90),
      };
      return { ...req, body: JSON.stringify(body) };
    },
  };
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, requests: [request] });
}

export interface IngressRun {
  kind: 'ingress' | 'bare';
  round: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  /** The server process's CPU time per request, µs. */
  cpuUsPerRequest: number;
  non2xx: number;
  errors: number;
}

async function runOne(ctx: BenchContext, kind: IngressRun['kind'], round: number, seconds: number): Promise<IngressRun> {
  const prefix = benchPrefix(kind);
  const server =
    kind === 'ingress'
      ? await ctx.host.hold<{ url: string }>(SELF, 'startProductIngress', {
          env: { REDIS_URL: ctx.redisUrl, SYNC_PREFIX: prefix, INGRESS_TOKENS: TOKEN, LOG_LEVEL: 'silent' },
        })
      : await ctx.host.hold<{ url: string }>(SELF, 'startBareRoute', { redisUrl: ctx.redisUrl, prefix });
  try {
    const cpuBefore = await ctx.host.call<number>(SELF, 'cpuMs', {});
    const r = await load(server.value.url, seconds, `${prefix}-r${round}`);
    const cpuAfter = await ctx.host.call<number>(SELF, 'cpuMs', {});
    return {
      kind,
      round,
      requestsPerS: r.requests.average,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      total: r.requests.total,
      cpuUsPerRequest: ((cpuAfter - cpuBefore) * 1000) / Math.max(1, r.requests.total),
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
    };
  } finally {
    await server.release();
    await deletePrefix(ctx.redis, prefix);
  }
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const seconds = ctx.quick ? 2 : 8;
  const rounds = 3;
  // Warm both servers' code paths once (not recorded).
  for (const kind of ['ingress', 'bare'] as const) await runOne(ctx, kind, -1, ctx.quick ? 1 : 3);
  const runs: IngressRun[] = [];
  for (let r = 0; r < rounds; r += 1) {
    for (const kind of alternate(r, 'ingress' as const, 'bare' as const)) {
      const one = await runOne(ctx, kind, r, seconds);
      runs.push(one);
      ctx.log(`  ${kind.padEnd(7)} ${Math.round(one.requestsPerS)} req/s, p50 ${one.p50Ms} ms, p99 ${one.p99Ms} ms, ${Math.round(one.cpuUsPerRequest)} µs CPU/request, ${one.non2xx} non-2xx, ${one.errors} errors`);
      if (one.non2xx > 0 || one.errors > 0) throw new Error(`${kind}: ${one.non2xx} non-2xx answers and ${one.errors} errors`);
    }
  }
  const m = (kind: IngressRun['kind'], f: (r: IngressRun) => number) => median(runs.filter((r) => r.kind === kind).map(f));
  const ratios = Array.from({ length: rounds }, (_, r) => {
    const a = runs.find((x) => x.round === r && x.kind === 'ingress');
    const b = runs.find((x) => x.round === r && x.kind === 'bare');
    return a && b ? a.requestsPerS / b.requestsPerS : Number.NaN;
  });
  const how = `autocannon, ${CONNECTIONS} connections, ${seconds} s per run, median of ${rounds} alternating pairs`;
  const figures: Figure[] = [
    {
      id: 'ingress.ratio',
      item: 4,
      label: 'Ingress ÷ bare queue.add route, requests/s',
      value: round(median(ratios), 3),
      unit: '×',
      target: { op: '>=', value: 0.8 },
      detail: `ingress ${Math.round(m('ingress', (r) => r.requestsPerS))} req/s, bare ${Math.round(m('bare', (r) => r.requestsPerS))} req/s; ${how}`,
    },
    {
      id: 'ingress.reqPerS',
      item: 4,
      label: 'Ingress throughput (bare route)',
      value: Math.round(m('ingress', (r) => r.requestsPerS)),
      unit: 'req/s',
      detail: `bare ${Math.round(m('bare', (r) => r.requestsPerS))} req/s; medians`,
    },
    {
      id: 'ingress.cpu',
      item: 4,
      label: 'Server CPU per request, ingress (bare route)',
      value: Math.round(m('ingress', (r) => r.cpuUsPerRequest)),
      unit: 'µs',
      detail: `bare ${Math.round(m('bare', (r) => r.cpuUsPerRequest))} µs; process.cpuUsage() of the server process over each run ÷ requests`,
    },
    {
      id: 'ingress.p99',
      item: 4,
      label: 'Ingress p99 latency (bare route)',
      value: m('ingress', (r) => r.p99Ms),
      unit: 'ms',
      detail: `bare ${m('bare', (r) => r.p99Ms)} ms; p50 ${m('ingress', (r) => r.p50Ms)} ms (bare ${m('bare', (r) => r.p50Ms)} ms)`,
    },
  ];
  return { figures, data: { connections: CONNECTIONS, seconds, runs } };
}

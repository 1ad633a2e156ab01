import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../app.ts';
import { loadConfig, parseRateLimits, type Config } from '../lib/config.ts';
import type { ResultEvent } from '../lib/events.ts';
import type { Logger } from '../lib/logger.ts';
import { createMetrics } from '../lib/metrics.ts';
import { freePort } from '../lib/redis-locator.ts';
import { deleteKeysByPrefix } from '../lib/redis.ts';
import { createAdminRoutes } from '../producers/admin/index.ts';
import { runBackfill } from '../producers/backfill.ts';
import { startIngress, type RunningIngress } from '../producers/ingress/index.ts';
import { createSimulator, type Simulator } from '../simulator/index.ts';
import { checkExactlyOnce, summarizeQueues, type ExactlyOnceCheck, type QueueRow } from './summary.ts';
import { sendSampleTraffic, type TrafficLog } from './traffic.ts';

export interface DemoOptions {
  redisUrl: string;
  logger: Logger;
  /** POS sales to send; default 60. */
  sales?: number;
  /** The simulator's limit; default `20/s`. The configured budget is a fifth higher, as a guess at AIQ's limits can be, so the adaptive pace shows. */
  limits?: string;
  /** Called about twice a second while work is in flight. */
  onProgress?(progress: DemoProgress): void;
  /** Stops waiting early. */
  signal?: AbortSignal;
}

export interface DemoProgress {
  elapsedMs: number;
  phase: string;
  done: Record<string, number>;
  expected: Record<string, number>;
  rateLimited: number;
}

export interface DemoResult {
  rows: QueueRow[];
  exactlyOnce: ExactlyOnceCheck;
  traffic: TrafficLog;
  backfill: Array<{ read: number; enqueued: number; unchanged: number; rejected: number }>;
  rateLimited: number;
  complete: boolean;
  elapsedMs: number;
  urls: { ingress: string; dashboard: string; metrics: string; simulator: string };
  adminToken: string;
  ingressToken: string;
}

export interface RunningDemo {
  result: DemoResult;
  /** Stops everything the demo started and deletes its keys. */
  close(): Promise<void>;
}

const secret = () => randomBytes(18).toString('base64url');

/** The whole system on one machine: simulator, workers, ingress, sample traffic, a backfill run twice. */
export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const started = Date.now();
  const limits = options.limits ?? '20/s';
  const apiKey = secret();
  const sim: Simulator = await createSimulator({ apiKey, uid: '4242', randomSeed: 7 });
  const seeded = sim.control.seed(300);
  const cleanups: Array<() => Promise<unknown>> = [() => sim.close()];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const tokens = { ingress: secret(), admin: secret(), webhook: secret(), shopify: secret() };
    const env: Record<string, string> = {
      REDIS_URL: options.redisUrl,
      SYNC_PREFIX: `{aiq-demo-${randomBytes(4).toString('hex')}}`,
      AIQ_BASE_URL: sim.url,
      AIQ_API_KEY: apiKey,
      AIQ_UID: '4242',
      AIQ_RATE_LIMITS: limits.replace(/^(\d+)/, (n) => String(Math.round(Number(n) * 1.2))),
      AIQ_TIMEOUT_MS: '1000',
      INGRESS_PORT: String(await freePort()),
      INGRESS_TOKENS: tokens.ingress,
      ADMIN_TOKEN: tokens.admin,
      WEBHOOK_SECRET: tokens.webhook,
      SHOPIFY_WEBHOOK_SECRET: tokens.shopify,
      WORKER_CONCURRENCY: '8',
      WORKER_LOCK_DURATION_MS: '5000',
      IDEMPOTENCY_LEASE_MS: '3000',
    };
    const config: Readonly<Config> = loadConfig(env, { roles: ['worker', 'ingress'] });
    const metrics = createMetrics();
    const rateLimitedByQueue = new Map<string, number>();
    const jobsObserver = metrics.observers.jobs;
    const app: App = createApp({
      config,
      logger: options.logger,
      workerQueues: ['points', 'optin', 'attributes', 'contacts'],
      observers: {
        ...metrics.observers,
        jobs: {
          ...jobsObserver,
          onDelay(queue, reason) {
            jobsObserver.onDelay?.(queue, reason);
            if (reason === 'rate limited by AIQ') rateLimitedByQueue.set(queue, (rateLimitedByQueue.get(queue) ?? 0) + 1);
          },
        },
      },
    });
    metrics.attach(app);
    cleanups.push(async () => {
      await app.close();
    });
    cleanups.push(() => deleteKeysByPrefix(app.workerRedis, config.redis.prefix));
    await app.start();
    const registerExtra = createAdminRoutes({ config, queues: app.queues, ledger: app.ledger, redis: app.redis, metrics });
    const ingress: RunningIngress = await startIngress({ producer: app.producer, redis: app.redis, config, logger: options.logger, registerExtra });
    cleanups.push(() => ingress.close());

    // Realistic limits and faults from here on (the seeding above was free).
    sim.control.setLimits(parseRateLimits(limits));
    sim.control.setFaults([
      { route: 'adjustPoints', kind: 'error5xx', probability: 0.05 },
      { route: 'adjustPoints', kind: 'applyThenDrop', probability: 0.03 },
      { route: 'adjustPoints', kind: 'applyThenLate', probability: 0.02, latencyMs: 1_500 },
      { route: '*', kind: 'latency', probability: 0.2, latencyMs: 40 },
    ]);

    const live = seeded.filter((p) => !sim.control.persona(p.contactID)?.blocklisted && p.mobilePhone);
    const optedOut = live.find((p) => (p.optoutTime ?? 0) > 0);
    const fresh = live.filter((p) => !p.optoutTime && !p.optinTime && !p.hasRequested);
    if (!optedOut || fresh.length < 40) throw new Error('the simulator seeded too few personas for the demo');
    const plan = { buyers: fresh.slice(4, 34), optedOut, optInCandidates: fresh.slice(0, 4), sales: options.sales ?? 60 };
    const traffic: TrafficLog = { accepted: [], duplicates: 0, ignored: 0, refusedByIngress: 0 };

    const expected: Record<string, number> = {};
    const countEvents = async () => {
      const events = await app.events.readAll();
      const done: Record<string, number> = {};
      for (const e of events) done[e.queue] = (done[e.queue] ?? 0) + 1;
      return { events, done };
    };
    let backfillEnqueued = 0;
    const waitForAll = async (phase: string): Promise<ResultEvent[]> => {
      for (const q of ['points', 'optin', 'attributes']) expected[q] = 0;
      for (const a of traffic.accepted) expected[a.queue] = (expected[a.queue] ?? 0) + 1;
      expected.attributes = (expected.attributes ?? 0) + backfillEnqueued;
      for (;;) {
        const { events, done } = await countEvents();
        options.onProgress?.({ elapsedMs: Date.now() - started, phase, done, expected: { ...expected }, rateLimited: sim.control.stats().rateLimited });
        if (Object.entries(expected).every(([q, n]) => (done[q] ?? 0) >= n) || options.signal?.aborted) return events;
        await new Promise((r) => setTimeout(r, 500));
      }
    };

    await sendSampleTraffic({ ingressUrl: ingress.url, token: tokens.ingress, webhookSecret: tokens.webhook, shopifySecret: tokens.shopify }, plan, traffic);

    // A small nightly export, synced, then run again unchanged: the second run enqueues nothing.
    const dir = await mkdtemp(join(tmpdir(), 'aiq-demo-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const csv = join(dir, 'customers.csv');
    const rows = live.slice(40, 80).map((p, i) => `${p.mobilePhone},${['bronze', 'silver', 'gold'][i % 3]},${i % 7}`);
    await writeFile(csv, ['phone,tier,visits', ...rows].join('\n') + '\n');
    const backfill: DemoResult['backfill'] = [];
    for (let run = 0; run < 2; run += 1) {
      if (run === 1) await waitForAll('syncing');
      const r = await runBackfill({ producer: app.producer, redis: app.redis, keys: app.keys, file: csv, restart: true, rejectsPath: join(dir, 'rejects.ndjson') });
      backfill.push({ read: r.counts.read, enqueued: r.counts.enqueued, unchanged: r.counts.unchanged, rejected: r.counts.rejected });
      backfillEnqueued += r.counts.enqueued;
    }
    const events = await waitForAll('draining');
    const adjustments = sim.control.ledger().filter((l) => l.route === 'adjustPoints');
    const finished = new Set(events.map((e) => e.key));
    const result: DemoResult = {
      rows: summarizeQueues(events, rateLimitedByQueue),
      exactlyOnce: checkExactlyOnce(events, adjustments),
      traffic,
      backfill,
      rateLimited: sim.control.stats().rateLimited,
      complete: traffic.accepted.every((a) => finished.has(a.key)) && events.filter((e) => e.queue === 'attributes').length >= backfillEnqueued,
      elapsedMs: Date.now() - started,
      urls: { ingress: ingress.url, dashboard: `${ingress.url}/admin/queues`, metrics: `${ingress.url}/metrics`, simulator: sim.url },
      adminToken: tokens.admin,
      ingressToken: tokens.ingress,
    };
    return { result, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

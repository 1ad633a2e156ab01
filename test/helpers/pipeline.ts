import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger, type Logger } from '../../src/lib/logger.ts';
import type { JobQueueName } from '../../src/jobs/registry.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from './redis.ts';

export interface TestPipeline {
  app: App;
  sim: Simulator;
  prefix: string;
  env: Record<string, string>;
  /** Another app on the same prefix and simulator (a second process, in effect). */
  spawnApp(queues?: readonly JobQueueName[]): Promise<App>;
  close(): Promise<void>;
}

export interface StartPipelineOptions {
  env?: Record<string, string>;
  sim?: SimulatorOptions;
  queues?: readonly JobQueueName[];
  tuning?: AppOptions['tuning'];
  observers?: AppOptions['observers'];
  /** The apps' root logger; default one at the configured LOG_LEVEL (silent). */
  logger?: Logger;
}

/** Fast test tuning: short locks and backoffs so retries happen within a test's time. */
export const FAST_TUNING: NonNullable<AppOptions['tuning']> = {
  lockDurationMs: 5_000,
  stalledIntervalMs: 1_000,
  leaseMs: 3_000,
  contactRetry: { minMs: 200, maxMs: 1_000 },
  watchdogIntervalMs: 0,
  jobOptions: {
    points: { attempts: 8, backoff: { type: 'exponential', delay: 100, jitter: 0.5 } },
    optin: { attempts: 8, backoff: { type: 'exponential', delay: 100, jitter: 0.5 } },
    attributes: { attempts: 8, backoff: { type: 'exponential', delay: 100, jitter: 0.5 } },
    contacts: { attempts: 8, backoff: { type: 'exponential', delay: 100, jitter: 0.5 } },
  },
};

/** The simulator on a free port, and the whole pipeline in this process on a fresh prefix. */
export async function startPipeline(options: StartPipelineOptions = {}): Promise<TestPipeline> {
  const sim = await createSimulator({ apiKey: 'test-key', uid: '1234', ...options.sim });
  const prefix = testPrefix();
  const env: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    SYNC_PREFIX: prefix,
    AIQ_BASE_URL: sim.url,
    AIQ_API_KEY: 'test-key',
    AIQ_UID: '1234',
    AIQ_RATE_LIMITS: '1000/s',
    AIQ_TIMEOUT_MS: '1500',
    WORKER_CONCURRENCY: '8',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const config = loadConfig(env, { roles: ['worker'] });
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const apps: App[] = [];
  const spawnApp = async (queues: readonly JobQueueName[] = options.queues ?? ['points', 'optin', 'attributes', 'contacts']) => {
    const app = createApp({
      config,
      logger,
      workerQueues: queues,
      tuning: options.tuning ?? FAST_TUNING,
      ...(options.observers ? { observers: options.observers } : {}),
    });
    apps.push(app);
    await app.start();
    return app;
  };
  const app = await spawnApp();
  return {
    app,
    sim,
    prefix,
    env,
    spawnApp,
    async close() {
      await Promise.allSettled(apps.map((a) => a.close()));
      await sim.close();
      const redis = createTestRedis();
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** An app without workers (it only enqueues) on a fresh prefix; its close and key cleanup go onto `cleanups`. */
export async function startProducerApp(cleanups: Array<() => Promise<unknown>>, env: Record<string, string> = {}): Promise<App> {
  const prefix = testPrefix();
  const config = loadConfig({ REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, LOG_LEVEL: 'silent', ...env });
  const app = createApp({ config, logger: createLogger({ level: 'silent' }) });
  await app.start();
  cleanups.push(async () => {
    await app.close();
    const redis = createTestRedis();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });
  return app;
}

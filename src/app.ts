import { Worker, type Job, type JobsOptions } from 'bullmq';
import { createBackfillProcessor, registerBackfillScheduler } from './producers/backfill-scheduler.ts';
import { JOB_QUEUES, type JobQueueName } from './jobs/registry.ts';
import type { JobSettings } from './jobs/types.ts';
import type { Config } from './lib/config.ts';
import { createEventStream, type EventStream } from './lib/events.ts';
import { createKeys, type Keys } from './lib/keys.ts';
import { createLedger, type Ledger } from './lib/ledger.ts';
import { createConfirmWrites } from './lib/replicas.ts';
import type { Logger } from './lib/logger.ts';
import { createQueues, type Queues } from './lib/queues.ts';
import { createRedis, quitRedis, waitForReady, type RedisClient } from './lib/redis.ts';
import { redactUrl } from './lib/redis-locator.ts';
import { RedisUnavailableError } from './lib/errors.ts';
import { createProducer, type Producer } from './producers/producer.ts';
import { createAccounts, type Account, type AccountRequestObserver } from './workers/accounts.ts';
import type { JobObserver } from './workers/run-job.ts';
import { createWorkerPool, type WorkerPool } from './workers/worker-pool.ts';
import type { Lane } from './jobs/types.ts';

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Queues whose workers run in this process; none when omitted. */
  workerQueues?: readonly JobQueueName[];
  /** Run the `backfill` queue (the nightly scheduler's jobs) here, and upsert the scheduler on start. */
  backfillWorker?: boolean;
  /** Tuning that tests shorten; production keeps the defaults. */
  tuning?: {
    lockDurationMs?: number;
    stalledIntervalMs?: number;
    watchdogIntervalMs?: number;
    watchdogStuckMs?: number;
    leaseMs?: number;
    contactRetry?: { minMs: number; maxMs: number };
    jobOptions?: Partial<Record<JobQueueName, JobsOptions>>;
  };
  observers?: AppObservers;
}

/** Hooks through which metrics watch the app; every one optional. */
export interface AppObservers {
  jobs?: JobObserver;
  /** Every AIQ exchange; the second argument names the account (a plain RequestObserver fits too). */
  requests?: AccountRequestObserver;
  /** Each time a lane of an account's budget must sleep, with the wait in ms. */
  budgetWait?: (account: string, lane: Lane, waitMs: number) => void;
}

export interface App {
  config: Readonly<Config>;
  keys: Keys;
  /** Fail-fast connection (producers, HTTP). */
  redis: RedisClient;
  /** Patient connection (workers, budget, ledger on the worker side). */
  workerRedis: RedisClient;
  queues: Queues;
  ledger: Ledger;
  events: EventStream;
  producer: Producer;
  accounts: Map<string, Account>;
  workers: WorkerPool | undefined;
  start(): Promise<void>;
  /** Idempotent; closes everything this app created, in reverse order, within the shutdown deadline. */
  close(options?: { force?: boolean }): Promise<void>;
}

/** The composition root: builds everything from the configuration. */
export function createApp(options: AppOptions): App {
  const { config, logger } = options;
  const tuning = options.tuning ?? {};
  const keys = createKeys(config.redis.prefix);
  const redis = createRedis(config.redis, { role: 'producer', connectionName: 'aiq-sync:producer' });
  const workerRedis = createRedis(config.redis, { role: 'worker', connectionName: 'aiq-sync:worker' });
  redis.on('error', (err) => logger.debug({ err }, 'redis (producer) connection error'));
  workerRedis.on('error', (err) => logger.debug({ err }, 'redis (worker) connection error'));

  const { queues, close: closeQueues } = createQueues({ connection: redis, prefix: config.redis.prefix, logger });
  const ttlMs = Math.round(config.ledger.ttlDays * 86_400_000);
  const ledger = createLedger({ redis, keys, ttlMs, eventsMaxLen: config.events.maxLen });
  const replicaWait = (connection: typeof redis) =>
    createConfirmWrites({ redis: connection, prefix: config.redis.prefix, replicas: config.redis.waitReplicas, timeoutMs: config.redis.waitTimeoutMs });
  const confirmWorkerWrites = replicaWait(workerRedis);
  const confirmProducerWrites = replicaWait(redis);
  const workerLedger = createLedger({ redis: workerRedis, keys, ttlMs, eventsMaxLen: config.events.maxLen, ...(confirmWorkerWrites ? { confirmWrites: confirmWorkerWrites } : {}) });
  const events = createEventStream({ redis: workerRedis, keys, maxLen: config.events.maxLen });
  const producer = createProducer({
    queues,
    ledger,
    ...(tuning.jobOptions ? { jobOptions: tuning.jobOptions } : {}),
    ...(confirmProducerWrites ? { confirmWrites: confirmProducerWrites } : {}),
  });
  const { accounts, close: closeAccounts } = createAccounts({
    config,
    redis: workerRedis,
    keys,
    logger,
    ...(options.observers?.requests ? { onResponse: options.observers.requests } : {}),
    ...(options.observers?.budgetWait ? { onBudgetWait: options.observers.budgetWait } : {}),
  });

  const settings: JobSettings = {
    pointsPerDollar: config.points.perDollar,
    contactNotFound: config.contacts.notFound,
    waitLimitMs: Math.round(config.contacts.retryHours * 3_600_000),
    leaseMs: tuning.leaseMs ?? config.ledger.leaseMs,
    settleMs: config.aiq.timeoutMs + 1_000,
    ...(tuning.contactRetry ? { contactRetry: tuning.contactRetry } : {}),
  };
  const workerQueues = (options.workerQueues ?? []).filter((q) => JOB_QUEUES.includes(q));
  const workers =
    workerQueues.length === 0
      ? undefined
      : createWorkerPool({
          queues: workerQueues,
          connection: workerRedis,
          prefix: config.redis.prefix,
          concurrency: config.worker.concurrency,
          shutdownTimeoutMs: config.worker.shutdownTimeoutMs,
          lockDurationMs: tuning.lockDurationMs ?? config.worker.lockDurationMs,
          stalledIntervalMs: tuning.stalledIntervalMs ?? config.worker.stalledIntervalMs,
          watchdogIntervalMs: tuning.watchdogIntervalMs ?? config.worker.watchdogIntervalMs,
          ...(tuning.watchdogStuckMs === undefined ? {} : { watchdogStuckMs: tuning.watchdogStuckMs }),
          queueHandles: queues,
          logger,
          deps: {
            ledger: workerLedger,
            events,
            redis: workerRedis,
            keys,
            settings,
            log: logger,
            accounts,
            requestContact: async (customer, source, account) => {
              await producer.enqueueContact({ customer, source, account, loyalty: true, smsOptIn: false });
            },
            ...(options.observers?.jobs ? { observer: options.observers.jobs } : {}),
          },
        });

  let backfillWorker: Worker | undefined;
  const startBackfill = async () => {
    if (!options.backfillWorker) return;
    const processor = createBackfillProcessor({ producer, redis, keys, ledger: workerLedger, logger });
    backfillWorker = new Worker('backfill', (job: Job, token?: string, signal?: AbortSignal) => processor(job, token, signal), {
      connection: workerRedis,
      prefix: config.redis.prefix,
      concurrency: 1,
      // A backfill can run for minutes: a generous lock, renewed by BullMQ while it runs.
      lockDuration: 120_000,
    });
    backfillWorker.on('error', (err) => logger.warn({ err, queue: 'backfill' }, 'worker error'));
    if (await registerBackfillScheduler(queues.backfill, config.backfill)) {
      logger.info({ cron: config.backfill.cron, tz: config.backfill.tz }, 'nightly backfill scheduled');
    }
  };

  let closing: Promise<void> | undefined;
  return {
    config,
    keys,
    redis,
    workerRedis,
    queues,
    ledger,
    events,
    producer,
    accounts,
    workers,
    async start() {
      try {
        await waitForReady(redis, 10_000);
      } catch (err) {
        throw new RedisUnavailableError(`Redis at ${redactUrl(config.redis.url)} is not reachable`, { cause: err });
      }
      workers?.start();
      await startBackfill();
    },
    close(closeOptions = {}) {
      closing ??= (async () => {
        const steps: Array<[string, () => Promise<void>]> = [
          ['workers', async () => workers?.close(closeOptions)],
          ['backfill worker', async () => backfillWorker?.close(closeOptions.force ?? false)],
          ['queues', closeQueues],
          ['http dispatchers', closeAccounts],
          ['redis (worker)', () => quitRedis(workerRedis)],
          ['redis (producer)', () => quitRedis(redis)],
        ];
        for (const [name, step] of steps) {
          try {
            await step();
          } catch (err) {
            logger.warn({ err, step: name }, 'close step failed; continuing');
          }
        }
        logger.flush();
      })();
      return closing;
    },
  };
}

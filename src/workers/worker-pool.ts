import { Worker, type Job } from 'bullmq';
import { JOBS, type JobQueueName } from '../jobs/registry.ts';
import type { Logger } from '../lib/logger.ts';
import type { Queues } from '../lib/queues.ts';
import type { RedisClient } from '../lib/redis.ts';
import { createProcessor, type RunnerDeps } from './run-job.ts';

export interface WorkerPoolOptions {
  queues: readonly JobQueueName[];
  /** A worker-role connection (BullMQ duplicates it for its blocking reads); owned by the caller. */
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  /** BullMQ job lock; a worker that dies loses its jobs after this long. Default 30 000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for; default lockDurationMs / 2. */
  stalledIntervalMs?: number;
  /** How long shutdown waits for in-flight jobs before aborting them; default 30 000 ms. */
  shutdownTimeoutMs?: number;
  /** Watchdog period; 0 turns it off. Default 15 000 ms. */
  watchdogIntervalMs?: number;
  /** Jobs waiting with nothing started for this long means a stuck worker. Default 60 000 ms. */
  watchdogStuckMs?: number;
  deps: RunnerDeps;
  /** For the watchdog's queue depth check. */
  queueHandles: Queues;
  logger: Logger;
}

export interface WorkerPool {
  start(): void;
  /** Stop fetching, let in-flight jobs finish, abort them at the deadline. Idempotent. */
  close(options?: { force?: boolean }): Promise<void>;
  /** Number of times the watchdog recreated a worker. */
  restarts(): number;
  /** How many times the watchdog has looked (diagnostics and tests). */
  watchdogChecks(): number;
  /** The BullMQ worker currently serving a queue (diagnostics and tests). */
  workerOf(queue: JobQueueName): Worker | undefined;
}

interface Slot {
  queue: JobQueueName;
  worker: Worker;
  lastActivity: number;
  active: number;
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const log = options.logger;
  const lockDuration = options.lockDurationMs ?? 30_000;
  const slots = new Map<JobQueueName, Slot>();
  let restarts = 0;
  let checks = 0;
  let watchdog: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  function build(queue: JobQueueName): Slot {
    const processor = createProcessor(JOBS[queue], options.deps);
    const worker = new Worker(queue, (job: Job, token?: string, signal?: AbortSignal) => processor(job, token, signal), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      autorun: false,
      lockDuration,
      stalledInterval: options.stalledIntervalMs ?? Math.floor(lockDuration / 2),
      // A job whose worker died is retried; reconciliation makes the retry safe.
      maxStalledCount: 10,
    });
    const slot: Slot = { queue, worker, lastActivity: Date.now(), active: 0 };
    worker.on('active', () => {
      slot.active += 1;
      slot.lastActivity = Date.now();
    });
    const done = () => {
      slot.active = Math.max(0, slot.active - 1);
      slot.lastActivity = Date.now();
    };
    worker.on('completed', done);
    worker.on('failed', (job, err) => {
      done();
      if (job && err.message.includes('stalled')) void onStalledDead(job, err);
    });
    worker.on('error', (err) => log.warn({ err, queue }, 'worker error'));
    return slot;
  }

  /** A job that stalled too often fails outside the processor: give it its job.dead event. */
  async function onStalledDead(job: Job, err: Error): Promise<void> {
    const parsed = JOBS[job.queueName as JobQueueName]?.parse(job.data);
    if (!parsed?.ok) return;
    await options.deps.ledger
      .finish(parsed.key, { error: 'AIQ_ERR_STALLED' }, {
        kind: 'job.dead',
        key: parsed.key,
        jobId: job.id ?? '',
        queue: job.queueName,
        account: parsed.account,
        contactID: '',
        attempts: job.attemptsMade,
        detail: { code: 'AIQ_ERR_STALLED', message: err.message },
      })
      .catch((e: unknown) => log.error({ err: e }, 'could not record a stalled job as dead'));
  }

  async function checkStuck(): Promise<void> {
    checks += 1;
    const stuckMs = options.watchdogStuckMs ?? 60_000;
    for (const slot of slots.values()) {
      if (closing || slot.active > 0 || Date.now() - slot.lastActivity < stuckMs) continue;
      const counts = await options.queueHandles[slot.queue].getJobCounts('wait', 'prioritized');
      const waiting = (counts.wait ?? 0) + (counts.prioritized ?? 0);
      if (waiting === 0) {
        slot.lastActivity = Date.now();
        continue;
      }
      log.warn({ queue: slot.queue, waiting }, 'watchdog: jobs wait but the worker takes none; recreating it');
      restarts += 1;
      const old = slot.worker;
      const fresh = build(slot.queue);
      slots.set(slot.queue, fresh);
      void fresh.worker.run().catch((err: unknown) => log.error({ err, queue: slot.queue }, 'worker stopped'));
      void old.close(true).catch(() => undefined);
    }
  }

  return {
    start() {
      for (const queue of options.queues) {
        const slot = build(queue);
        slots.set(queue, slot);
        void slot.worker.run().catch((err: unknown) => log.error({ err, queue }, 'worker stopped'));
      }
      const every = options.watchdogIntervalMs ?? 15_000;
      if (every > 0) {
        watchdog = setInterval(() => {
          checkStuck().catch((err: unknown) => log.warn({ err }, 'watchdog check failed'));
        }, every);
        watchdog.unref();
      }
    },
    close(closeOptions = {}) {
      if (closing && closeOptions.force) {
        // A second signal during a graceful close: abort what still runs.
        for (const s of slots.values()) s.worker.cancelAllJobs('forced shutdown');
        void Promise.allSettled([...slots.values()].map((s) => s.worker.close(true)));
        return closing;
      }
      closing ??= (async () => {
        if (watchdog) clearInterval(watchdog);
        const workers = [...slots.values()].map((s) => s.worker);
        if (closeOptions.force) {
          for (const w of workers) w.cancelAllJobs('forced shutdown');
          await Promise.allSettled(workers.map((w) => w.close(true)));
          return;
        }
        const graceful = Promise.allSettled(workers.map((w) => w.close()));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'deadline'>((resolve) => {
          timer = setTimeout(() => resolve('deadline'), options.shutdownTimeoutMs ?? 30_000);
        });
        const first = await Promise.race([graceful.then(() => 'done' as const), deadline]);
        clearTimeout(timer);
        if (first === 'deadline') {
          log.warn('shutdown deadline reached: aborting in-flight jobs');
          for (const w of workers) w.cancelAllJobs('shutdown deadline');
          await Promise.allSettled(workers.map((w) => w.close(true)));
        }
      })();
      return closing;
    },
    restarts: () => restarts,
    workerOf: (queue) => slots.get(queue)?.worker,
    watchdogChecks: () => checks,
  };
}

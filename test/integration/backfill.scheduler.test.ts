import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { ResultEvent } from '../../src/lib/events.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { BACKFILL_SCHEDULER_ID, createBackfillProcessor, registerBackfillScheduler } from '../../src/producers/backfill-scheduler.ts';
import { createTestRedis } from '../helpers/redis.ts';
import { startProducerApp } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startApp(env: Record<string, string> = {}): Promise<App> {
  return startProducerApp(cleanups, env);
}

/** A real BullMQ worker on the `backfill` queue running the processor. */
function startBackfillWorker(app: App): Worker {
  const processor = createBackfillProcessor({ producer: app.producer, redis: app.redis, keys: app.keys, ledger: app.ledger, logger: createLogger({ level: 'silent' }) });
  const worker = new Worker('backfill', (job: Job, token?: string, signal?: AbortSignal) => processor(job, token, signal), {
    connection: app.workerRedis,
    prefix: app.config.redis.prefix,
    concurrency: 1,
  });
  worker.on('error', () => undefined);
  cleanups.push(() => worker.close());
  return worker;
}

async function eventsOf(app: App, kind: string): Promise<ResultEvent[]> {
  return (await app.events.readAll()).filter((e) => e.kind === kind);
}

describe('nightly backfill scheduler', () => {
  it('keeps one scheduler and one pending job however many times and processes it is registered', async () => {
    const app = await startApp({ BACKFILL_CRON: '0 3 * * *', BACKFILL_TZ: 'America/Denver', BACKFILL_SOURCE: '/data/export.csv', BACKFILL_MAP: 'phone=Mobile' });
    // A second process of the same deployment: its own Queue and connection.
    const connection = createTestRedis();
    const other = new Queue('backfill', { connection, prefix: app.config.redis.prefix });
    cleanups.push(async () => {
      await other.close();
      await connection.quit();
    });
    expect(await registerBackfillScheduler(app.queues.backfill, app.config.backfill)).toBe(true);
    await Promise.all([registerBackfillScheduler(app.queues.backfill, app.config.backfill), registerBackfillScheduler(other, app.config.backfill)]);

    const schedulers = await app.queues.backfill.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: BACKFILL_SCHEDULER_ID, pattern: '0 3 * * *', tz: 'America/Denver' });
    const delayed = await app.queues.backfill.getDelayed();
    expect(delayed).toHaveLength(1);
    expect(delayed[0]!.name).toBe('backfill');
    expect(delayed[0]!.data).toEqual({ source: '/data/export.csv', map: 'phone=Mobile' });
  });

  it('registers nothing when no schedule is configured', async () => {
    const app = await startApp();
    expect(await registerBackfillScheduler(app.queues.backfill, app.config.backfill)).toBe(false);
    expect(await app.queues.backfill.getJobSchedulers()).toHaveLength(0);
  });
});

describe('backfill queue processor', () => {
  it('streams the job\'s file into attribute jobs and appends backfill.completed once, keyed by file and slot', async () => {
    const app = await startApp();
    const dir = await mkdtemp(join(tmpdir(), 'aiq-backfill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'nightly.csv');
    await writeFile(file, 'Mobile,tier\n4155550101,gold\n4155550102,silver\nnot-a-phone,x\n');
    startBackfillWorker(app);

    const job = await app.queues.backfill.add('backfill', { source: file, map: 'phone=Mobile' });
    const [event] = await waitFor(async () => {
      const list = await eventsOf(app, 'backfill.completed');
      return list.length > 0 ? list : false;
    }, { timeoutMs: 15_000, message: 'backfill.completed' });
    expect(event).toMatchObject({ queue: 'backfill', jobId: job.id, account: 'default' });
    expect(event!.key).toMatch(new RegExp(`^backfill:[0-9a-f]{24}:${job.timestamp}$`));
    expect(event!.detail).toMatchObject({ file, read: 3, enqueued: 2, unchanged: 0, rejected: 1, summary: 'read 3, enqueued 2, unchanged 0, rejected 1' });
    expect(await app.queues.attributes.getWaitingCount()).toBe(2);
    await waitFor(async () => (await app.queues.backfill.getJob(job.id!))?.finishedOn !== undefined, { message: 'job completed' });
    expect(await eventsOf(app, 'backfill.completed')).toHaveLength(1);
  });

  it('runs each scheduled slot once with two workers competing for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiq-backfill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'nightly.csv');
    await writeFile(file, 'phone,tier\n4155550101,gold\n');
    // Every second (cron with a seconds field), so slots come quickly.
    const app = await startApp({ BACKFILL_CRON: '* * * * * *', BACKFILL_SOURCE: file });
    cleanups.push(async () => {
      await app.queues.backfill.removeJobScheduler(BACKFILL_SCHEDULER_ID);
    });
    await registerBackfillScheduler(app.queues.backfill, app.config.backfill);
    startBackfillWorker(app);
    startBackfillWorker(app);
    const events = await waitFor(async () => {
      const list = await eventsOf(app, 'backfill.completed');
      return list.length >= 3 ? list : false;
    }, { timeoutMs: 15_000, message: 'three scheduled runs' });
    const slots = events.map((e) => Number(e.key.split(':')[2]));
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots.every((s) => s % 1000 === 0)).toBe(true);
    // The first slot enqueued the row; later slots found its job already there.
    expect(events[0]!.detail).toMatchObject({ read: 1, enqueued: 1 });
    expect(events[1]!.detail).toMatchObject({ read: 1, enqueued: 0, duplicate: 1 });
  });

  it('ends a job whose file cannot be read with job.dead after its last attempt', async () => {
    const app = await startApp();
    startBackfillWorker(app);
    await app.queues.backfill.add('backfill', { source: '/nonexistent/export.csv' }, { attempts: 1 });
    await app.queues.backfill.add('backfill', { source: '/x.csv', map: 'mobile=Mobile' }, { attempts: 3 });
    const dead = await waitFor(async () => {
      const list = await eventsOf(app, 'job.dead');
      return list.length === 2 ? list : false;
    }, { timeoutMs: 15_000, message: 'two job.dead events' });
    expect(dead.map((e) => e.detail.code).sort()).toEqual(['AIQ_ERR_INTERNAL', 'AIQ_ERR_PAYLOAD_INVALID']);
    // The invalid job is dead at once, whatever its attempts.
    expect(dead.every((e) => e.attempts === 1)).toBe(true);
  });
});

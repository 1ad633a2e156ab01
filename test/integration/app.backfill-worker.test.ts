import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

describe('the worker’s nightly backfill', () => {
  it('schedules BACKFILL_SOURCE on BACKFILL_CRON and runs it into attribute jobs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiq-nightly-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'export.csv');
    await writeFile(file, 'phone,tier\n4155550901,gold\n4155550902,silver\n');
    const prefix = testPrefix();
    const config = loadConfig({ REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, BACKFILL_CRON: '* * * * * *', BACKFILL_SOURCE: file });
    const app: App = createApp({ config, logger: createLogger({ level: 'silent' }), backfillWorker: true });
    cleanups.push(async () => {
      const redis = createTestRedis();
      await deletePrefix(redis, prefix);
      await redis.quit();
    });
    cleanups.push(() => app.close());
    await app.start();
    expect((await app.queues.backfill.getJobSchedulers()).map((s) => s.key)).toEqual(['nightly-backfill']);
    const done = await waitFor(async () => (await app.events.readAll()).find((e) => e.kind === 'backfill.completed'), { timeoutMs: 15_000 });
    expect(done.detail).toMatchObject({ read: 2, enqueued: 2 });
    expect((await app.queues.attributes.getJobCounts('wait')).wait).toBe(2);
  });
});

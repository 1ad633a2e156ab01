import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePort, locateRedis, pingRedis } from '../../src/lib/redis-locator.ts';
import { RedisUnavailableError } from '../../src/lib/errors.ts';
import { testRedisUrl } from '../helpers/redis.ts';

describe('locateRedis', () => {
  it('uses REDIS_URL when it answers', async () => {
    const found = await locateRedis({ url: testRedisUrl() });
    expect(found).toMatchObject({ url: testRedisUrl(), source: 'url' });
  });

  it('starts redis-server from the PATH on a free port when nothing answers, and stops it after', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const found = await locateRedis({ localUrl: closed, path: process.env.PATH });
    expect(found.source).toBe('started');
    const client = new Redis(found.url);
    expect(await client.ping()).toBe('PONG');
    await client.quit();
    await found.stop();
    expect(await pingRedis(found.url, 300)).toBe(false);
  });

  it('says how to get Redis when there is none', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const err = await locateRedis({ localUrl: closed, path: '/nonexistent' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(/redis-server is not on the PATH.*apt-get install redis-server.*brew install redis.*docker compose up -d redis.*REDIS_URL/);
  });
});

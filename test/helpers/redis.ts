import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Redis } from 'ioredis';

/** The Redis of this test run (found or started by the global setup). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A fresh key prefix per test, hash-tagged like production's `{aiq}`. */
export function testPrefix(): string {
  return `{test-${randomUUID()}}`;
}

/** A plain connection for assertions; close it with `redis.quit()`. */
export function createTestRedis(url = testRedisUrl()): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** Deletes every key under a prefix. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

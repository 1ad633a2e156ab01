import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import { deleteKeysByPrefix } from '../../src/lib/redis.ts';

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
  await deleteKeysByPrefix(redis, prefix);
}

/** A fresh prefix and a connection for a test; `cleanup` deletes the prefix's keys and closes it. */
export function createPrefixedRedis(): { prefix: string; redis: Redis; cleanup(): Promise<void> } {
  const prefix = testPrefix();
  const redis = createTestRedis();
  return {
    prefix,
    redis,
    cleanup: async () => {
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

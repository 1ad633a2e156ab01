import type { TestProject } from 'vitest/node';
import { locateRedis } from '../../src/lib/redis-locator.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Finds Redis once for the run, the same way the demo does, and stops it after if it started one. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await locateRedis({ url: process.env.REDIS_URL, path: process.env.PATH });
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}

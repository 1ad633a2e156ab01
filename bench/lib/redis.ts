import { Redis } from 'ioredis';
import { findExecutable, pingRedis, startRedisServer } from '../../src/lib/redis-locator.ts';

/** The Redis every benchmark of one invocation uses. */
export interface BenchRedis {
  url: string;
  /**
   * `private`: a redis-server started for this invocation (nobody else's commands in
   * `INFO commandstats`, nobody else's keys); `url`: REDIS_URL as given; `local`: 127.0.0.1:6379.
   */
  source: 'private' | 'url' | 'local';
  version: string;
  stop(): Promise<void>;
}

/** A plain connection for the benchmark's own reads; close it with `quit()`. */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

async function serverVersion(url: string): Promise<string> {
  const redis = connect(url);
  try {
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    await redis.quit();
  }
}

/**
 * REDIS_URL when set; otherwise a private redis-server from the PATH (so that command counts are
 * ours alone on a machine others share), with the production setting `noeviction`; otherwise
 * 127.0.0.1:6379.
 */
export async function openBenchRedis(env: Readonly<Record<string, string | undefined>>): Promise<BenchRedis> {
  const none = async () => undefined;
  const given = env.REDIS_URL;
  if (given !== undefined && given !== '') {
    if (!(await pingRedis(given, 2_000))) throw new Error(`Redis at REDIS_URL does not answer`);
    return { url: given, source: 'url', version: await serverVersion(given), stop: none };
  }
  const binary = await findExecutable('redis-server', env.PATH);
  if (binary !== null) {
    const started = await startRedisServer({ binary, args: ['--maxmemory-policy', 'noeviction'] });
    return { url: started.url, source: 'private', version: await serverVersion(started.url), stop: started.stop };
  }
  const local = 'redis://127.0.0.1:6379';
  if (!(await pingRedis(local))) throw new Error('no Redis: set REDIS_URL, or put redis-server on the PATH');
  return { url: local, source: 'local', version: await serverVersion(local), stop: none };
}

/** Calls per command from `INFO commandstats` (commands run inside scripts included). */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1] as string, Number(m[2]));
  return calls;
}

export interface CommandDelta {
  total: number;
  /** Script invocations (EVALSHA and EVAL): round trips that run several commands each. */
  scripts: number;
  byCommand: Record<string, number>;
}

/** What ran between two `commandCalls` samples; the INFO calls themselves are left out. */
export function commandDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): CommandDelta {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    if (name === 'info') continue;
    const d = calls - (before.get(name) ?? 0);
    if (d <= 0) continue;
    byCommand[name] = d;
    total += d;
  }
  const scripts = (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0);
  return { total, scripts, byCommand };
}

/** Deletes every key under a prefix (BullMQ's keys included). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

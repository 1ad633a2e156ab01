import { afterEach, describe, expect, it } from 'vitest';
import { createEventStream } from '../../src/lib/events.ts';
import { createKeys } from '../../src/lib/keys.ts';
import { createPrefixedRedis, testRedisUrl } from '../helpers/redis.ts';
import { runCli, spawnCli } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function setup() {
  const { prefix, redis, cleanup } = createPrefixedRedis();
  cleanups.push(cleanup);
  const stream = createEventStream({ redis, keys: createKeys(prefix) });
  const env = { REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, LOG_LEVEL: 'silent' };
  const event = (kind: string, key: string, queue = 'points') => ({ kind, key, jobId: 'j', queue, account: 'default', contactID: 'c', attempts: 1, detail: { n: 1 } });
  return { stream, env, event };
}

describe('aiq-sync events tail', () => {
  it('prints the stream from the start with filters, and exits with --no-follow', async () => {
    const { stream, env, event } = await setup();
    await stream.publish(event('points.applied', 'k1'));
    await stream.publish(event('job.dead', 'k2'));
    await stream.publish(event('optin.applied', 'k3', 'optin'));
    const { code, stdout } = await runCli(['events', 'tail', '--from', '0', '--no-follow', '--queue', 'points'], env);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; kind: string; detail: unknown });
    expect(lines.map((l) => l.id)).toEqual(['points.applied:k1', 'job.dead:k2']);
    expect(lines[0]!.detail).toEqual({ n: 1 });
  });

  it('follows new events until interrupted', async () => {
    const { stream, env, event } = await setup();
    await stream.publish(event('points.applied', 'old'));
    const tail = spawnCli(['events', 'tail'], env);
    cleanups.push(async () => tail.kill('SIGKILL'));
    // Publish until the follower shows one (it starts reading after its own start-up).
    await waitFor(async () => {
      await stream.publish(event('points.applied', 'new'));
      return tail.stdout().includes('points.applied:new');
    }, { timeoutMs: 15_000, intervalMs: 200 });
    tail.kill('SIGTERM');
    expect(await tail.exited).toBe(0);
    expect(tail.stdout()).not.toContain('points.applied:old');
  });
});

describe('aiq-sync dlq', () => {
  it('refuses bad filters and a purge without --yes', async () => {
    const { env } = await setup();
    const bad = await runCli(['dlq', 'list', '--queue', 'nope', '--since', 'yesterday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--queue: unknown queue "nope"');
    const purge = await runCli(['dlq', 'purge'], env);
    expect(purge.code).toBe(2);
    expect(purge.stderr).toContain('add --yes to confirm');
    const empty = await runCli(['dlq', 'list'], env);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('0 job(s) dead-lettered');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { createPrefixedRedis, testRedisUrl } from '../helpers/redis.ts';
import { runCli } from '../helpers/processes.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

describe('aiq-sync enqueue', () => {
  it('refuses an invalid line with the field named, enqueues the others, and reports duplicates', async () => {
    const { prefix, redis, cleanup } = createPrefixedRedis();
    cleanups.push(cleanup);
    const env = { REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, LOG_LEVEL: 'silent' };
    const t = (id: string, phone: string) => JSON.stringify({ source: 'treez', storeId: '1', transactionId: id, occurredAt: '2026-11-28T10:00:00Z', customer: { phone }, total: 5 });
    const input = [t('A', '4155550100'), t('B', '415555010'), '', '{"not json', t('A', '4155550100'), t('C', '(415) 555-0199')].join('\n') + '\n';
    const { code, stdout, stderr } = await runCli(['enqueue', 'pos'], env, input);
    expect(code, stderr).toBe(1);
    expect(stdout.trim(), `no output; stderr: ${stderr}`).not.toBe('');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.line, l.status ?? l.error])).toEqual([
      [1, 'queued'],
      [2, 'invalid_request'],
      [4, 'malformed JSON'],
      [5, 'duplicate'],
      [6, 'queued'],
    ]);
    expect(lines[1]!.issues).toEqual([{ path: 'customer.phone', message: 'expected a 10-digit US phone number' }]);
    expect(lines[0]).toMatchObject({ idempotencyKey: 'pos:treez:1:A:sale', jobId: expect.stringMatching(/^points-[0-9a-f]{32}$/) });
    const queue = new Queue('points', { connection: redis, prefix });
    cleanups.push(() => queue.close());
    expect(await queue.getJobCountByTypes('wait')).toBe(2);
  });

  it('says which kind it expects', async () => {
    const { code, stderr } = await runCli(['enqueue', 'sales'], { LOG_LEVEL: 'silent' }, '');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown kind "sales"; expected pos, optin or attributes');
  });
});

describe('configuration errors', () => {
  it('stops the worker at start with one line naming every problem', async () => {
    const { code, stderr } = await runCli(['worker'], { REDIS_URL: 'nope', AIQ_RATE_LIMITS: '5/fortnight', WORKER_CONCURRENCY: '0' });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const name of ['REDIS_URL', 'AIQ_RATE_LIMITS', 'WORKER_CONCURRENCY', 'AIQ_API_KEY', 'AIQ_UID']) expect(lines[0]).toContain(name);
  });

  it('lists every command of the contract in --help', async () => {
    const { code, stdout } = await runCli(['--help'], {});
    expect(code).toBe(0);
    for (const command of ['worker', 'ingress', 'simulator', 'enqueue', 'demo', 'backfill', 'dlq', 'events']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });
});

import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/lib/redis-locator.ts';
import { runCli } from '../helpers/processes.ts';
import { testRedisUrl } from '../helpers/redis.ts';

describe('aiq-sync demo', () => {
  it('runs the whole system and ends with a summary whose exactly-once check passes', async () => {
    const { code, stdout, stderr } = await runCli(['demo'], { REDIS_URL: testRedisUrl() });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^queue\s+applied\s+unchanged\s+refused\s+dead\s+retries\s+429s$/m);
    expect(stdout).toMatch(/^points\s+68\s+0\s+0\s+0\s+\d+\s+\d+$/m);
    expect(stdout).toMatch(/^optin\s+3\s+0\s+1\s+0\s+/m);
    expect(stdout).toContain('backfill, second run: read 40, enqueued 0, unchanged 40, rejected 0');
    expect(stdout).toMatch(/exactly-once check against the simulator's ledger: 68 credits, 0 duplicated, 0 missing, 0 wrong: OK/);
    expect(stdout).toContain('every accepted job reached a terminal event: yes');
    expect(stdout).toMatch(/metrics: +http:\/\/127\.0\.0\.1:\d+\/metrics/);
  });

  it('exits with one clear line when REDIS_URL points at a closed port', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await runCli(['demo'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^aiq-sync demo: Redis at REDIS_URL \(redis:\/\/127\.0\.0\.1:\d+\/?\) does not answer\. Redis is needed: install it/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/index.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { freePort } from '../../src/lib/redis-locator.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

interface FakeContext {
  ctx: CliContext;
  stderr(): string;
  exitCode(): number | undefined;
  /** Delivers a SIGTERM-like signal to the registered handlers. */
  signal(): void;
}

function fakeContext(env: Record<string, string>): FakeContext {
  let err = '';
  let code: number | undefined;
  let signals = 0;
  const handlers = new Set<(force: boolean) => void>();
  const stderr = new PassThrough();
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ctx: CliContext = {
    env,
    stdin: Readable.from([]),
    stdout: new PassThrough().resume(),
    stderr,
    isTTY: false,
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    setExitCode(c) {
      code = c;
    },
  };
  return {
    ctx,
    stderr: () => err,
    exitCode: () => code,
    signal() {
      signals += 1;
      for (const h of [...handlers]) h(signals > 1);
    },
  };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('aiq-sync ingress', () => {
  it('refuses to start without INGRESS_TOKENS: one line on stderr, exit code 2', async () => {
    const fake = fakeContext({ REDIS_URL: testRedisUrl(), LOG_LEVEL: 'silent', INGRESS_PORT: 'eighty' });
    await createProgram(fake.ctx).parseAsync(['node', 'aiq-sync', 'ingress']);
    expect(fake.exitCode()).toBe(2);
    const lines = fake.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^aiq-sync ingress: invalid configuration: .*INGRESS_PORT.*INGRESS_TOKENS/);
  });

  it('listens on INGRESS_HOST:INGRESS_PORT, takes requests, and stops on a signal', async () => {
    const prefix = testPrefix();
    cleanups.push(async () => {
      const redis = createTestRedis();
      await deletePrefix(redis, prefix);
      await redis.quit();
    });
    const port = await freePort();
    const fake = fakeContext({ REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, INGRESS_HOST: '127.0.0.1', INGRESS_PORT: String(port), INGRESS_TOKENS: 'cli-token-0123456789', LOG_LEVEL: 'silent' });
    const running = createProgram(fake.ctx).parseAsync(['node', 'aiq-sync', 'ingress']);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, { message: 'the ingress answers /readyz' });
    const sale = { source: 'treez', storeId: '1', transactionId: 'CLI-1', occurredAt: '2026-11-28T10:00:00Z', customer: { srcID: 'c1' }, total: 1 };
    const res = await fetch(`${url}/v1/pos/transactions`, { method: 'POST', headers: { authorization: 'Bearer cli-token-0123456789', 'content-type': 'application/json' }, body: JSON.stringify(sale) });
    expect(res.status).toBe(202);
    fake.signal();
    await running;
    expect(fake.exitCode()).toBeUndefined();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

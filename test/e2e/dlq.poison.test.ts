import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventStream, type ResultEvent } from '../../src/lib/events.ts';
import { createKeys } from '../../src/lib/keys.ts';
import { createSimulator } from '../../src/simulator/index.ts';
import { createPrefixedRedis, testRedisUrl } from '../helpers/redis.ts';
import { runCli, spawnCli } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

interface DeadLine {
  jobId: string;
  key: string;
  code: string;
}

const lines = (stdout: string) => stdout.split('\n').filter((l) => l.trim() !== '');

describe('poison jobs through the CLI', () => {
  it('lists a poisoned job by its error code, and a replay after the cause is fixed applies it once', async () => {
    const sim = await createSimulator({ apiKey: 'dlq-key', uid: '1234' });
    cleanups.push(() => sim.close());
    const { prefix, redis, cleanup } = createPrefixedRedis();
    cleanups.push(cleanup);
    const dir = await mkdtemp(join(tmpdir(), 'aiq-dlq-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Account "east" is configured with a revoked key: AIQ answers 403, the job is dead at once.
    const accountsFile = join(dir, 'accounts.json');
    await writeFile(accountsFile, JSON.stringify([{ name: 'east', apiKey: 'revoked-key', uid: '1234' }]));
    const contactID = sim.control.addPersona({ mobilePhone: '4155550700', loyaltyPoints: 0 }).contactID;
    const env = {
      REDIS_URL: testRedisUrl(),
      SYNC_PREFIX: prefix,
      AIQ_BASE_URL: sim.url,
      AIQ_API_KEY: 'dlq-key',
      AIQ_UID: '1234',
      AIQ_ACCOUNTS_FILE: accountsFile,
      AIQ_RATE_LIMITS: '100/s',
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_SHUTDOWN_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'silent',
    };
    const sale = (id: string, account?: string) =>
      JSON.stringify({ source: 'dlq', storeId: '1', transactionId: id, occurredAt: '2026-11-28T10:00:00Z', customer: { contactID }, total: 21.5, ...(account ? { account } : {}) });
    const enq = await runCli(['enqueue', 'pos'], env, [sale('OK-1'), sale('EAST-1', 'east'), sale('GHOST-1', 'ghost')].join('\n') + '\n');
    expect(enq.code, enq.stderr).toBe(0);
    const [ok, east, ghost] = lines(enq.stdout).map((l) => JSON.parse(l) as { idempotencyKey: string; jobId: string });

    const events = createEventStream({ redis, keys: createKeys(prefix) });
    const terminalOf = async (key: string, kind?: string): Promise<ResultEvent[]> => (await events.readAll()).filter((e) => e.key === key && (kind === undefined || e.kind === kind));
    let worker = spawnCli(['worker', '--queues', 'points'], env);
    cleanups.push(async () => worker.kill('SIGKILL'));
    await waitFor(async () => (await events.readAll()).length >= 3, { timeoutMs: 30_000, message: 'three terminal events' });
    expect((await terminalOf(ok!.idempotencyKey))[0]?.kind).toBe('points.applied');
    expect((await terminalOf(east!.idempotencyKey))[0]?.detail).toMatchObject({ code: 'AIQ_ERR_AUTH', status: 403 });
    expect((await terminalOf(ghost!.idempotencyKey))[0]?.detail).toMatchObject({ code: 'AIQ_ERR_CONFIG' });

    // `dlq list --code` shows the poisoned job, and only it.
    const listed = await runCli(['dlq', 'list', '--code', 'AIQ_ERR_AUTH', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(lines(listed.stdout).map((l) => JSON.parse(l) as DeadLine)).toEqual([
      expect.objectContaining({ jobId: east!.jobId, key: east!.idempotencyKey, code: 'AIQ_ERR_AUTH', queue: 'points' }),
    ]);
    const human = await runCli(['dlq', 'list'], env);
    expect(lines(human.stdout)).toHaveLength(2);
    expect(human.stdout).toContain('AIQ_ERR_AUTH');
    expect(human.stdout).toContain(`key=${ghost!.idempotencyKey}`);
    const applied = () => sim.control.ledger().filter((l) => l.route === 'adjustPoints' && l.note === east!.idempotencyKey);
    expect(applied()).toHaveLength(0);

    // The cause is fixed (the key rotated in the accounts file, workers restarted), then replayed.
    await writeFile(accountsFile, JSON.stringify([{ name: 'east', apiKey: 'dlq-key', uid: '1234' }]));
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    worker = spawnCli(['worker', '--queues', 'points'], env);
    const replay = await runCli(['dlq', 'replay', '--code', 'AIQ_ERR_AUTH'], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toContain('1 job(s) replayed');
    await waitFor(async () => (await terminalOf(east!.idempotencyKey, 'points.applied')).length === 1, { timeoutMs: 30_000, message: 'the replayed job applied' });
    expect(applied()).toEqual([expect.objectContaining({ contactID, value: 21 })]);
    expect(sim.control.persona(contactID)?.loyaltyPoints).toBe(42);

    // Nothing left under that code; the other poison is still there; a second replay does nothing.
    expect(lines((await runCli(['dlq', 'list', '--code', 'AIQ_ERR_AUTH', '--json'], env)).stdout)).toEqual([]);
    const rest = lines((await runCli(['dlq', 'list', '--json'], env)).stdout).map((l) => JSON.parse(l) as DeadLine);
    expect(rest).toEqual([expect.objectContaining({ key: ghost!.idempotencyKey, code: 'AIQ_ERR_CONFIG' })]);
    const again = await runCli(['dlq', 'replay', '--code', 'AIQ_ERR_AUTH'], env);
    expect(again.stderr).toContain('0 job(s) replayed');
    expect(applied()).toHaveLength(1);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/lib/keys.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ROWS = 20_000;
let dir: string;
let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiq-backfill-e2e-'));
  redis = createTestRedis();
});

afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

async function writeExport(name: string, rows: number): Promise<string> {
  const file = join(dir, name);
  const out = createWriteStream(file);
  out.write('phone,tier,visits,store\n');
  for (let i = 0; i < rows; i += 1) {
    if (!out.write(`${2_003_000_000 + i},gold,${i},S${i % 37}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `aiq-sync backfill` as a real process with a clean environment. */
function backfill(prefix: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['bin/aiq-sync.js', 'backfill', ...args], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_URL: testRedisUrl(), SYNC_PREFIX: prefix, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
  return { child, done };
}

/** Rows processed according to the file's checkpoint (any checkpoint under the prefix). */
async function checkpointRows(prefix: string): Promise<number> {
  const [key] = await redis.keys(`${createKeys(prefix).backfillCheckpoint('*')}`);
  return key === undefined ? 0 : Number((await redis.hget(key, 'read')) ?? 0);
}

function newPrefix(): string {
  const p = testPrefix();
  prefixes.push(p);
  return p;
}

async function attributeJobCount(prefix: string): Promise<number> {
  const queue = new Queue('attributes', { connection: redis, prefix });
  try {
    const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

const SUMMARY = /^read (\d+), enqueued (\d+), unchanged (\d+), rejected (\d+)(?:, duplicate (\d+))?\n$/;

describe('aiq-sync backfill (process)', () => {
  it('enqueues every row exactly once across a SIGKILL at half way and a rerun', async () => {
    const prefix = newPrefix();
    const file = await writeExport('big.csv', ROWS);
    const first = backfill(prefix, [file, '--checkpoint-every', '500']);
    await waitFor(async () => (await checkpointRows(prefix)) >= ROWS / 2, { timeoutMs: 60_000, intervalMs: 10, message: 'a checkpoint at half way' });
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toBe('');
    const atKill = await checkpointRows(prefix);
    expect(atKill).toBeLessThan(ROWS);

    const second = await backfill(prefix, [file, '--checkpoint-every', '500']).done;
    expect(second.code).toBe(0);
    const m = SUMMARY.exec(second.stdout);
    expect(m, second.stdout).not.toBeNull();
    const [read, enqueued, unchanged, rejected, duplicate] = m!.slice(1).map((v) => Number(v ?? 0));
    expect({ read, unchanged, rejected }).toEqual({ read: ROWS, unchanged: 0, rejected: 0 });
    // Rows enqueued after the last checkpoint before the kill are read again: their jobs exist.
    expect(enqueued! + duplicate!).toBe(ROWS);
    expect(duplicate!).toBeLessThanOrEqual(1_500);
    expect(second.stderr).toContain(`resuming after ${atKill} rows`);
    expect(await attributeJobCount(prefix)).toBe(ROWS);
  });

  it('stops at SIGTERM with a checkpoint and exit 130, and the rerun completes the file', async () => {
    const prefix = newPrefix();
    const file = await writeExport('term.csv', ROWS);
    const first = backfill(prefix, [file, '--checkpoint-every', '500']);
    await waitFor(async () => (await checkpointRows(prefix)) >= 2_000, { timeoutMs: 60_000, intervalMs: 10, message: 'a first checkpoint' });
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toBe('');
    expect(stopped.stderr).toMatch(/interrupted; checkpoint saved after \d+ rows/);
    const saved = await checkpointRows(prefix);

    const second = await backfill(prefix, [file]).done;
    expect(second.code).toBe(0);
    // A graceful stop checkpoints everything it enqueued: nothing is read twice.
    expect(second.stdout).toBe(`read ${ROWS}, enqueued ${ROWS}, unchanged 0, rejected 0\n`);
    expect(second.stderr).toContain(`resuming after ${saved} rows`);
    expect(await attributeJobCount(prefix)).toBe(ROWS);
  });

  it('exits 1 with one line for a missing file, 2 for bad flags or configuration, 0 with rejects', async () => {
    const prefix = newPrefix();
    const missing = await backfill(prefix, [join(dir, 'nope.csv')]).done;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`aiq-sync backfill: cannot read ${join(dir, 'nope.csv')}: no such file\n`);

    const file = join(dir, 'small.csv');
    await writeFile(file, 'phone,tier\n4155550101,gold\n123,silver\n');
    for (const args of [[file, '--checkpoint-every', '0'], [file, '--format', 'xml'], [file, '--map', 'mobile=Mobile'], [file, '--frobnicate'], [join(dir, 'export.txt')]]) {
      const bad = await backfill(prefix, args).done;
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stdout).toBe('');
    }
    const badConfig = await backfill(prefix, [file], { REDIS_URL: 'not a url' }).done;
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/REDIS_URL/);

    const ok = await backfill(prefix, [file]).done;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('read 2, enqueued 1, unchanged 0, rejected 1\n');
    expect(ok.stderr).toContain(`1 rejected rows in ${file}.rejects.ndjson`);
  });
});

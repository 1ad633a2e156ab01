/**
 * Backfill benchmark (not a test): `node --import tsx bench/backfill.ts [--rows 1000000]`.
 *
 * 1. Writes an export of `--rows` customers (CSV, six columns) under bench/tmp.
 * 2. Runs `aiq-sync backfill` on it as a child process: rows/s and the child's peak RSS
 *    (VmHWM from /proc, polled).
 * 3. Marks every contact as synced the way the attributes worker does (the hash and version of
 *    what was applied), and removes the queued jobs, as if the workers had drained them.
 * 4. Runs the backfill again with attribute workers live against the simulator: rows/s, peak
 *    RSS, jobs enqueued and API calls (both must be 0).
 *
 * `--node-options "--max-old-space-size=96"` runs the children with those Node options (V8 grows
 * the heap lazily; a cap shows the backfill's real working set).
 *
 * Prints one JSON object. Uses REDIS_URL when set, else a private redis-server on a free port
 * (so a million jobs do not land in a shared Redis).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { attributesHash, versionNumber } from '../src/jobs/attributes.ts';
import { loadConfig } from '../src/lib/config.ts';
import { customerIdentifier } from '../src/lib/idempotency.ts';
import { createLogger } from '../src/lib/logger.ts';
import { findExecutable, startRedisServer } from '../src/lib/redis-locator.ts';
import { createCsvRowMapper } from '../src/producers/backfill-rows.ts';
import { createSimulator } from '../src/simulator/index.ts';

const TARGETS = { peakRssMB: 250, rowsPerSecond: 10_000 };

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number`);
  return n;
}

/** A valid NANP phone per index: area code and exchange 200-999, unique below 6.4 billion. */
function phoneOf(i: number): string {
  return `${200 + (i % 800)}${200 + (Math.floor(i / 800) % 800)}${String(Math.floor(i / 640_000)).padStart(4, '0')}`;
}

async function writeExport(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('phone,email,tier,points,store,last_visit\n');
  const tiers = ['bronze', 'silver', 'gold', 'platinum'];
  for (let i = 0; i < rows; i += 1) {
    const line = `${phoneOf(i)},c${i}@example.com,${tiers[i % 4]},${(i * 37) % 5000},S${i % 41},2026-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface ChildRun {
  code: number | null;
  stdout: string;
  wallMs: number;
  peakRssMB: number;
  /** Rows/s between the first and the last progress line (process start-up excluded). */
  steadyRowsPerSecond: number | null;
}

async function vmHwmKB(pid: number): Promise<number> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `aiq-sync <args>` as a child process, with its peak RSS and progress-line timings. */
async function runCli(args: string[], env: Record<string, string>): Promise<ChildRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['bin/aiq-sync.js', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const marks: Array<{ at: number; rows: number }> = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    const m = /, (\d+) rows, /.exec(line);
    if (m) marks.push({ at: Date.now(), rows: Number(m[1]) });
  });
  let peak = 0;
  const poll = setInterval(() => {
    void vmHwmKB(child.pid ?? 0).then((kb) => (peak = Math.max(peak, kb)));
  }, 100);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(poll);
  const wallMs = Date.now() - started;
  const first = marks[0];
  const last = marks[marks.length - 1];
  const steady = first && last && last.at > first.at ? Math.round(((last.rows - first.rows) * 1000) / (last.at - first.at)) : null;
  return { code, stdout: stdout.trim(), wallMs, peakRssMB: Math.round(peak / 1024), steadyRowsPerSecond: steady };
}

function summaryOf(run: ChildRun): Record<string, number> {
  const m = /^read (\d+), enqueued (\d+), unchanged (\d+), rejected (\d+)(?:, duplicate (\d+))?$/.exec(run.stdout);
  if (!m || run.code !== 0) throw new Error(`backfill failed (exit ${run.code}): ${run.stdout}`);
  const [read, enqueued, unchanged, rejected, duplicate] = m.slice(1).map((v) => Number(v ?? 0));
  return { read: read!, enqueued: enqueued!, unchanged: unchanged!, rejected: rejected!, duplicate: duplicate! };
}

/** Removes the run's keys from a shared Redis. */
async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

async function main(): Promise<void> {
  const rows = argValue('--rows', 1_000_000);
  const binary = await findExecutable('redis-server', process.env.PATH);
  const server = process.env.REDIS_URL === undefined && binary !== null ? await startRedisServer({ binary }) : undefined;
  const redisUrl = process.env.REDIS_URL ?? server?.url ?? 'redis://127.0.0.1:6379';
  const prefix = `{bench-backfill-${randomUUID()}}`;
  const dir = join('bench', 'tmp', `backfill-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'export.csv');
  const optionIndex = process.argv.indexOf('--node-options');
  const nodeOptions = optionIndex < 0 ? undefined : process.argv[optionIndex + 1];
  const env = { REDIS_URL: redisUrl, SYNC_PREFIX: prefix, LOG_LEVEL: 'silent' };
  const childEnv: Record<string, string> = nodeOptions === undefined ? env : { ...env, NODE_OPTIONS: nodeOptions };
  const logger = createLogger({ level: 'silent' });
  const sim = await createSimulator({ apiKey: 'bench-key', uid: '1234' });
  const config = loadConfig({ ...env, AIQ_BASE_URL: sim.url, AIQ_API_KEY: 'bench-key', AIQ_UID: '1234', AIQ_RATE_LIMITS: '100000/s' });
  const app = createApp({ config, logger });
  try {
    await app.start();
    const t0 = Date.now();
    await writeExport(file, rows);
    const fileMB = Math.round((await stat(file)).size / 1_048_576);
    const generateMs = Date.now() - t0;

    const fresh = await runCli(['backfill', file, '--checkpoint-every', '10000'], childEnv);
    const freshCounts = summaryOf(fresh);
    const jobsQueued = await app.queues.attributes.getWaitingCount();

    // What the worker leaves behind after a sync: the applied hash and version per contact.
    const t1 = Date.now();
    await app.queues.attributes.obliterate({ force: true });
    const mtime = new Date(Math.floor((await stat(file)).mtimeMs)).toISOString();
    const lines = createInterface({ input: createReadStream(file) });
    let map: ReturnType<typeof createCsvRowMapper> | undefined;
    let pipeline = app.workerRedis.pipeline();
    let n = 0;
    for await (const line of lines) {
      if (map === undefined) {
        map = createCsvRowMapper(line.split(','), { columnMap: {}, versionColumn: undefined, defaultVersion: mtime, account: undefined });
        continue;
      }
      const row = map(line.split(','), n + 2);
      if (!row.ok) throw new Error(`generated row ${n} is invalid`);
      const key = app.keys.attributes('default', customerIdentifier(row.update.customer));
      pipeline.hset(key, 'hash', attributesHash(row.update), 'contactID', `bench${n}`, 'version', String(versionNumber(row.update.version)));
      n += 1;
      if (n % 10_000 === 0) {
        await pipeline.exec();
        pipeline = app.workerRedis.pipeline();
      }
    }
    await pipeline.exec();
    const markMs = Date.now() - t1;

    // The unchanged rerun, with attribute workers live against the simulator: anything enqueued
    // would turn into API calls.
    await app.close();
    const live = createApp({ config, logger, workerQueues: ['attributes'] });
    await live.start();
    const rerun = await runCli(['backfill', file, '--checkpoint-every', '10000'], childEnv);
    const rerunCounts = summaryOf(rerun);
    const jobsAfter = await live.queues.attributes.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    const apiCalls = sim.control.stats().requests;
    await live.close();

    const rate = (r: ChildRun) => Math.round((rows * 1000) / r.wallMs);
    const result = {
      bench: 'backfill',
      rows,
      fileMB,
      nodeOptions: nodeOptions ?? null,
      machine: { cores: cpus().length, node: process.version, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
      generateMs,
      fresh: { ...freshCounts, jobsQueued, wallMs: fresh.wallMs, rowsPerSecond: rate(fresh), steadyRowsPerSecond: fresh.steadyRowsPerSecond, peakRssMB: fresh.peakRssMB },
      markSyncedMs: markMs,
      unchangedRerun: {
        ...rerunCounts,
        wallMs: rerun.wallMs,
        rowsPerSecond: rate(rerun),
        steadyRowsPerSecond: rerun.steadyRowsPerSecond,
        peakRssMB: rerun.peakRssMB,
        jobsAfter: Object.values(jobsAfter).reduce((a, b) => a + b, 0),
        apiCalls,
      },
      targets: TARGETS,
      met: {
        peakRss: Math.max(fresh.peakRssMB, rerun.peakRssMB) < TARGETS.peakRssMB,
        rowsPerSecond: rate(fresh) >= TARGETS.rowsPerSecond,
        unchangedRerunNoApiCalls: apiCalls === 0 && rerunCounts.enqueued === 0 && rerunCounts.unchanged === rows,
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await app.close();
    await sim.close();
    if (server) await server.stop();
    else await deletePrefix(redisUrl, prefix);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

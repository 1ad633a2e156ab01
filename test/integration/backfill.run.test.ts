import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { PayloadInvalidError } from '../../src/lib/errors.ts';
import { runBackfill, type BackfillStart, type RunBackfillOptions } from '../../src/producers/backfill.ts';
import { startPipeline, type TestPipeline, startProducerApp } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiq-backfill-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A producer-only app (no workers) on a fresh prefix. */
function startApp(): Promise<App> {
  return startProducerApp(cleanups);
}

const phoneOf = (i: number) => String(4155550000 + i);

function csv(rows: number, extra: (i: number) => string = (i) => `gold,${i}`): string {
  const lines = ['phone,email,tier,visits'];
  for (let i = 0; i < rows; i += 1) lines.push(`${phoneOf(i)},u${i}@example.com,${extra(i)}`);
  return `${lines.join('\n')}\n`;
}

function run(app: App, file: string, options: Partial<RunBackfillOptions> = {}) {
  return runBackfill({ producer: app.producer, redis: app.redis, keys: app.keys, file, ...options });
}

async function attributeJobs(app: App) {
  return app.queues.attributes.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'], 0, -1);
}

describe('backfill run', () => {
  it('enqueues one attribute job per CSV row, with the file modification time as the version', async () => {
    const app = await startApp();
    const file = join(await tempDir(), 'export.csv');
    await writeFile(file, csv(300, (i) => `${i % 3 === 0 ? '' : 'gold'},${i}`));
    const mtime = new Date(Math.floor((await stat(file)).mtimeMs)).toISOString();

    const result = await run(app, file);
    expect(result.status).toBe('completed');
    expect(result.counts).toEqual({ read: 300, enqueued: 300, unchanged: 0, rejected: 0, duplicate: 0 });
    const jobs = await attributeJobs(app);
    expect(jobs).toHaveLength(300);
    const byPhone = new Map(jobs.map((j) => [j.data.customer.phone as string, j.data]));
    expect(byPhone.get(phoneOf(3))).toEqual({ customer: { phone: phoneOf(3), email: 'u3@example.com' }, attributes: { visits: '3' }, version: mtime });
    expect(byPhone.get(phoneOf(4))).toEqual({ customer: { phone: phoneOf(4), email: 'u4@example.com' }, attributes: { tier: 'gold', visits: '4' }, version: mtime });
  });

  it('writes invalid rows to the rejects file with their line numbers and enqueues the others', async () => {
    const app = await startApp();
    const dir = await tempDir();
    const file = join(dir, 'export.csv');
    const lines = [
      'phone,email,tier', // 1
      '4155550101,,gold', // 2 valid
      '99999,,gold', // 3 bad phone
      ',,silver', // 4 no identifier
      '', // 5 blank: skipped, not a row
      '4155550104,,gold,extra', // 6 too many fields
      '4155550105,,"two', // 7-8 one quoted multi-line cell: valid
      'lines"',
      '4155550106,,a"b', // 9 stray quote in an unquoted cell
      '4155550107,,gold', // 10 valid
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const result = await run(app, file);
    expect(result.counts).toEqual({ read: 7, enqueued: 3, unchanged: 0, rejected: 4, duplicate: 0 });
    expect(result.rejectsPath).toBe(`${file}.rejects.ndjson`);
    const text = await readFile(result.rejectsPath, 'utf8');
    const rejects = text.trim().split('\n').map((l) => JSON.parse(l) as { line: number; error: string; issues: Array<{ path: string; message: string }> });
    expect(rejects.map((r) => r.line)).toEqual([3, 4, 6, 9]);
    expect(rejects[0]).toEqual({ line: 3, error: 'invalid row', issues: [{ path: 'phone', message: 'expected a 10-digit US phone number' }] });
    expect(rejects[1]!.issues).toEqual([{ path: '', message: 'at least one of contactID, srcID, phone, email is required' }]);
    expect(rejects[2]!.issues[0]!.message).toBe('expected 3 fields as in the header, found 4');
    expect(rejects[3]).toMatchObject({ line: 9, error: 'unreadable record' });
    // The rejects file says what is wrong, not the customer's data.
    expect(text).not.toContain('99999');
    const multiLine = (await attributeJobs(app)).find((j) => j.data.customer.phone === '4155550105');
    expect(multiLine?.data.attributes).toEqual({ tier: 'two\nlines' });

    // A run with no rejects empties the file of the earlier run.
    await writeFile(file, 'phone,tier\n4155550101,gold\n');
    await run(app, file);
    expect(await readFile(result.rejectsPath, 'utf8')).toBe('');
  });

  it('reads NDJSON: flat records and the HTTP route shape, with line numbers for the rejects', async () => {
    const app = await startApp();
    const dir = await tempDir();
    const file = join(dir, 'export.jsonl');
    const rejectsPath = join(dir, 'bad.ndjson');
    await writeFile(
      file,
      [
        '{"phone":"4155550101","tier":"gold","visits":3}',
        '{"customer":{"email":"a@example.com"},"attributes":{"tier":"silver"},"version":7}',
        '{"phone":',
        '',
        '["not","an","object"]',
        '{"email":"b@example.com","tier":null}',
      ].join('\r\n'),
    );
    const result = await run(app, file, { rejectsPath, account: 'default' });
    expect(result.counts).toEqual({ read: 5, enqueued: 3, unchanged: 0, rejected: 2, duplicate: 0 });
    const rejects = (await readFile(rejectsPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { line: number; error: string });
    expect(rejects.map((r) => [r.line, r.error])).toEqual([
      [3, 'invalid JSON'],
      [5, 'invalid row'],
    ]);
    const jobs = await attributeJobs(app);
    const shaped = jobs.find((j) => j.data.customer.email === 'a@example.com');
    expect(shaped?.data).toEqual({ customer: { email: 'a@example.com' }, attributes: { tier: 'silver' }, version: 7, account: 'default' });
    const flat = jobs.find((j) => j.data.customer.phone === '4155550101');
    expect(flat?.data.attributes).toEqual({ tier: 'gold', visits: 3 });
    expect(jobs.find((j) => j.data.customer.email === 'b@example.com')?.data.attributes).toEqual({ tier: null });
  });

  it('reads identifiers from the columns --map names, and versions from --version-column', async () => {
    const app = await startApp();
    const file = join(await tempDir(), 'export.csv');
    await writeFile(file, 'Mobile,EmailAddress,updated_at,tier\n4155550101,A@example.com,2026-11-27T10:00:00Z,gold\n4155550102,,,silver\n');
    const result = await run(app, file, { columnMap: { phone: 'Mobile', email: 'EmailAddress' }, versionColumn: 'updated_at' });
    expect(result.counts).toMatchObject({ read: 2, enqueued: 2, rejected: 0 });
    const jobs = await attributeJobs(app);
    const first = jobs.find((j) => j.data.customer.phone === '4155550101');
    expect(first?.data).toEqual({ customer: { phone: '4155550101', email: 'a@example.com' }, attributes: { tier: 'gold' }, version: '2026-11-27T10:00:00Z' });

    // A mapped column missing from the file stops the run before anything is enqueued.
    const other = join(await tempDir(), 'other.csv');
    await writeFile(other, 'phone,tier\n4155550103,gold\n');
    await expect(run(app, other, { columnMap: { phone: 'Mobile' } })).rejects.toBeInstanceOf(PayloadInvalidError);
    expect(await attributeJobs(app)).toHaveLength(2);
  });

  it('resumes from its checkpoint after an interruption, so each row is enqueued once', async () => {
    const app = await startApp();
    const file = join(await tempDir(), 'export.csv');
    await writeFile(file, csv(2000, (i) => (i % 250 === 7 ? 'gold,oops,extra' : `gold,${i}`)));
    const stop = new AbortController();
    const first = await run(app, file, {
      checkpointEvery: 200,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.counts.read >= 1000) stop.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    expect(first.counts.read).toBeGreaterThanOrEqual(1000);
    expect(first.counts.read).toBeLessThan(2000);
    expect(await app.redis.hget(app.keys.backfillCheckpoint(first.fileId), 'read')).toBe(String(first.counts.read));

    let start: BackfillStart | undefined;
    const second = await run(app, file, { checkpointEvery: 200, onStart: (info) => (start = info) });
    expect(start?.resumedRows).toBe(first.counts.read);
    expect(second.status).toBe('completed');
    expect(second.rowsThisRun).toBe(2000 - first.counts.read);
    expect(second.counts).toEqual({ read: 2000, enqueued: 1992, unchanged: 0, rejected: 8, duplicate: 0 });
    expect(await attributeJobs(app)).toHaveLength(1992);
    const rejectLines = (await readFile(second.rejectsPath, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line);
    expect(rejectLines).toEqual([9, 259, 509, 759, 1009, 1259, 1509, 1759]);
    expect(await app.redis.hget(app.keys.backfillCheckpoint(second.fileId), 'done')).toBe('1');
  });

  it('starts a completed file over, and --restart drops an unfinished checkpoint', async () => {
    const app = await startApp();
    const file = join(await tempDir(), 'export.csv');
    await writeFile(file, csv(600));
    await run(app, file);
    let start: BackfillStart | undefined;
    const again = await run(app, file, { onStart: (info) => (start = info) });
    expect(start).toMatchObject({ resumedRows: 0, startedOver: 'completed' });
    // Nothing synced yet, but every job already exists: nothing new is enqueued.
    expect(again.counts).toEqual({ read: 600, enqueued: 0, unchanged: 0, rejected: 0, duplicate: 600 });

    const stop = new AbortController();
    await run(app, file, { checkpointEvery: 100, chunksInFlight: 1, signal: stop.signal, onProgress: () => stop.abort() });
    const restarted = await run(app, file, { restart: true, onStart: (info) => (start = info) });
    expect(start).toMatchObject({ resumedRows: 0, startedOver: 'restart' });
    expect(restarted.counts.read).toBe(600);
    expect(await attributeJobs(app)).toHaveLength(600);
  });
});

describe('backfill change detection', () => {
  let pipeline: TestPipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('enqueues nothing for contacts whose attributes are as last synced, and only the changed ones after an edit', async () => {
    pipeline = await startPipeline();
    const app = pipeline.app;
    const rows = 200;
    for (let i = 0; i < rows; i += 1) pipeline.sim.control.addPersona({ mobilePhone: phoneOf(i) });
    const dir = await tempDir();
    const file = join(dir, 'export.csv');
    await writeFile(file, csv(rows));

    const first = await run(app, file);
    expect(first.counts).toMatchObject({ read: rows, enqueued: rows, unchanged: 0 });
    await waitFor(async () => (await app.events.readAll()).filter((e) => e.kind === 'attributes.synced').length === rows, { timeoutMs: 30_000, message: `${rows} attributes.synced events` });
    const requests = pipeline.sim.control.stats().requests;

    const second = await run(app, file);
    expect(second.counts).toEqual({ read: rows, enqueued: 0, unchanged: rows, rejected: 0, duplicate: 0 });
    expect(pipeline.sim.control.stats().requests).toBe(requests);

    // A new export where one contact changed: only that one is sent.
    const edited = join(dir, 'export-2.csv');
    await writeFile(edited, csv(rows, (i) => (i === 17 ? 'platinum,17' : `gold,${i}`)));
    const third = await run(app, edited);
    expect(third.counts).toEqual({ read: rows, enqueued: 1, unchanged: rows - 1, rejected: 0, duplicate: 0 });
    await waitFor(async () => (await app.events.readAll()).filter((e) => e.kind === 'attributes.synced').length === rows + 1, { timeoutMs: 20_000, message: 'the edited contact synced' });
  });
});

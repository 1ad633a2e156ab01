/**
 * Item 5 is bench/backfill.ts, written by the backfill's author; this only runs it, as a child
 * process (so its figures, peak RSS included, are its own): `--rows 1000000` (quick: 100000). It
 * finds its own Redis (REDIS_URL when set, else a private redis-server) and prints one JSON
 * object: `fresh` {rowsPerSecond, peakRssMB}, `unchangedRerun` {rowsPerSecond, apiCalls, …},
 * `targets` {peakRssMB, rowsPerSecond}.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Figure, SectionResult } from './context.ts';

const SCRIPT = fileURLToPath(new URL('../backfill.ts', import.meta.url));

/** The whole output as one JSON object, else the last line that is one. */
function lastJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const whole: unknown = JSON.parse(text.trim());
    if (whole && typeof whole === 'object' && !Array.isArray(whole)) return whole as Record<string, unknown>;
  } catch {
    // not one object: look line by line
  }
  for (const line of text.split('\n').reverse()) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

/** The first numeric value among `names` (case-insensitive), looking one level deep too. */
function pick(obj: Record<string, unknown> | undefined, names: readonly string[]): number | null {
  if (!obj) return null;
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [k, v] of Object.entries(obj)) if (wanted.has(k.toLowerCase()) && typeof v === 'number' && Number.isFinite(v)) return v;
  return null;
}

function sub(obj: Record<string, unknown> | undefined, names: readonly string[]): Record<string, unknown> | undefined {
  if (!obj) return undefined;
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [k, v] of Object.entries(obj)) if (wanted.has(k.toLowerCase()) && v && typeof v === 'object') return v as Record<string, unknown>;
  return undefined;
}

function runScript(rows: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--rows', String(rows)], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  try {
    await access(SCRIPT);
  } catch {
    const note = 'bench/backfill.ts is not there yet: run.ts spawns it once it is';
    return {
      figures: [
        { id: 'backfill.rowsPerS', item: 5, label: `Backfill of a ${rows.toLocaleString('en-US')}-row CSV`, value: null, unit: 'rows/s', note },
        { id: 'backfill.rerunApiCalls', item: 5, label: 'Unchanged rerun: API calls', value: null, unit: 'calls', target: { op: '<=', value: 0 }, note },
      ],
      data: { missing: 'bench/backfill.ts' },
    };
  }
  const out = await runScript(rows);
  if (out.code !== 0) throw new Error(`bench/backfill.ts exited with ${out.code}: ${out.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const json = lastJsonObject(out.stdout);
  if (!json) throw new Error('bench/backfill.ts printed no JSON object on stdout');
  const fresh = sub(json, ['fresh']);
  const rerun = sub(json, ['unchangedRerun', 'rerun']);
  const targets = sub(json, ['targets']);
  const rowsPerS = pick(fresh, ['rowsPerSecond', 'rowsPerS']);
  const rss = pick(fresh, ['peakRssMB', 'peakRssMb']);
  const rerunRate = pick(rerun, ['rowsPerSecond', 'rowsPerS']);
  const rerunRss = pick(rerun, ['peakRssMB', 'peakRssMb']);
  const calls = pick(rerun, ['apiCalls']);
  const rowsTarget = pick(targets, ['rowsPerSecond']);
  const rssTarget = pick(targets, ['peakRssMB']);
  const n = pick(json, ['rows']) ?? rows;
  const from = 'target of bench/backfill.ts';
  const figures: Figure[] = [
    {
      id: 'backfill.rowsPerS',
      item: 5,
      label: `Backfill of a ${n.toLocaleString('en-US')}-row CSV (aiq-sync backfill, a child process)`,
      value: rowsPerS,
      unit: 'rows/s',
      ...(rowsTarget === null ? {} : { target: { op: '>=' as const, value: rowsTarget } }),
      detail: `wall time incl. start-up; steady ${pick(fresh, ['steadyRowsPerSecond']) ?? 'n/a'} rows/s; ${from}`,
    },
    {
      id: 'backfill.peakRss',
      item: 5,
      label: 'Backfill peak RSS (VmHWM of the child)',
      value: rss,
      unit: 'MB',
      ...(rssTarget === null ? {} : { target: { op: '<' as const, value: rssTarget } }),
      detail: `rerun ${rerunRss ?? 'n/a'} MB; ${from}`,
    },
    { id: 'backfill.rerunRowsPerS', item: 5, label: 'Unchanged rerun (workers live)', value: rerunRate, unit: 'rows/s', detail: `unchanged ${pick(rerun, ['unchanged']) ?? 'n/a'}, enqueued ${pick(rerun, ['enqueued']) ?? 'n/a'}` },
    { id: 'backfill.rerunApiCalls', item: 5, label: 'Unchanged rerun: AIQ API calls', value: calls, unit: 'calls', target: { op: '<=', value: 0 } },
  ];
  return { figures, data: json };
}

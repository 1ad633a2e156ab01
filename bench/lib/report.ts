import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Figure, Target } from './context.ts';
import { CHANGES, MISSED_NOTES } from './changes.ts';
import type { MachineFacts } from './machine.ts';

export interface SectionRecord {
  item: number;
  name: string;
  seconds: number;
  error?: string;
  data?: unknown;
}

export interface BenchResults {
  /** `YYYY-MM-DD` of the run (local time). */
  date: string;
  startedAt: string;
  quick: boolean;
  seconds: number;
  machine: MachineFacts;
  figures: Figure[];
  sections: SectionRecord[];
}

export function isMet(target: Target | undefined, value: number | null): boolean | null {
  if (!target || value === null || !Number.isFinite(value)) return null;
  switch (target.op) {
    case '>=':
      return value >= target.value;
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
    case '>':
      return value > target.value;
  }
}

const OP_TEXT: Record<Target['op'], string> = { '>=': '≥', '<=': '≤', '<': '<', '>': '>' };

function targetText(f: Figure): string {
  if (!f.target) return '—';
  return `${OP_TEXT[f.target.op]} ${f.target.value}${f.unit === '×' ? '×' : ` ${f.unit}`}`;
}

function valueText(f: Figure): string {
  if (f.value === null) return 'not measured';
  const v = Math.abs(f.value) >= 1000 ? f.value.toLocaleString('en-US') : String(f.value);
  return f.unit === '×' ? `${v}×` : `${v} ${f.unit}`;
}

function metText(f: Figure): string {
  if (f.met === true) return 'met';
  if (f.met === false) return '**not met**';
  return f.target ? 'not measured' : '—';
}

function figuresTable(results: BenchResults): string {
  const rows = results.figures.map(
    (f) => `| ${f.item} | ${f.label} | ${valueText(f)} | ${targetText(f)} | ${metText(f)} | ${[f.detail, f.note].filter(Boolean).join('; ')} |`,
  );
  const failed = results.sections.filter((s) => s.error).map((s) => `| ${s.item} | ${s.name} failed | — | — | — | ${s.error?.split('\n')[0] ?? ''} |`);
  return ['| # | figure | value | target | met | how / baseline |', '|---|---|---|---|---|---|', ...rows, ...failed].join('\n');
}

function machineTable(results: BenchResults): string {
  const m = results.machine;
  const sections = results.sections.map((s) => `item ${s.item}: ${Math.round(s.seconds)} s`).join(', ');
  return [
    '| | |',
    '|---|---|',
    `| CPU | ${m.cores} cores, ${m.cpuModel} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| Node | ${m.node} (${m.platform}) |`,
    `| Redis | ${m.redis} (${m.redisSource === 'private' ? 'a private redis-server started for the run, noeviction' : m.redisSource}) |`,
    `| load average at start | ${m.loadAverageAtStart} |`,
    `| run | ${results.quick ? '`npm run bench -- --quick`' : '`npm run bench`'}, ${results.startedAt}, ${Math.round(results.seconds)} s (${sections}) |`,
  ].join('\n');
}

function missedSection(full: BenchResults | undefined): string {
  const missed = (full?.figures ?? []).filter((f) => f.met === false);
  if (missed.length === 0) return '';
  const parts = missed.map((f) => `- **${f.label}**: ${valueText(f)} (target ${targetText(f)}). ${MISSED_NOTES[f.id] ?? ''}`.trim());
  return ['## Targets not met', '', ...parts].join('\n');
}

function changesSection(full: BenchResults | undefined): string {
  if (CHANGES.length === 0) return '';
  const after = (id: string) => {
    const f = full?.figures.find((x) => x.id === id);
    return f ? valueText(f) : 'n/a';
  };
  const parts = CHANGES.map((c) => {
    const rows = c.figures.map((f) => `| ${f.label} | ${f.before} | ${after(f.id)} |`);
    return [
      `### ${c.title}`,
      '',
      c.why,
      '',
      c.what,
      '',
      `Files: ${c.files.map((x) => `\`${x}\``).join(', ')}. Tests: ${c.tests}`,
      '',
      `| figure | before (${c.beforeSource}) | after (this run) |`,
      '|---|---|---|',
      ...rows,
    ].join('\n');
  });
  return ['## Fixes made for missed targets', '', ...parts].join('\n\n');
}

/** Newest results file of each kind in `dir` (`<date>.json`, `<date>-quick.json`). */
async function latest(dir: string): Promise<{ full?: BenchResults; quick?: BenchResults; fullFile?: string; quickFile?: string }> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}-\d{2}-\d{2}(-\d+)?(-quick)?\.json$/.test(f)).sort();
  const fullFile = files.filter((f) => !f.includes('-quick')).pop();
  const quickFile = files.filter((f) => f.includes('-quick')).pop();
  const read = async (f: string | undefined) => (f === undefined ? undefined : (JSON.parse(await readFile(join(dir, f), 'utf8')) as BenchResults));
  const out: { full?: BenchResults; quick?: BenchResults; fullFile?: string; quickFile?: string } = {};
  const full = await read(fullFile);
  const quick = await read(quickFile);
  if (full && fullFile) Object.assign(out, { full, fullFile });
  if (quick && quickFile) Object.assign(out, { quick, quickFile });
  return out;
}

/** Regenerates BENCHMARKS.md from the newest full and quick results in `resultsDir`. */
export async function renderMarkdown(resultsDir: string, outFile: string): Promise<void> {
  const { full, quick, fullFile, quickFile } = await latest(resultsDir);
  const lines: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/run.ts, bench/lib/report.ts) from bench/results/*.json: edit those, not this. -->',
    '',
    '`npm run bench` runs every benchmark and writes `bench/results/<date>.json`; `npm run bench -- --quick`',
    '(about a minute) writes `<date>-quick.json`. The machine is shared and noisy, so every comparison runs its',
    'baseline alternately in the same invocation and reports medians (ratios are medians of the pairs).',
    'Each benchmark uses its own key prefix and deletes its keys; Redis is a private `redis-server` unless',
    '`REDIS_URL` is set, so `INFO commandstats` counts only the benchmark.',
    '',
  ];
  if (full && fullFile) {
    lines.push(`## Full run: bench/results/${fullFile}`, '', machineTable(full), '', figuresTable(full), '');
  } else {
    lines.push('## Full run', '', 'No full run recorded yet: `npm run bench`.', '');
  }
  if (quick && quickFile && (!full || quick.startedAt > full.startedAt)) {
    lines.push(`## Quick run: bench/results/${quickFile}`, '', machineTable(quick), '', figuresTable(quick), '');
  }
  lines.push(missedSection(full), '', changesSection(full), '', METHOD, '');
  await writeFile(outFile, lines.join('\n').replace(/\n{3,}/g, '\n\n'));
}

const METHOD = `## How each figure is measured

1. **Pipeline vs raw BullMQ** (bench/pipeline.ts). 5,000 POS sales (customers by contactID, seeded
   personas) are enqueued first (outside the measured window); then a worker process (the benchmark
   child) drains them at \`WORKER_CONCURRENCY=50\` against the simulator with no limit and no faults,
   the budget at 100000/s. Baseline: a plain BullMQ Worker (concurrency 50) doing one undici PUT per
   job to the same adjust route, the same removal options. jobs/s = jobs ÷ drain time; CPU =
   \`process.cpuUsage()\` of the child over the drain; Redis commands = \`INFO commandstats\` deltas
   over the drain (commands inside Lua scripts included). Pairs alternate (ABBA…), after a warm-up
   drain of each; 4 pairs (quick: 2 pairs of 2,000 jobs).
2. **Budget fidelity** (bench/budget.ts). The simulator allows 50 requests in any sliding second.
   Each run queues more sales than fit and runs a fixed time; "used" = writes the simulator applied
   from 1 s after the first request to the end, per second, ÷ 50. Every request's send time and
   status is recorded (the app's request observer; the baseline's processor). Burst shape: the most
   requests in any 100 ms, and the share of requests in the first 200 ms of each fixed 1-s window
   (windows start at a request, as a fixed-window limiter's do; 20 % is steady). Runs of 20 s, 3 of
   each kind, rotating order (quick: one of 5 s each, too short for the 60/s case to settle).
3. **Real-time under bulk load** (bench/realtime.ts). Budget and simulator at 50/s; 2,000 attribute
   syncs saturate it, then POS sales are enqueued at 10/s for 20 s; latency = the \`points.applied\`
   event's \`at\` − the time the sale was enqueued. Baseline: the same sales with no backlog.
   3 alternating pairs (quick: one pair, 5 s of sales, 500 syncs).
4. **Ingress** (bench/ingress.ts). autocannon (32 connections, a new transaction ID per request)
   against \`POST /v1/pos/transactions\` of the product's ingress, and against a bare fastify route
   that only calls \`queue.add\` with the same body; servers in the benchmark child, autocannon in the
   parent; a warm-up run of each first; 8 s per run (quick: 2 s), 3 alternating pairs.
5. **Backfill** (bench/backfill.ts, by the backfill's author; run.ts only calls it). A 1,000,000-row CSV
   (quick: 100,000) through \`aiq-sync backfill\`'s code: rows/s and peak RSS; then the unchanged file
   again: rows/s and the API calls it caused (target 0).
`;

/**
 * `npm run bench` (`-- --quick` for the short version): runs the benchmarks in order, writes
 * bench/results/<date>[-quick].json and regenerates BENCHMARKS.md from the newest results.
 *
 * Options: --quick; --only 1,2 (items); --out NAME (results file name without .json; a name that
 * is not `<date>` or `<date>-quick` is kept but not shown in BENCHMARKS.md); --profile DIR (the
 * benchmark child, where the measured workers and servers run, writes V8 CPU profiles to DIR).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext, Figure, SectionResult } from './lib/context.ts';
import { startHost } from './lib/host.ts';
import { machineFacts } from './lib/machine.ts';
import { connect, openBenchRedis } from './lib/redis.ts';
import { isMet, renderMarkdown, type BenchResults, type SectionRecord } from './lib/report.ts';

const SECTIONS: Array<{ item: number; name: string; module: string }> = [
  { item: 1, name: 'pipeline vs raw BullMQ', module: './pipeline.ts' },
  { item: 2, name: 'budget fidelity', module: './budget.ts' },
  { item: 3, name: 'real-time under bulk load', module: './realtime.ts' },
  { item: 4, name: 'ingress', module: './ingress.ts' },
  { item: 5, name: 'backfill', module: './lib/backfill-adapter.ts' },
];

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const markdownFile = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

const write = (line: string) => process.stdout.write(`${line}\n`);

function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, profile: { type: 'string' } },
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const only = values.only === undefined ? undefined : new Set(values.only.split(',').map(Number));
  const started = new Date();
  const redis = await openBenchRedis(process.env);
  const machine = machineFacts(redis);
  write(`aiq-sync benchmarks${quick ? ' (quick)' : ''}: ${machine.cores} cores ${machine.cpuModel}, Node ${machine.node}, Redis ${machine.redis} (${redis.source}), load ${machine.loadAverageAtStart}`);
  const connection = connect(redis.url);
  const host = startHost(values.profile === undefined ? {} : { execArgv: ['--cpu-prof', '--cpu-prof-dir', values.profile] });
  const ctx: BenchContext = { quick, redisUrl: redis.url, redis: connection, host, log: write };
  const figures: Figure[] = [];
  const sections: SectionRecord[] = [];
  try {
    for (const section of SECTIONS) {
      if (only && !only.has(section.item)) continue;
      write(`${section.item}. ${section.name}`);
      const t0 = performance.now();
      try {
        const mod = (await import(section.module)) as { run(ctx: BenchContext): Promise<SectionResult> };
        const result = await mod.run(ctx);
        for (const f of result.figures) {
          const met = isMet(f.target, f.value);
          figures.push({ ...f, met });
          const mark = met === null ? '' : met ? '  [met]' : '  [NOT MET]';
          write(`   = ${f.label}: ${f.value ?? 'n/a'} ${f.unit}${f.target ? ` (target ${f.target.op} ${f.target.value})` : ''}${mark}`);
        }
        sections.push({ item: section.item, name: section.name, seconds: (performance.now() - t0) / 1000, data: result.data });
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        write(`   ! ${section.name} failed: ${message}`);
        sections.push({ item: section.item, name: section.name, seconds: (performance.now() - t0) / 1000, error: message });
      }
    }
  } finally {
    await host.close();
    await connection.quit();
    await redis.stop();
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  const results: BenchResults = { date: localDate(started), startedAt: started.toISOString(), quick, seconds, machine, figures, sections };
  await mkdir(resultsDir, { recursive: true });
  const name = values.out ?? `${results.date}${quick ? '-quick' : ''}`;
  await writeFile(`${resultsDir}${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
  await renderMarkdown(resultsDir, markdownFile);
  const missed = figures.filter((f) => f.met === false).length;
  const failed = sections.filter((s) => s.error).length;
  write(`done in ${Math.round(seconds)} s: bench/results/${name}.json, BENCHMARKS.md; ${missed} target(s) missed, ${failed} benchmark(s) failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();

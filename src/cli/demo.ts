import type { Command } from 'commander';
import type { DemoProgress, DemoResult } from '../demo/run-demo.ts';
import { formatTable } from '../demo/summary.ts';
import { RedisUnavailableError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { locateRedis, redactUrl } from '../lib/redis-locator.ts';
import { writeLine, type CliContext } from './context.ts';
import { EXIT, waitForSignal } from './runtime.ts';

function progressLine(p: DemoProgress): string {
  const queues = Object.keys(p.expected)
    .filter((q) => (p.expected[q] ?? 0) > 0)
    .map((q) => `${q} ${p.done[q] ?? 0}/${p.expected[q]}`)
    .join('  ');
  return `[${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s] ${p.phase.padEnd(22)} ${queues}  429s ${p.rateLimited}`;
}

function summaryText(r: DemoResult): string {
  const check = r.exactlyOnce;
  const [first, second] = r.backfill;
  return [
    '',
    formatTable(r.rows),
    '',
    `POS and webhooks: ${r.traffic.accepted.length} accepted, ${r.traffic.duplicates} answered as duplicates, ${r.traffic.ignored} ignored (no consent)`,
    first ? `backfill, first run:  read ${first.read}, enqueued ${first.enqueued}, unchanged ${first.unchanged}, rejected ${first.rejected}` : '',
    second ? `backfill, second run: read ${second.read}, enqueued ${second.enqueued}, unchanged ${second.unchanged}, rejected ${second.rejected}` : '',
    `429s answered by the simulator: ${r.rateLimited}`,
    `exactly-once check against the simulator's ledger: ${check.credited} credits, ${check.duplicated} duplicated, ${check.missing} missing, ${check.wrong} wrong: ${check.ok ? 'OK' : 'FAILED'}`,
    `every accepted job reached a terminal event: ${r.complete ? 'yes' : 'NO'}`,
    `finished in ${(r.elapsedMs / 1000).toFixed(1)} s`,
    '',
    `dashboard: ${r.urls.dashboard}  (user: any, password: the admin token printed with --keep)`,
    `metrics:   ${r.urls.metrics}`,
    'run with --keep to leave them up',
  ]
    .filter((l) => l !== null)
    .join('\n');
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('the whole system on one machine against the simulator, with sample traffic, progress and a summary; finds or starts Redis by itself')
    .option('--keep', 'leave everything running after the summary (Ctrl-C stops it)')
    .option('--sales <n>', 'POS sales to send (default 60)')
    .action(async (opts: { keep?: boolean; sales?: string }) => {
      const sales = opts.sales === undefined ? 60 : Number(opts.sales);
      if (!Number.isInteger(sales) || sales < 2 || sales > 5000) {
        writeLine(ctx.stderr, 'aiq-sync demo: --sales: expected a whole number from 2 to 5000');
        ctx.setExitCode(EXIT.usage);
        return;
      }
      let redis;
      try {
        redis = await locateRedis({ url: ctx.env.REDIS_URL, path: ctx.env.PATH });
      } catch (err) {
        writeLine(ctx.stderr, `aiq-sync demo: ${err instanceof RedisUnavailableError ? err.message : String(err)}`);
        ctx.setExitCode(EXIT.failed);
        return;
      }
      const level = ctx.env.LOG_LEVEL ?? 'error';
      const logger = createLogger({ level, destination: ctx.stderr });
      writeLine(ctx.stdout, `aiq-sync demo: Redis at ${redactUrl(redis.url)} (${redis.source === 'started' ? 'started for this run' : redis.source === 'url' ? 'REDIS_URL' : 'local'}); simulator, workers and ingress starting`);
      const controller = new AbortController();
      const off = ctx.onSignal(() => controller.abort());
      let lastPrinted = 0;
      const onProgress = (p: DemoProgress) => {
        if (ctx.isTTY) ctx.stdout.write(`\r${progressLine(p)}`);
        else if (p.elapsedMs - lastPrinted >= 2_000) {
          lastPrinted = p.elapsedMs;
          writeLine(ctx.stdout, progressLine(p));
        }
      };
      try {
        const { runDemo } = await import('../demo/run-demo.ts');
        const demo = await runDemo({ redisUrl: redis.url, logger, sales, onProgress, signal: controller.signal });
        if (ctx.isTTY) ctx.stdout.write('\n');
        writeLine(ctx.stdout, summaryText(demo.result));
        const ok = demo.result.complete && demo.result.exactlyOnce.ok;
        if (opts.keep && !controller.signal.aborted) {
          writeLine(ctx.stdout, `ingress ${demo.result.urls.ingress} (bearer ${demo.result.ingressToken}), admin token ${demo.result.adminToken}; running until Ctrl-C`);
          off();
          await waitForSignal(ctx, () => undefined);
        }
        await demo.close();
        ctx.setExitCode(ok ? EXIT.ok : EXIT.failed);
      } catch (err) {
        writeLine(ctx.stderr, `aiq-sync demo: ${err instanceof Error ? err.message : String(err)}`);
        ctx.setExitCode(EXIT.failed);
      } finally {
        off();
        await redis.stop();
      }
    });
}

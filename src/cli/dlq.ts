import type { Command } from 'commander';
import { JOB_QUEUES, type JobQueueName } from '../jobs/registry.ts';
import type { DeadJob, DeadLetterFilter } from '../producers/dlq.ts';
import { writeLine, type CliContext } from './context.ts';
import { EXIT, createCliLogger, loadCliConfig, reportFailure } from './runtime.ts';

interface FilterFlags {
  queue?: string;
  code?: string;
  since?: string;
  job?: string;
  limit?: string;
  json?: boolean;
  yes?: boolean;
}

/** Flags → filter, or a message naming the bad flag. */
export function parseDlqFilter(flags: FilterFlags): DeadLetterFilter | string {
  const filter: DeadLetterFilter = {};
  if (flags.queue !== undefined) {
    if (!(JOB_QUEUES as string[]).includes(flags.queue)) return `--queue: unknown queue "${flags.queue}" (known: ${JOB_QUEUES.join(', ')})`;
    filter.queue = flags.queue as JobQueueName;
  }
  if (flags.code !== undefined) {
    if (!/^AIQ_ERR_[A-Z_]+$/.test(flags.code)) return `--code: expected an error code such as AIQ_ERR_AUTH`;
    filter.code = flags.code;
  }
  if (flags.since !== undefined) {
    const ms = /^\d+$/.test(flags.since) ? Number(flags.since) : Date.parse(flags.since);
    if (!Number.isFinite(ms)) return `--since: expected an ISO-8601 date-time or epoch milliseconds`;
    filter.since = ms;
  }
  if (flags.job !== undefined) filter.jobId = flags.job;
  if (flags.limit !== undefined) {
    const n = Number(flags.limit);
    if (!Number.isInteger(n) || n < 1) return `--limit: expected a positive whole number`;
    filter.limit = n;
  }
  return filter;
}

function describe(d: DeadJob): string {
  return `${new Date(d.failedAt).toISOString()}  ${d.queue.padEnd(10)} ${d.jobId}  ${d.code}  attempts=${d.attemptsMade}  key=${d.key ?? '(invalid payload)'}`;
}

type Action = 'list' | 'replay' | 'purge';

function addFilters(cmd: Command): Command {
  return cmd
    .option('--queue <queue>', `only this queue (${JOB_QUEUES.join(', ')})`)
    .option('--code <code>', 'only this error code, e.g. AIQ_ERR_CONTACT_NOT_FOUND')
    .option('--since <time>', 'only jobs that failed at or after this time (ISO-8601 or epoch ms)')
    .option('--job <id>', 'only this job ID')
    .option('--limit <n>', 'at most n jobs (default 1000)')
    .option('--json', 'one JSON object per line');
}

export function registerDlq(program: Command, ctx: CliContext): void {
  const dlq = program.command('dlq').description('inspect and redrive dead-lettered jobs (BullMQ failed sets)');
  const run = (action: Action) => async (flags: FilterFlags) => {
    const filter = parseDlqFilter(flags);
    if (typeof filter === 'string') {
      writeLine(ctx.stderr, `aiq-sync dlq ${action}: ${filter}`);
      ctx.setExitCode(EXIT.usage);
      return;
    }
    if (action === 'purge' && !flags.yes) {
      writeLine(ctx.stderr, 'aiq-sync dlq purge: removes jobs for good; add --yes to confirm');
      ctx.setExitCode(EXIT.usage);
      return;
    }
    const config = loadCliConfig(ctx, `dlq ${action}`);
    if (!config) return;
    const [{ createApp }, { createDeadLetters }] = await Promise.all([import('../app.ts'), import('../producers/dlq.ts')]);
    const app = createApp({ config, logger: createCliLogger(ctx, config, { toStderr: true }) });
    try {
      await app.start();
      const letters = createDeadLetters({ queues: app.queues, ledger: app.ledger });
      const jobs = await letters[action](filter);
      for (const d of jobs) writeLine(ctx.stdout, flags.json ? JSON.stringify(d) : describe(d));
      const verb = action === 'list' ? 'dead-lettered' : action === 'replay' ? 'replayed' : 'purged';
      writeLine(ctx.stderr, `${jobs.length} job(s) ${verb}`);
    } catch (err) {
      reportFailure(ctx, `dlq ${action}`, err);
    } finally {
      await app.close();
    }
  };
  addFilters(dlq.command('list').description('list dead-lettered jobs, oldest first')).action(run('list'));
  addFilters(dlq.command('replay').description('run matching dead-lettered jobs again (idempotency keys make a replay safe)')).action(run('replay'));
  addFilters(dlq.command('purge').description('remove matching dead-lettered jobs for good'))
    .option('--yes', 'confirm')
    .action(run('purge'));
}

import type { Command } from 'commander';
import { JOB_QUEUES, type JobQueueName } from '../jobs/registry.ts';
import type { MetricsServer } from '../lib/metrics-server.ts';
import { writeLine, type CliContext } from './context.ts';
import { EXIT, createCliLogger, loadCliConfig, reportFailure, waitForSignal } from './runtime.ts';

const ALL_QUEUES = [...JOB_QUEUES, 'backfill'] as const;

/** `--queues points,optin` → the queues (and whether `backfill` is among them), or an error naming the unknown ones. */
export function parseQueueList(value: string | undefined): { jobs: JobQueueName[]; backfill: boolean } | string {
  if (value === undefined) return { jobs: [...JOB_QUEUES], backfill: true };
  const names = value.split(',').map((q) => q.trim()).filter((q) => q.length > 0);
  const unknown = names.filter((q) => !(ALL_QUEUES as readonly string[]).includes(q));
  if (unknown.length > 0 || names.length === 0) return `unknown queue(s) ${unknown.join(', ') || '(none given)'}; known: ${ALL_QUEUES.join(', ')}`;
  return { jobs: names.filter((q): q is JobQueueName => q !== 'backfill'), backfill: names.includes('backfill') };
}

export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run the workers of every queue (SIGTERM: finish in-flight jobs, abort at WORKER_SHUTDOWN_TIMEOUT_MS; a second signal forces)')
    .option('--queues <list>', `comma-separated queues (${ALL_QUEUES.join(',')}); default all`)
    .action(async (opts: { queues?: string }) => {
      const queues = parseQueueList(opts.queues);
      if (typeof queues === 'string') {
        writeLine(ctx.stderr, `aiq-sync worker: --queues: ${queues}`);
        ctx.setExitCode(EXIT.usage);
        return;
      }
      const config = loadCliConfig(ctx, 'worker', ['worker']);
      if (!config) return;
      const logger = createCliLogger(ctx, config);
      // Loaded here, not at start-up, so `--help` and the other commands stay light.
      const [{ createApp }, { createMetrics }, { startMetricsServer }] = await Promise.all([import('../app.ts'), import('../lib/metrics.ts'), import('../lib/metrics-server.ts')]);
      // Metrics only when they are served (WORKER_METRICS_PORT): the observers go in before the app exists.
      const metrics = config.worker.metricsPort === undefined ? undefined : createMetrics();
      const app = createApp({ config, logger, workerQueues: queues.jobs, backfillWorker: queues.backfill, ...(metrics ? { observers: metrics.observers } : {}) });
      metrics?.attach(app);
      let metricsServer: MetricsServer | undefined;
      const stop = waitForSignal(ctx, () => {
        logger.warn('second signal: aborting in-flight jobs');
        void app.close({ force: true });
      });
      try {
        await app.start();
        if (metrics && config.worker.metricsPort !== undefined) {
          // Every interface: the port is opt-in and exists to be scraped from elsewhere; no metric carries personal data.
          metricsServer = await startMetricsServer({ metrics, host: '0.0.0.0', port: config.worker.metricsPort, logger });
          logger.info({ url: `${metricsServer.url}/metrics` }, 'serving metrics');
        }
      } catch (err) {
        await app.close();
        reportFailure(ctx, 'worker', err);
        return;
      }
      logger.info({ queues, concurrency: config.worker.concurrency, accounts: Object.keys(config.aiq.accounts) }, 'workers started');
      await stop;
      logger.info('shutting down: finishing in-flight jobs');
      await app.close();
      // Scrapes keep answering while jobs drain.
      await metricsServer?.close();
      logger.info('stopped');
    });
}

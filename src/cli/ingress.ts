import type { Command } from 'commander';
import type { RunningIngress } from '../producers/ingress/index.ts';
import type { CliContext } from './context.ts';
import { createCliLogger, loadCliConfig, reportFailure, waitForSignal } from './runtime.ts';

/**
 * `aiq-sync ingress`: the HTTP ingress until SIGINT or SIGTERM. The first signal stops taking
 * requests, lets those in flight finish, then closes the app; a second one drops open
 * connections and closes at once.
 */
export function registerIngress(program: Command, ctx: CliContext): void {
  program
    .command('ingress')
    .description('run the HTTP ingress, /metrics, health and the dashboard (INGRESS_HOST, INGRESS_PORT, INGRESS_TOKENS; SIGTERM drains, a second signal forces)')
    .action(async () => {
      const [{ createApp }, { createMetrics }, { createAdminRoutes }, { startIngress }] = await Promise.all([
        import('../app.ts'),
        import('../lib/metrics.ts'),
        import('../producers/admin/index.ts'),
        import('../producers/ingress/index.ts'),
      ]);
      const config = loadCliConfig(ctx, 'ingress', ['ingress']);
      if (!config) return;
      const logger = createCliLogger(ctx, config);
      const metrics = createMetrics();
      // No worker queues: this process only enqueues.
      const app = createApp({ config, logger, observers: metrics.observers });
      metrics.attach(app);
      let ingress: RunningIngress | undefined;
      const stop = waitForSignal(ctx, () => {
        logger.warn('second signal: dropping open connections');
        void ingress?.close({ force: true });
        void app.close({ force: true });
      });
      try {
        await app.start();
        // /metrics, and with ADMIN_TOKEN the dashboard and the dead-letter routes.
        const registerExtra = createAdminRoutes({ config, queues: app.queues, ledger: app.ledger, redis: app.redis, metrics });
        ingress = await startIngress({ producer: app.producer, redis: app.redis, config, logger, registerExtra });
      } catch (err) {
        await app.close();
        reportFailure(ctx, 'ingress', err);
        return;
      }
      logger.info({ url: ingress.url }, `aiq-sync ingress listening on ${ingress.url}`);
      await stop;
      logger.info('shutting down: no new requests, finishing those in flight');
      await ingress.close();
      await app.close();
      logger.info('stopped');
    });
}

import { createApp, type App, type AppObservers } from '../../src/app.ts';
import type { JobQueueName } from '../../src/jobs/registry.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { AttributeUpdate, PosTransaction } from '../../src/producers/schemas.ts';

/** An app on `env` with workers for `queues` (none: a producer), silent, started. */
export async function startApp(env: Record<string, string>, queues: readonly JobQueueName[] = [], observers?: AppObservers): Promise<App> {
  const config = loadConfig(env, { roles: queues.length > 0 ? ['worker'] : [] });
  const app = createApp({ config, logger: createLogger({ level: 'silent' }), workerQueues: queues, ...(observers ? { observers } : {}) });
  await app.start();
  return app;
}

/** Enqueues through the product's producer (ledger and all), in batches of 500, with no worker running. */
export async function enqueue(env: Record<string, string>, work: { sales?: PosTransaction[]; attributes?: AttributeUpdate[] }): Promise<void> {
  const app = await startApp(env);
  try {
    const { sales = [], attributes = [] } = work;
    for (let i = 0; i < sales.length; i += 500) await app.producer.enqueuePos(sales.slice(i, i + 500));
    for (let i = 0; i < attributes.length; i += 500) await app.producer.enqueueAttributesMany(attributes.slice(i, i + 500));
  } finally {
    await app.close();
  }
}

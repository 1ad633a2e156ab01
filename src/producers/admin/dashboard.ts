import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

/** Where the dashboard is served (design.md, "HTTP ingress"). */
export const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  /** Every queue to show. */
  queues: readonly Queue[];
  /** `ADMIN_READ_WRITE`: false hides retry, promote, clean and remove (Bull Board's `readOnlyMode`). */
  readWrite: boolean;
}

/**
 * Bull Board at /admin/queues. Registered in the caller's scope, so the caller's `onRequest`
 * hooks (the admin token check) run before every page, asset and API call of the board.
 */
export async function registerDashboard(scope: FastifyInstance, options: DashboardOptions): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !options.readWrite, allowRetries: options.readWrite })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'aiq-sync' } },
  });
  await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
}

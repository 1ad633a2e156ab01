import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../lib/config.ts';
import { RedisUnavailableError } from '../../lib/errors.ts';
import type { Ledger } from '../../lib/ledger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Queues } from '../../lib/queues.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { createDeadLetters } from '../dlq.ts';
import { createAdminAuth } from './auth.ts';
import { registerDashboard } from './dashboard.ts';
import { registerDlqRoutes } from './dlq-routes.ts';

export { ADMIN_REALM, createAdminAuth, presentedCredential } from './auth.ts';
export { DASHBOARD_PATH } from './dashboard.ts';
export { DLQ_LIMIT_MAX, DLQ_LIST_DEFAULT, dlqListQuerySchema, dlqReplayBodySchema } from './dlq-routes.ts';

export interface AdminRoutesOptions {
  /** Uses `config.ingress.adminToken` and `adminReadWrite`. */
  config: Readonly<Config>;
  /** Every queue: the dashboard shows them, the dead-letter routes read them. */
  queues: Queues;
  /** Reopens the idempotency keys of replayed jobs. */
  ledger: Ledger;
  /** The fail-fast connection: while it is down the admin routes answer 503 at once. */
  redis: RedisClient;
  /** Serves `GET /metrics` and counts the ingress's requests; no /metrics when omitted. */
  metrics?: Pick<Metrics, 'contentType' | 'metrics' | 'observeHttp'>;
}

/**
 * The ingress's operational routes, for `createIngress({registerExtra})`:
 * - `GET /metrics` (Prometheus text; open, like /healthz: no label carries personal data);
 * - with ADMIN_TOKEN only (404 without it): Bull Board at /admin/queues, `GET /v1/admin/dlq` and
 *   `POST /v1/admin/dlq/replay`, each behind the token presented as `Authorization: Bearer <token>`
 *   or as the password of HTTP Basic auth (any user name), which a browser asks for.
 */
export function createAdminRoutes(options: AdminRoutesOptions): (app: FastifyInstance) => Promise<void> {
  const { config, queues, ledger, redis, metrics } = options;
  return async (app) => {
    if (metrics) {
      app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
        metrics.observeHttp({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: reply.statusCode, durationMs: reply.elapsedTime });
      });
      app.get('/metrics', async (_request, reply) => reply.code(200).header('content-type', metrics.contentType).send(await metrics.metrics()));
    }
    const token = config.ingress.adminToken;
    if (token === undefined) return;

    const deadLetters = createDeadLetters({ queues, ledger });
    await app.register(async (scope) => {
      scope.addHook('onRequest', createAdminAuth(token));
      registerDlqRoutes(scope, deadLetters, () => {
        if (redis.status !== 'ready') throw new RedisUnavailableError(`Redis connection is ${redis.status}`);
      });
      await registerDashboard(scope, { queues: Object.values(queues) as Queue[], readWrite: config.ingress.adminReadWrite });
    });
  };
}

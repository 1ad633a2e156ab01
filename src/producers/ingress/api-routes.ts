import { z } from 'zod';
import type { PayloadIssue } from '../../lib/errors.ts';
import { attributeUpdateSchema, parsePosBody, parseWith, POS_BATCH_MAX } from '../schemas.ts';
import { createBearerAuth } from './auth.ts';
import { assertRedisReady, type IngressApp, type IngressDeps } from './deps.ts';
import { sendInvalid } from './errors.ts';

const batchShape = z.strictObject({
  transactions: z
    .array(z.unknown(), { error: 'expected an array of transactions' })
    .min(1, 'at least 1 transaction')
    .max(POS_BATCH_MAX, `at most ${POS_BATCH_MAX} transactions`),
});

/**
 * A body with a `transactions` key is a batch: its shape is checked first so that a batch of
 * 501 is refused naming `transactions`, not with the generic "a transaction or a batch".
 */
function batchShapeIssues(body: unknown): PayloadIssue[] | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Object.hasOwn(body, 'transactions')) return undefined;
  const r = parseWith(batchShape, body);
  return r.ok ? undefined : r.issues;
}

/**
 * The bearer-authenticated API (INGRESS_TOKENS): POS transactions and attribute updates.
 * Registered in its own scope so the token check runs, before the body is read, on these
 * routes only.
 */
export function registerApiRoutes(scope: IngressApp, deps: IngressDeps): void {
  const { producer, redis } = deps;
  scope.addHook('onRequest', createBearerAuth(deps.config.ingress.tokens));

  // One transaction or {transactions: [...]}; every transaction is valid or none is enqueued.
  scope.post('/v1/pos/transactions', async (request, reply) => {
    const shapeIssues = batchShapeIssues(request.body);
    if (shapeIssues) return sendInvalid(reply, shapeIssues);
    const parsed = parsePosBody(request.body);
    if (!parsed.ok) return sendInvalid(reply, parsed.issues);
    assertRedisReady(redis);
    const results = await producer.enqueuePos(parsed.value);
    return reply.code(202).send({ results });
  });

  scope.post('/v1/contacts/attributes', async (request, reply) => {
    const parsed = parseWith(attributeUpdateSchema, request.body ?? null);
    if (!parsed.ok) return sendInvalid(reply, parsed.issues);
    assertRedisReady(redis);
    const { idempotencyKey, jobId, status } = await producer.enqueueAttributes(parsed.value);
    return reply.code(202).send({ idempotencyKey, jobId, status });
  });
}

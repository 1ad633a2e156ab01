import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { JOB_QUEUES } from '../../jobs/registry.ts';
import type { PayloadIssue } from '../../lib/errors.ts';
import type { DeadLetterFilter, DeadLetters } from '../dlq.ts';
import { parseWith } from '../schemas.ts';

/** Most jobs one call lists or replays. */
export const DLQ_LIMIT_MAX = 1000;
/** Jobs listed when `limit` is not given. */
export const DLQ_LIST_DEFAULT = 100;

const SINCE_MESSAGE = 'expected an ISO-8601 date-time or epoch milliseconds';
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function toEpochMs(value: number | string, ctx: z.RefinementCtx): number {
  const ms = typeof value === 'number' ? value : /^\d{1,15}$/.test(value) ? Number(value) : ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    ctx.addIssue({ code: 'custom', message: SINCE_MESSAGE });
    return z.NEVER;
  }
  return ms;
}
/** Epoch ms, from a number, a string of digits or an ISO-8601 date-time with its offset. */
const since = z.union([z.number(), z.string()], { error: SINCE_MESSAGE }).transform(toEpochMs);
const sinceText = z.string({ error: SINCE_MESSAGE }).transform(toEpochMs);
const queue = z.enum(JOB_QUEUES, { error: `expected one of ${JOB_QUEUES.join(', ')}` });
const code = z.string().regex(/^AIQ_ERR_[A-Z_]{1,40}$/, 'expected an error code such as AIQ_ERR_AUTH');
const jobId = z
  .string()
  .min(1, 'expected a job ID')
  .max(128, 'at most 128 characters')
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const limitNumber = z.number().int('expected a whole number').min(1, 'at least 1').max(DLQ_LIMIT_MAX, `at most ${DLQ_LIMIT_MAX}`);

/** `GET /v1/admin/dlq` query: every value a string, unknown parameters refused. */
export const dlqListQuerySchema = z.strictObject({
  queue: queue.optional(),
  code: code.optional(),
  since: sinceText.optional(),
  limit: z.string().regex(/^\d{1,6}$/, 'expected a whole number').transform(Number).pipe(limitNumber).optional(),
});

/** `POST /v1/admin/dlq/replay` body: a JSON object; `{}` replays every dead job. */
export const dlqReplayBodySchema = z.strictObject(
  {
    queue: queue.optional(),
    code: code.optional(),
    since: since.optional(),
    jobId: jobId.optional(),
    limit: limitNumber.optional(),
  },
  { error: 'expected a JSON object such as {"queue": "points", "code": "AIQ_ERR_AUTH"}' },
);

type Parsed = z.infer<typeof dlqListQuerySchema> & { jobId?: string | undefined };

/** Drops undefined values (exactOptionalPropertyTypes). */
function toFilter(parsed: Parsed, defaultLimit: number): DeadLetterFilter {
  const filter: DeadLetterFilter = { limit: parsed.limit ?? defaultLimit };
  if (parsed.queue !== undefined) filter.queue = parsed.queue;
  if (parsed.code !== undefined) filter.code = parsed.code;
  if (parsed.since !== undefined) filter.since = parsed.since;
  if (parsed.jobId !== undefined) filter.jobId = parsed.jobId;
  return filter;
}

function sendInvalid(reply: FastifyReply, issues: readonly PayloadIssue[]): FastifyReply {
  return reply.code(400).send({ error: 'invalid_request', issues: [...issues] });
}

/**
 * The dead-letter routes of the contract. Listing returns the jobs with their payloads (the
 * caller holds ADMIN_TOKEN); a replay reopens each job's idempotency key, so an effect that may
 * have reached AIQ is reconciled first and never applied twice. `assertReady` throws (a 503) while
 * Redis is unreachable.
 */
export function registerDlqRoutes(scope: FastifyInstance, deadLetters: DeadLetters, assertReady: () => void): void {
  scope.get('/v1/admin/dlq', async (request, reply) => {
    const parsed = parseWith(dlqListQuerySchema, request.query ?? {});
    if (!parsed.ok) return sendInvalid(reply, parsed.issues);
    assertReady();
    const jobs = await deadLetters.list(toFilter(parsed.value, DLQ_LIST_DEFAULT));
    return reply.code(200).send({ jobs });
  });

  scope.post('/v1/admin/dlq/replay', async (request, reply) => {
    const parsed = parseWith(dlqReplayBodySchema, request.body);
    if (!parsed.ok) return sendInvalid(reply, parsed.issues);
    assertReady();
    const jobs = await deadLetters.replay(toFilter(parsed.value, DLQ_LIMIT_MAX));
    request.log.info({ replayed: jobs.length, queue: parsed.value.queue ?? null, code: parsed.value.code ?? null }, 'dead-lettered jobs replayed');
    return reply.code(200).send({ replayed: jobs.length, jobs });
  });
}

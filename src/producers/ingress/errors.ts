import type { FastifyReply, FastifyRequest } from 'fastify';
import { PayloadInvalidError, RedisUnavailableError, type PayloadIssue } from '../../lib/errors.ts';

/** The contract's error bodies; nothing else is ever sent on an error path. */
export type ErrorBody =
  | { error: 'invalid_request'; issues: PayloadIssue[] }
  | { error: 'unauthorized' }
  | { error: 'not_found' }
  | { error: 'payload_too_large' }
  | { error: 'unsupported_media_type' }
  | { error: 'unavailable' }
  | { error: 'internal' };

/** A request body may be at most 1 MiB (design.md, "HTTP ingress"). */
export const BODY_LIMIT_BYTES = 1_048_576;

export function sendInvalid(reply: FastifyReply, issues: readonly PayloadIssue[]): FastifyReply {
  return reply.code(400).send({ error: 'invalid_request', issues: [...issues] } satisfies ErrorBody);
}

export function sendUnauthorized(reply: FastifyReply, challenge?: string): FastifyReply {
  if (challenge !== undefined) reply.header('www-authenticate', challenge);
  return reply.code(401).send({ error: 'unauthorized' } satisfies ErrorBody);
}

export function sendUnavailable(reply: FastifyReply): FastifyReply {
  return reply.code(503).header('retry-after', '5').send({ error: 'unavailable' } satisfies ErrorBody);
}

export function sendUnsupportedMediaType(reply: FastifyReply): FastifyReply {
  return reply.code(415).send({ error: 'unsupported_media_type' } satisfies ErrorBody);
}

export function sendTooLarge(reply: FastifyReply): FastifyReply {
  // The body is not read: closing the connection spares reading (and discarding) it.
  return reply.code(413).header('connection', 'close').send({ error: 'payload_too_large' } satisfies ErrorBody);
}

interface ErrorLike {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

function fastifyCode(err: unknown): string | undefined {
  const code = (err as ErrorLike | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Fastify's own client errors (body parsing, bad URLs) as the contract's bodies. */
function clientErrorBody(err: unknown): { status: number; body: ErrorBody } | undefined {
  switch (fastifyCode(err)) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_TYPE':
      return { status: 415, body: { error: 'unsupported_media_type' } };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: 'payload_too_large' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: 'invalid_request', issues: [{ path: '', message: 'malformed JSON: the body is empty' }] } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { error: 'invalid_request', issues: [{ path: '', message: 'malformed JSON' }] } };
    default:
      break;
  }
  const status = (err as ErrorLike | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return { status, body: { error: 'payload_too_large' } };
    if (status === 415) return { status, body: { error: 'unsupported_media_type' } };
    if (status === 404) return { status, body: { error: 'not_found' } };
    const message = (err as ErrorLike).message;
    return { status: 400, body: { error: 'invalid_request', issues: [{ path: '', message: typeof message === 'string' ? message : 'bad request' }] } };
  }
  return undefined;
}

/**
 * The error handler of the whole ingress. Known errors map to the contract's answers; anything
 * else is a 500 logged with its error (and never its request body).
 */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof RedisUnavailableError) {
    request.log.warn({ err, route: request.routeOptions.url }, 'redis unavailable: request refused with 503');
    return sendUnavailable(reply);
  }
  if (err instanceof PayloadInvalidError) return sendInvalid(reply, err.issues);
  const known = clientErrorBody(err);
  if (known) {
    if (known.status === 413) reply.header('connection', 'close');
    return reply.code(known.status).send(known.body);
  }
  request.log.error({ err, route: request.routeOptions.url }, 'unexpected error in the ingress');
  return reply.code(500).send({ error: 'internal' } satisfies ErrorBody);
}

export function handleNotFound(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ error: 'not_found' } satisfies ErrorBody);
}

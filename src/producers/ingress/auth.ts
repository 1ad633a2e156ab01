import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendUnauthorized } from './errors.ts';

/** SHA-256 of a secret or a presented value: equal-length digests, so length never leaks. */
export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality of two strings (their digests are compared). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** True when `presented` equals one of `digests`; every candidate is compared, found or not. */
function matchesAny(presented: string, digests: readonly Buffer[]): boolean {
  const d = digest(presented);
  let found = false;
  for (const candidate of digests) found = timingSafeEqual(d, candidate) || found;
  return found;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  return m?.[1];
}

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * An `onRequest` hook that answers 401 unless the request carries one of `tokens` as a bearer
 * token. It runs before the body is read, so an unauthenticated client never costs a parse.
 * With no tokens at all, every request is refused.
 */
export function createBearerAuth(tokens: readonly string[]): AuthHook {
  const digests = tokens.filter((t) => t.length > 0).map(digest);
  return async (request, reply) => {
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined && digests.length > 0 && matchesAny(token, digests)) return undefined;
    request.log.info({ route: request.routeOptions.url, reason: token === undefined ? 'missing bearer token' : 'unknown bearer token' }, 'unauthorized request');
    // Returning the reply tells fastify the hook answered: the route handler does not run.
    return sendUnauthorized(reply, 'Bearer');
  };
}

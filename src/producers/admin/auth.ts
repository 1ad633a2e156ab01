import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The realm a browser shows in its log-in prompt. */
export const ADMIN_REALM = 'aiq-sync admin';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * The credential an `Authorization` header presents: the token of `Bearer <token>`, or the
 * password of `Basic base64(user:password)` (any user name), so both API clients and a browser's
 * log-in prompt can use ADMIN_TOKEN.
 */
export function presentedCredential(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(header);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

export type AdminAuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * An `onRequest` hook that answers 401 (with a Basic challenge, so a browser asks for the token)
 * unless the request presents `token`. The comparison is constant-time: digests of equal length
 * are compared, so neither the content nor the length of the token leaks.
 */
export function createAdminAuth(token: string): AdminAuthHook {
  const expected = sha256(token);
  return async (request, reply) => {
    const presented = presentedCredential(request.headers.authorization);
    if (presented !== undefined && timingSafeEqual(sha256(presented), expected)) return undefined;
    request.log.info({ route: request.routeOptions.url ?? null, reason: presented === undefined ? 'missing credentials' : 'wrong admin token' }, 'unauthorized admin request');
    return reply
      .code(401)
      .header('www-authenticate', `Basic realm="${ADMIN_REALM}", charset="UTF-8"`)
      .send({ error: 'unauthorized' });
  };
}

import type { RedisClient } from '../../lib/redis.ts';
import type { IngressApp, IngressDeps } from './deps.ts';
import { sendUnavailable } from './errors.ts';

/** True when Redis answers PING within `timeoutMs`. Never throws. */
async function answersPing(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const pong = await Promise.race([
      redis.ping().then((r) => r === 'PONG'),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    return pong;
  } catch {
    return false;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** `GET /healthz`: the process answers. `GET /readyz`: it can enqueue (Redis answers PING). */
export function registerHealthRoutes(scope: IngressApp, deps: IngressDeps): void {
  scope.get('/healthz', async (_request, reply) => reply.code(200).send({ status: 'ok' }));
  scope.get('/readyz', async (_request, reply) => {
    if (await answersPing(deps.redis, deps.readyTimeoutMs)) return reply.code(200).send({ status: 'ready' });
    return sendUnavailable(reply);
  });
}

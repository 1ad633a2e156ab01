import type { FastifyInstance } from 'fastify';
import type { Config } from '../../lib/config.ts';
import { RedisUnavailableError } from '../../lib/errors.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Producer } from '../producer.ts';

/** The fastify instance of the ingress, and of each of its scopes. */
export type IngressApp = FastifyInstance;

/** What the routes need; built once by createIngress. */
export interface IngressDeps {
  producer: Producer;
  /** The producer-role connection (fails fast). */
  redis: RedisClient;
  config: Readonly<Config>;
  /** How long /readyz waits for PONG, ms. */
  readyTimeoutMs: number;
}

/**
 * Throws RedisUnavailableError unless the producer connection is up, so a request is answered
 * 503 at once instead of waiting on a command that cannot be sent.
 */
export function assertRedisReady(redis: RedisClient): void {
  if (redis.status !== 'ready') throw new RedisUnavailableError(`Redis connection is ${redis.status}: nothing was enqueued`);
}

import { Queue } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from './events.ts';
import type { Logger } from './logger.ts';
import type { RedisClient } from './redis.ts';

export type Queues = Record<QueueName, Queue>;

export interface CreateQueuesOptions {
  /** A producer-role connection (fails fast), owned by the caller. */
  connection: RedisClient;
  prefix: string;
  logger: Logger;
}

/** One BullMQ Queue per queue of the contract, all under the deployment prefix. */
export function createQueues(options: CreateQueuesOptions): { queues: Queues; close(): Promise<void> } {
  const entries = QUEUE_NAMES.map((name) => {
    const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
    queue.on('error', (err) => options.logger.warn({ err, queue: name }, 'queue connection error'));
    return [name, queue] as const;
  });
  const queues = Object.fromEntries(entries) as Queues;
  return {
    queues,
    close: async () => {
      await Promise.allSettled(entries.map(([, q]) => q.close()));
    },
  };
}

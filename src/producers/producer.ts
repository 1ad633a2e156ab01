import type { JobsOptions } from 'bullmq';
import { JOBS, type JobQueueName } from '../jobs/registry.ts';
import { PayloadInvalidError, RedisUnavailableError } from '../lib/errors.ts';
import { attributesKey, contactKey, jobIdFor, optInKey, posKey, type IdempotencyKey } from '../lib/idempotency.ts';
import type { Ledger } from '../lib/ledger.ts';
import type { ConfirmWrites } from '../lib/replicas.ts';
import type { Queues } from '../lib/queues.ts';
import {
  attributeUpdateSchema,
  isOutputOf,
  newContactSchema,
  optInSchema,
  parseWith,
  posTransactionSchema,
  type AttributeUpdate,
  type NewContactRequest,
  type OptInRequest,
  type PosTransaction,
} from './schemas.ts';

export interface EnqueueResult {
  idempotencyKey: IdempotencyKey;
  jobId: string;
  status: 'queued' | 'duplicate';
}

export interface Producer {
  /** Parsed transactions, all or none (the caller has validated the whole batch). */
  enqueuePos(transactions: readonly PosTransaction[]): Promise<Array<EnqueueResult & { transactionId: string }>>;
  enqueueOptIn(optIn: OptInRequest): Promise<EnqueueResult>;
  enqueueAttributes(update: AttributeUpdate): Promise<EnqueueResult>;
  /** Many attribute updates in one round trip (backfill). */
  enqueueAttributesMany(updates: readonly AttributeUpdate[]): Promise<EnqueueResult[]>;
  enqueueContact(contact: NewContactRequest): Promise<EnqueueResult>;
}

export interface CreateProducerOptions {
  queues: Queues;
  ledger: Ledger;
  /** Extra BullMQ options per queue (tests shorten backoffs). */
  jobOptions?: Partial<Record<JobQueueName, JobsOptions>>;
  /**
   * Confirms on the replicas what was written before it is acknowledged (REDIS_WAIT_REPLICAS);
   * it must wait on the connection of the queues and the ledger.
   */
  confirmWrites?: ConfirmWrites;
}

interface Item {
  queue: JobQueueName;
  key: IdempotencyKey;
  data: unknown;
}

/**
 * Re-validates with the job's own schema: a producer never enqueues what a worker would refuse.
 * What that schema has just parsed (the ingress's and the CLI's output) is not parsed again.
 */
function assertValid(schema: Parameters<typeof parseWith>[0], data: unknown): void {
  if (isOutputOf(schema, data)) return;
  const r = parseWith(schema, data);
  if (!r.ok) throw new PayloadInvalidError(r.issues);
}

/** What ioredis says when it has no usable connection (or gave up on a slot it cannot reach). */
const CONNECTION_LOST = /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|enableOfflineQueue|max retries per request|Failed to refresh slots cache|Too many Cluster redirections|None of startup nodes is available/i;
/**
 * Redis's own error codes for "not now" (they open the message): a Cluster or a replicated
 * Redis during a failover, READONLY from a demoted primary, LOADING while one reads its AOF.
 */
const NOT_NOW = /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|LOADING)\b/;

/** Errors that mean Redis cannot take the write now but will again. */
function isConnectionError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return CONNECTION_LOST.test(message) || NOT_NOW.test(message);
}

/**
 * Enqueues jobs under deterministic IDs derived from their idempotency keys.
 *
 * A key is `queued` the first time the ledger sees it and `duplicate` afterwards, for as long
 * as the ledger remembers it (30 days by default), long after BullMQ removed the job. A key the
 * ledger knows but whose job is gone before any worker touched it (the process died between
 * the two writes) is enqueued again, so an accepted request is never lost.
 */
export function createProducer(options: CreateProducerOptions): Producer {
  const { queues, ledger } = options;

  async function enqueue(items: readonly Item[]): Promise<EnqueueResult[]> {
    try {
      const fresh = await ledger.acceptMany(items.map((i) => i.key));
      const results: EnqueueResult[] = [];
      const toAdd: Array<Item & { jobId: string }> = [];
      const inThisCall = new Set<string>();
      for (const [index, item] of items.entries()) {
        const jobId = jobIdFor(item.queue, item.key);
        let status: EnqueueResult['status'] = 'duplicate';
        if (inThisCall.has(item.key)) {
          // The same key twice in one call: the first one counts.
        } else if (fresh[index]) {
          toAdd.push({ ...item, jobId });
          status = 'queued';
        } else {
          const entry = await ledger.get(item.key);
          const touched = entry?.state !== undefined || entry?.terminal !== undefined;
          if (!touched && !(await queues[item.queue].getJob(jobId))) {
            toAdd.push({ ...item, jobId });
            status = 'queued';
          }
        }
        inThisCall.add(item.key);
        results.push({ idempotencyKey: item.key, jobId, status });
      }
      const byQueue = new Map<JobQueueName, typeof toAdd>();
      for (const item of toAdd) {
        const list = byQueue.get(item.queue);
        if (list) list.push(item);
        else byQueue.set(item.queue, [item]);
      }
      for (const [queue, list] of byQueue) {
        const opts: JobsOptions = { ...JOBS[queue].options, ...options.jobOptions?.[queue] };
        const [only] = list;
        if (list.length === 1 && only) {
          // One job (most HTTP requests): `add` is one script call; `addBulk` wraps it in MULTI/EXEC.
          await queues[queue].add(queue, only.data, { ...opts, jobId: only.jobId });
        } else {
          await queues[queue].addBulk(list.map((i) => ({ name: queue, data: i.data, opts: { ...opts, jobId: i.jobId } })));
        }
      }
      // Also when everything was a duplicate: the first delivery may have been answered 503
      // because its writes were not confirmed, and they may still not be.
      if (options.confirmWrites && !(await options.confirmWrites())) {
        throw new RedisUnavailableError('the Redis replicas did not confirm the request in time (REDIS_WAIT_REPLICAS): not acknowledged, retry it');
      }
      return results;
    } catch (err) {
      if (isConnectionError(err)) throw new RedisUnavailableError('Redis is unreachable: nothing was enqueued', { cause: err });
      throw err;
    }
  }

  return {
    async enqueuePos(transactions) {
      for (const t of transactions) assertValid(posTransactionSchema, t);
      const results = await enqueue(transactions.map((t) => ({ queue: 'points', key: posKey(t), data: t })));
      return results.map((r, i) => ({ transactionId: transactions[i]!.transactionId, ...r }));
    },
    async enqueueOptIn(o) {
      assertValid(optInSchema, o);
      const [r] = await enqueue([{ queue: 'optin', key: optInKey(o), data: o }]);
      return r!;
    },
    async enqueueAttributes(u) {
      assertValid(attributeUpdateSchema, u);
      const [r] = await enqueue([{ queue: 'attributes', key: attributesKey(u), data: u }]);
      return r!;
    },
    async enqueueAttributesMany(list) {
      for (const u of list) assertValid(attributeUpdateSchema, u);
      return enqueue(list.map((u) => ({ queue: 'attributes', key: attributesKey(u), data: u })));
    },
    async enqueueContact(c) {
      assertValid(newContactSchema, c);
      const [r] = await enqueue([{ queue: 'contacts', key: contactKey(c), data: c }]);
      return r!;
    },
  };
}

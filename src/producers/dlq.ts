import type { Job } from 'bullmq';
import { JOBS, JOB_QUEUES, type JobQueueName } from '../jobs/registry.ts';
import type { Ledger } from '../lib/ledger.ts';
import type { Queues } from '../lib/queues.ts';

/** A job that used up its attempts (or could never succeed): BullMQ's failed set is the dead-letter set. */
export interface DeadJob {
  queue: JobQueueName;
  jobId: string;
  /** Idempotency key; null when the payload itself was invalid. */
  key: string | null;
  /** Stable error code, e.g. AIQ_ERR_AUTH. */
  code: string;
  reason: string;
  /** Epoch ms. */
  failedAt: number;
  attemptsMade: number;
  data: unknown;
}

export interface DeadLetterFilter {
  queue?: JobQueueName | undefined;
  code?: string | undefined;
  /** Only jobs that failed at or after this time (epoch ms). */
  since?: number | undefined;
  /** Only this job. */
  jobId?: string | undefined;
  /** At most this many; default 1000. */
  limit?: number | undefined;
}

export interface DeadLetters {
  list(filter?: DeadLetterFilter): Promise<DeadJob[]>;
  /**
   * Runs the matching jobs again. Their idempotency keys are reopened so the ledger allows one
   * more run, and an earlier attempt that may have reached AIQ is reconciled first: a replay
   * never applies an effect twice.
   */
  replay(filter?: DeadLetterFilter): Promise<DeadJob[]>;
  /** Removes the matching jobs for good. */
  purge(filter?: DeadLetterFilter): Promise<DeadJob[]>;
}

/** `AIQ_ERR_AUTH: message` → `AIQ_ERR_AUTH`; BullMQ's own reasons (stalled) → AIQ_ERR_STALLED or AIQ_ERR_INTERNAL. */
export function codeOfReason(reason: string): string {
  const m = /^(AIQ_ERR_[A-Z_]+):/.exec(reason);
  if (m) return m[1]!;
  return /stalled/i.test(reason) ? 'AIQ_ERR_STALLED' : 'AIQ_ERR_INTERNAL';
}

function toDeadJob(queue: JobQueueName, job: Job): DeadJob {
  const parsed = JOBS[queue].parse(job.data);
  const reason = job.failedReason ?? '';
  return {
    queue,
    jobId: job.id ?? '',
    key: parsed.ok ? parsed.key : null,
    code: codeOfReason(reason),
    reason,
    failedAt: job.finishedOn ?? job.processedOn ?? job.timestamp,
    attemptsMade: job.attemptsMade,
    data: job.data,
  };
}

export function createDeadLetters(options: { queues: Queues; ledger: Ledger }): DeadLetters {
  const { queues, ledger } = options;

  async function find(filter: DeadLetterFilter = {}): Promise<Array<{ dead: DeadJob; job: Job }>> {
    const limit = filter.limit ?? 1000;
    const out: Array<{ dead: DeadJob; job: Job }> = [];
    for (const queue of filter.queue ? [filter.queue] : JOB_QUEUES) {
      const jobs = filter.jobId ? [await queues[queue].getJob(filter.jobId)] : await queues[queue].getFailed(0, -1);
      for (const job of jobs) {
        if (!job || (filter.jobId && (await job.getState()) !== 'failed')) continue;
        const dead = toDeadJob(queue, job);
        if (filter.code && dead.code !== filter.code) continue;
        if (filter.since !== undefined && dead.failedAt < filter.since) continue;
        out.push({ dead, job });
      }
    }
    out.sort((a, b) => a.dead.failedAt - b.dead.failedAt);
    return out.slice(0, limit);
  }

  return {
    list: async (filter) => (await find(filter)).map((f) => f.dead),
    async replay(filter) {
      const found = await find(filter);
      for (const { dead, job } of found) {
        if (dead.key !== null) await ledger.reopen(dead.key);
        await job.retry('failed');
      }
      return found.map((f) => f.dead);
    },
    async purge(filter) {
      const found = await find(filter);
      for (const { job } of found) await job.remove();
      return found.map((f) => f.dead);
    },
  };
}

import { DelayedError, UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../lib/config.ts';
import { AiqSyncError, errorCodeOf } from '../lib/errors.ts';
import type { EventInput } from '../lib/events.ts';
import type { Keys } from '../lib/keys.ts';
import type { Ledger } from '../lib/ledger.ts';
import type { Logger } from '../lib/logger.ts';
import type { RedisClient } from '../lib/redis.ts';
import { formatSummary, parseColumnMap, runBackfill, type BackfillCounts } from './backfill.ts';
import { BACKFILL_FORMATS } from './backfill-source.ts';
import type { Producer } from './producer.ts';
import { accountName } from './schemas.ts';

/** The one scheduler of the nightly backfill; upserting it again replaces it. */
export const BACKFILL_SCHEDULER_ID = 'nightly-backfill';

/** The `backfill` queue's job: a file to stream, with the settings of `aiq-sync backfill`. */
export const backfillJobSchema = z.strictObject({
  source: z.string().min(1),
  format: z.enum(BACKFILL_FORMATS).optional(),
  map: z
    .string()
    .superRefine((spec, ctx) => {
      try {
        parseColumnMap(spec);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `map: ${(err as Error).message}` });
      }
    })
    .optional(),
  versionColumn: z.string().min(1).optional(),
  account: accountName.optional(),
});
export type BackfillJob = z.infer<typeof backfillJobSchema>;

/**
 * A missing export is retried (it may land late): after 1, 2 and 4 minutes. A resumed attempt
 * continues from the file's checkpoint.
 */
export const BACKFILL_JOB_OPTIONS: JobsOptions = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 60_000 },
  removeOnComplete: { age: 30 * 86_400, count: 100 },
  removeOnFail: { age: 30 * 86_400 },
};

/**
 * Upserts the nightly scheduler from `BACKFILL_CRON`, `BACKFILL_TZ` and `BACKFILL_SOURCE`.
 * Idempotent and safe on every start of every process: there is one scheduler per queue and
 * one job per slot, however many processes upsert it. Returns false (and changes nothing)
 * when no schedule is configured.
 */
export async function registerBackfillScheduler(queue: Queue, backfill: Readonly<Config['backfill']>): Promise<boolean> {
  if (backfill.cron === undefined || backfill.source === undefined) return false;
  const data: BackfillJob = { source: backfill.source };
  if (backfill.map !== undefined) data.map = backfill.map;
  if (backfill.versionColumn !== undefined) data.versionColumn = backfill.versionColumn;
  await queue.upsertJobScheduler(BACKFILL_SCHEDULER_ID, { pattern: backfill.cron, tz: backfill.tz }, { name: 'backfill', data, opts: BACKFILL_JOB_OPTIONS });
  return true;
}

export interface BackfillProcessorDeps {
  producer: Producer;
  /** Producer-role connection (change detection, checkpoints). */
  redis: RedisClient;
  keys: Keys;
  /** Terminal events go through the ledger, so each slot's is appended exactly once. */
  ledger: Ledger;
  logger: Logger;
  /** Progress log period while a file streams; default 30 000 ms. */
  progressLogMs?: number;
}

/** The summary a completed backfill job returns (and puts in its event's detail). */
export interface BackfillJobResult extends BackfillCounts {
  file: string;
  fileId: string;
  summary: string;
}

/**
 * The `backfill` queue's processor (three parameters, so BullMQ passes the AbortSignal). It
 * streams the job's file and appends `backfill.completed` with key `backfill:<fileId>:<slot>`
 * (slot: the scheduled time, epoch ms), or `job.dead` once it cannot succeed. At shutdown the
 * job goes back to wait without using an attempt, and the next run resumes from the checkpoint.
 */
export function createBackfillProcessor(deps: BackfillProcessorDeps) {
  return async function processBackfill(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<BackfillJobResult | undefined> {
    const attempt = job.attemptsMade + 1;
    const jobId = job.id ?? '';
    const slot = job.opts.prevMillis ?? job.timestamp;
    const log = deps.logger.child({ queue: 'backfill', job: job.name, jobId, attempt });
    const base = { jobId, queue: 'backfill', contactID: '', attempts: attempt };
    let fileId = 'unknown';
    let account = 'default';
    const dead = async (err: unknown): Promise<never> => {
      const key = `backfill:${fileId}:${slot}`;
      const detail = err instanceof AiqSyncError ? err.toJSON() : { code: errorCodeOf(err), message: err instanceof Error ? err.message : String(err) };
      await deps.ledger.finish(key, { error: errorCodeOf(err) }, { ...base, kind: 'job.dead', key, account, detail });
      throw new UnrecoverableError(`${errorCodeOf(err)}: ${err instanceof Error ? err.message : String(err)}`);
    };

    const backToWait = async (): Promise<never> => {
      await job.moveToDelayed(Date.now() + 100, token);
      throw new DelayedError('interrupted at shutdown');
    };

    const parsed = backfillJobSchema.safeParse(job.data);
    if (!parsed.success) return dead(new AiqSyncError('AIQ_ERR_PAYLOAD_INVALID', `invalid backfill job: ${parsed.error.issues.map((i) => i.message).join('; ')}`));
    const data = parsed.data;
    account = data.account ?? 'default';
    let lastLog = Date.now();
    try {
      const result = await runBackfill({
        producer: deps.producer,
        redis: deps.redis,
        keys: deps.keys,
        file: data.source,
        ...(data.format ? { format: data.format } : {}),
        ...(data.map ? { columnMap: parseColumnMap(data.map) } : {}),
        ...(data.versionColumn ? { versionColumn: data.versionColumn } : {}),
        ...(data.account ? { account: data.account } : {}),
        ...(signal ? { signal } : {}),
        onStart: (info) => {
          fileId = info.file.fileId;
          log.info({ fileId, resumedRows: info.resumedRows, startedOver: info.startedOver }, 'backfill started');
        },
        onProgress: (p) => {
          if (Date.now() - lastLog < (deps.progressLogMs ?? 30_000)) return;
          lastLog = Date.now();
          log.info({ ...p.counts, bytesRead: p.bytesRead, totalBytes: p.totalBytes }, 'backfill progress');
        },
      });
      if (result.status === 'interrupted') {
        log.info({ ...result.counts }, 'backfill interrupted at shutdown: will resume from the checkpoint');
        return backToWait();
      }
      const summary: BackfillJobResult = { file: data.source, fileId: result.fileId, ...result.counts, summary: formatSummary(result.counts) };
      const key = `backfill:${result.fileId}:${slot}`;
      const event: EventInput = { ...base, kind: 'backfill.completed', key, account, detail: { ...summary } };
      await deps.ledger.finish(key, { read: summary.read, enqueued: summary.enqueued }, event);
      log.info({ ...result.counts }, 'backfill completed');
      return summary;
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      if (signal?.aborted) return backToWait();
      const retryable = err instanceof AiqSyncError ? err.retryable : true;
      const final = !retryable || attempt >= (job.opts.attempts ?? 1);
      log[final ? 'error' : 'warn']({ err, final }, final ? 'backfill failed' : 'backfill attempt failed: will retry');
      if (final) return dead(err);
      throw err;
    }
  };
}

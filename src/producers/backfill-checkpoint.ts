import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import type { Keys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';

/** What a run has counted so far; a resumed run continues from the checkpoint's counts. */
export interface BackfillCounts {
  /** Rows read (data rows, header excluded, invalid ones included). */
  read: number;
  /** Rows that became a new job. */
  enqueued: number;
  /** Rows whose attributes equal what was last synced: no job, no API call. */
  unchanged: number;
  /** Rows written to the rejects file. */
  rejected: number;
  /** Rows whose job already existed (same contact and version): nothing new was enqueued. */
  duplicate: number;
}

export const zeroCounts = (): BackfillCounts => ({ read: 0, enqueued: 0, unchanged: 0, rejected: 0, duplicate: 0 });

export interface FileIdentity {
  /** Absolute path, links resolved. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Hash of path, size and mtime: a rewritten export is a new file. */
  fileId: string;
}

export async function identifyFile(path: string): Promise<FileIdentity> {
  const real = await realpath(path);
  const info = await stat(real);
  if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EISDIR' });
  const fileId = createHash('sha256').update(`${real}\0${info.size}\0${info.mtimeMs}`).digest('hex').slice(0, 24);
  return { path: real, size: info.size, mtimeMs: info.mtimeMs, fileId };
}

export interface Checkpoint {
  counts: BackfillCounts;
  /** Last file line fully processed: a resumed run skips everything up to it. */
  line: number;
  /** Size of the rejects file at that point (a resumed run truncates to it). */
  rejectsBytes: number;
  done: boolean;
  /** The settings the rows were read with; a run with other settings starts over. */
  settings: string;
}

/** A checkpoint outlives a crash by this long. */
const CHECKPOINT_TTL_MS = 30 * 86_400_000;

const COUNT_FIELDS = ['read', 'enqueued', 'unchanged', 'rejected', 'duplicate'] as const;

export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
  remove(): Promise<void>;
}

/** The checkpoint of one file, a Redis hash under `keys.backfillCheckpoint(fileId)`. */
export function createCheckpointStore(redis: RedisClient, keys: Keys, file: FileIdentity): CheckpointStore {
  const key = keys.backfillCheckpoint(file.fileId);
  return {
    async load() {
      const h = await redis.hgetall(key);
      if (h.line === undefined) return undefined;
      const counts = zeroCounts();
      for (const f of COUNT_FIELDS) counts[f] = Number(h[f] ?? 0);
      return { counts, line: Number(h.line), rejectsBytes: Number(h.rejectsBytes ?? 0), done: h.done === '1', settings: h.settings ?? '' };
    },
    async save(cp) {
      const fields: Array<string | number> = ['line', cp.line, 'rejectsBytes', cp.rejectsBytes, 'done', cp.done ? '1' : '0', 'settings', cp.settings, 'file', file.path, 'updatedAt', Date.now()];
      for (const f of COUNT_FIELDS) fields.push(f, cp.counts[f]);
      await redis.multi().hset(key, ...fields).pexpire(key, CHECKPOINT_TTL_MS).exec();
    },
    async remove() {
      await redis.del(key);
    },
  };
}

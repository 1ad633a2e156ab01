import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { attributesHash, type SyncedState } from '../jobs/attributes.ts';
import { customerIdentifier } from '../lib/idempotency.ts';
import type { Keys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { BackfillCounts } from './backfill-checkpoint.ts';
import type { RowResult } from './backfill-rows.ts';
import type { Producer } from './producer.ts';
import type { AttributeUpdate } from './schemas.ts';

/**
 * What was last applied per customer, for many customers in one round trip: the same hash
 * fields, keys and parsing as `readSynced` in src/jobs/attributes.ts, which the worker writes.
 */
export async function readSyncedMany(redis: RedisClient, keys: Keys, customers: ReadonlyArray<{ account: string; identifier: string }>): Promise<SyncedState[]> {
  if (customers.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const c of customers) pipeline.hmget(keys.attributes(c.account, c.identifier), 'hash', 'version');
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    const [hash, version] = (value ?? []) as Array<string | null>;
    return { hash: hash ?? undefined, version: version === null || version === undefined ? undefined : Number(version) };
  });
}

export type ChunkCounts = Omit<BackfillCounts, 'read'>;

/** A chunk split into what to send and what to reject; pure CPU work, done before sending. */
export interface PreparedChunk {
  rows: number;
  /** Last file line of the chunk. */
  endLine: number;
  updates: AttributeUpdate[];
  /** `attributesHash` of each update. */
  hashes: string[];
  identifiers: string[];
  rejectLines: string[];
}

export function prepareChunk(rows: readonly RowResult[], endLine: number): PreparedChunk {
  const chunk: PreparedChunk = { rows: rows.length, endLine, updates: [], hashes: [], identifiers: [], rejectLines: [] };
  for (const row of rows) {
    if (row.ok) {
      chunk.updates.push(row.update);
      chunk.hashes.push(attributesHash(row.update));
      chunk.identifiers.push(customerIdentifier(row.update.customer));
    } else {
      chunk.rejectLines.push(JSON.stringify({ line: row.line, error: row.error, issues: row.issues }));
    }
  }
  return chunk;
}

/**
 * Skips the unchanged rows of a prepared chunk and enqueues the rest in one round trip. A
 * contact twice in one chunk with the same version is one job (the later rows count as
 * duplicates), as its idempotency key would make it across chunks.
 */
export async function sendChunk(chunk: PreparedChunk, deps: { producer: Producer; redis: RedisClient; keys: Keys }): Promise<ChunkCounts> {
  const counts: ChunkCounts = { enqueued: 0, unchanged: 0, rejected: chunk.rejectLines.length, duplicate: 0 };
  const synced = await readSyncedMany(
    deps.redis,
    deps.keys,
    chunk.updates.map((u, i) => ({ account: u.account ?? 'default', identifier: chunk.identifiers[i]! })),
  );
  const toEnqueue: AttributeUpdate[] = [];
  const seen = new Set<string>();
  chunk.updates.forEach((u, i) => {
    const hash = chunk.hashes[i]!;
    if (synced[i]?.hash === hash) {
      counts.unchanged += 1;
      return;
    }
    // The idempotency key's parts (attributesKey hashes the same content when there is no version).
    const key = `${chunk.identifiers[i]!}\0${u.version ?? `h${hash}`}`;
    if (seen.has(key)) {
      counts.duplicate += 1;
      return;
    }
    seen.add(key);
    toEnqueue.push(u);
  });
  if (toEnqueue.length > 0) {
    for (const r of await deps.producer.enqueueAttributesMany(toEnqueue)) counts[r.status === 'queued' ? 'enqueued' : 'duplicate'] += 1;
  }
  return counts;
}

/** Appends rejected rows (one JSON line each) to the rejects file, opened on the first one. */
export interface RejectsWriter {
  readonly path: string;
  /** Bytes in the file (what a checkpoint records). */
  bytes(): number;
  write(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * `keepBytes` is what an earlier run of the same file wrote before its last checkpoint: more
 * is cut off (those rows are read again), and 0 empties the file of an older run. The file is
 * not created until there is something to write.
 */
export async function createRejectsWriter(path: string, keepBytes: number): Promise<RejectsWriter> {
  let size = 0;
  try {
    size = Math.min((await stat(path)).size, keepBytes);
    await truncate(path, size);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let handle: FileHandle | undefined;
  return {
    path,
    bytes: () => size,
    async write(lines) {
      if (lines.length === 0) return;
      handle ??= await open(path, 'a');
      const text = `${lines.join('\n')}\n`;
      await handle.appendFile(text, 'utf8');
      size += Buffer.byteLength(text);
    },
    async close() {
      await handle?.close();
      handle = undefined;
    },
  };
}

import { resolve } from 'node:path';
import { PayloadInvalidError } from '../lib/errors.ts';
import { stableStringify } from '../lib/idempotency.ts';
import type { Keys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import { createCheckpointStore, identifyFile, zeroCounts, type BackfillCounts, type Checkpoint, type FileIdentity } from './backfill-checkpoint.ts';
import { createRejectsWriter, prepareChunk, sendChunk, type ChunkCounts, type PreparedChunk } from './backfill-chunk.ts';
import { assertUsableHeader, createCsvRowMapper, createNdjsonMapper, type ColumnMap, type RowResult, type RowSettings } from './backfill-rows.ts';
import { formatFromPath, openSource, type BackfillFormat, type SourceItem } from './backfill-source.ts';
import type { Producer } from './producer.ts';

export type { BackfillCounts, FileIdentity } from './backfill-checkpoint.ts';
export { IDENTIFIERS, parseColumnMap, type ColumnMap, type IdentifierName } from './backfill-rows.ts';
export { BACKFILL_FORMATS, formatFromPath, type BackfillFormat } from './backfill-source.ts';

export interface RunBackfillOptions {
  producer: Producer;
  /** A producer-role connection: change detection and the checkpoint. */
  redis: RedisClient;
  keys: Keys;
  /** The export to read. */
  file: string;
  /** Default: from the extension (`.csv`; `.ndjson` or `.jsonl`). */
  format?: BackfillFormat;
  /** Identifier → column, e.g. `{phone: 'Mobile'}`; default each identifier's own name. */
  columnMap?: ColumnMap;
  /** Column holding each row's version (updated-at); default none: the file's mtime is the version. */
  versionColumn?: string;
  /** Account the jobs name; default none (the `default` account). */
  account?: string;
  /** Default `<file>.rejects.ndjson`. */
  rejectsPath?: string;
  /** Drop the checkpoint and read the file from the start; default false. */
  restart?: boolean;
  /** Rows between checkpoints; default 1000 (also one at the end). */
  checkpointEvery?: number;
  /** Rows per chunk (one change-detection read and one enqueue round trip each); default 250. */
  chunkSize?: number;
  /**
   * Chunks whose round trips may overlap (the next one is prepared and sent while the previous
   * one is still being enqueued); reading waits whenever this many are in flight. Default 2.
   */
  chunksInFlight?: number;
  /** Stops after the chunks in flight, with a checkpoint. */
  signal?: AbortSignal;
  onStart?(info: BackfillStart): void;
  /** After every chunk, and every few thousand rows while skipping to a checkpoint. */
  onProgress?(progress: BackfillProgress): void;
}

export interface BackfillStart {
  file: FileIdentity;
  format: BackfillFormat;
  rejectsPath: string;
  /** Rows already processed by an earlier run (0 when starting from the top). */
  resumedRows: number;
  /** Why an earlier checkpoint was not used, when there was one. */
  startedOver?: 'restart' | 'completed' | 'settings changed';
}

export interface BackfillProgress {
  phase: 'skipping' | 'processing';
  bytesRead: number;
  totalBytes: number;
  /** Cumulative over the file (a resumed run includes the earlier run's counts). */
  counts: BackfillCounts;
  /** Rows processed by this run. */
  rowsThisRun: number;
}

export interface BackfillResult {
  /** `interrupted`: stopped by the signal; the checkpoint lets a rerun continue. */
  status: 'completed' | 'interrupted';
  fileId: string;
  counts: BackfillCounts;
  rejectsPath: string;
  /** Rows processed by this run. */
  rowsThisRun: number;
}

/** The contract's summary line: `read N, enqueued N, unchanged N, rejected N`, then `, duplicate N` if any. */
export function formatSummary(c: BackfillCounts): string {
  const line = `read ${c.read}, enqueued ${c.enqueued}, unchanged ${c.unchanged}, rejected ${c.rejected}`;
  return c.duplicate > 0 ? `${line}, duplicate ${c.duplicate}` : line;
}

const SKIP_PROGRESS_EVERY = 5_000;

/**
 * Streams a CSV or NDJSON export into attribute-sync jobs, a chunk at a time: reading waits
 * while `chunksInFlight` chunks are being enqueued, so memory stays flat whatever the file size.
 * Unchanged contacts (same attributes hash as last synced) are skipped; invalid rows go to the
 * rejects file with their line numbers. A checkpoint in Redis every `checkpointEvery` rows lets
 * a rerun after a crash or a signal continue where it stopped; a rerun of a completed file
 * starts over.
 */
export async function runBackfill(options: RunBackfillOptions): Promise<BackfillResult> {
  const format = options.format ?? formatFromPath(options.file);
  if (format === undefined) throw new PayloadInvalidError([{ path: 'format', message: `cannot tell the format of ${options.file} from its extension: give csv or ndjson` }]);
  const checkpointEvery = Math.max(1, options.checkpointEvery ?? 1_000);
  const chunkSize = Math.max(1, Math.min(options.chunkSize ?? 250, checkpointEvery));
  const chunksInFlight = Math.max(1, options.chunksInFlight ?? 2);
  const file = await identifyFile(options.file);
  const settings: RowSettings = {
    columnMap: options.columnMap ?? {},
    versionColumn: options.versionColumn,
    defaultVersion: new Date(Math.floor(file.mtimeMs)).toISOString(),
    account: options.account,
  };
  const rejectsPath = options.rejectsPath ?? `${options.file}.rejects.ndjson`;
  const fingerprint = stableStringify({ format, map: settings.columnMap, version: settings.versionColumn ?? null, account: settings.account ?? null, rejects: resolve(rejectsPath) });
  const store = createCheckpointStore(options.redis, options.keys, file);

  let checkpoint: Checkpoint | undefined;
  let startedOver: BackfillStart['startedOver'];
  if (options.restart) {
    await store.remove();
    startedOver = 'restart';
  } else {
    checkpoint = await store.load();
    if (checkpoint?.done) startedOver = 'completed';
    else if (checkpoint !== undefined && checkpoint.settings !== fingerprint) startedOver = 'settings changed';
    if (startedOver !== undefined) checkpoint = undefined;
  }

  const rejects = await createRejectsWriter(rejectsPath, checkpoint?.rejectsBytes ?? 0);
  const source = openSource(file.path, format);
  const counts = checkpoint?.counts ?? zeroCounts();
  const resumeLine = checkpoint?.line ?? 0;
  options.onStart?.({ file, format, rejectsPath, resumedRows: counts.read, ...(startedOver ? { startedOver } : {}) });

  let line = resumeLine;
  let rowsThisRun = 0;
  let sinceCheckpoint = 0;
  let rows: RowResult[] = [];
  let rowsEnd = line;
  const inFlight: Array<{ chunk: PreparedChunk; sent: Promise<ChunkCounts> }> = [];
  const progress = (phase: BackfillProgress['phase']) =>
    options.onProgress?.({ phase, bytesRead: Math.min(source.bytesRead(), file.size), totalBytes: file.size, counts: { ...counts }, rowsThisRun });
  const save = (done: boolean) => store.save({ counts, line, rejectsBytes: rejects.bytes(), done, settings: fingerprint });

  // Chunks complete in file order here, whatever order their round trips finish in: counts,
  // rejects and the checkpoint only ever cover a prefix of the file.
  const settleOldest = async () => {
    const { chunk, sent } = inFlight.shift()!;
    const result = await sent;
    await rejects.write(chunk.rejectLines);
    counts.read += chunk.rows;
    counts.enqueued += result.enqueued;
    counts.unchanged += result.unchanged;
    counts.rejected += result.rejected;
    counts.duplicate += result.duplicate;
    rowsThisRun += chunk.rows;
    sinceCheckpoint += chunk.rows;
    line = chunk.endLine;
    if (sinceCheckpoint >= checkpointEvery) {
      await save(false);
      sinceCheckpoint = 0;
    }
    progress('processing');
  };
  const dispatch = async () => {
    if (rows.length === 0) return;
    const chunk = prepareChunk(rows, rowsEnd);
    rows = [];
    const sent = sendChunk(chunk, options);
    sent.catch(() => undefined); // awaited in settleOldest; this only keeps it from counting as unhandled meanwhile
    inFlight.push({ chunk, sent });
    if (inFlight.length >= chunksInFlight) await settleOldest();
  };
  const drain = async () => {
    while (inFlight.length > 0) await settleOldest();
  };

  try {
    const reader = await rowReader(source.items, format, settings);
    let skipped = 0;
    for await (const item of reader.rest) {
      if (item.endLine <= resumeLine) {
        skipped += 1;
        if (skipped % SKIP_PROGRESS_EVERY === 0) {
          progress('skipping');
          if (options.signal?.aborted) break;
        }
        continue;
      }
      rows.push(reader.map(item));
      rowsEnd = item.endLine;
      if (rows.length >= chunkSize) {
        await dispatch();
        if (options.signal?.aborted) break;
      }
    }
    const interrupted = options.signal?.aborted === true;
    if (!interrupted) await dispatch();
    await drain();
    if (interrupted) {
      if (sinceCheckpoint > 0) await save(false);
      return { status: 'interrupted', fileId: file.fileId, counts, rejectsPath, rowsThisRun };
    }
    await save(true);
    return { status: 'completed', fileId: file.fileId, counts, rejectsPath, rowsThisRun };
  } finally {
    await Promise.allSettled(inFlight.map((f) => f.sent));
    source.close();
    await rejects.close();
  }
}

/** Reads the CSV header (validated against the settings) and returns the row mapping. */
async function rowReader(items: AsyncIterable<SourceItem>, format: BackfillFormat, settings: RowSettings): Promise<{ rest: AsyncIterable<SourceItem>; map(item: SourceItem): RowResult }> {
  const unreadable = (item: Extract<SourceItem, { kind: 'error' }>): RowResult => ({ ok: false, line: item.line, error: 'unreadable record', issues: [{ path: '', message: item.message }] });
  if (format === 'ndjson') {
    const mapper = createNdjsonMapper(settings);
    return { rest: items, map: (item) => (item.kind === 'ndjson' ? mapper(item.text, item.line) : unreadable(item as Extract<SourceItem, { kind: 'error' }>)) };
  }
  const iterator = items[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new PayloadInvalidError([{ path: 'header', message: 'the file is empty: expected a header row' }]);
  if (first.value.kind !== 'csv') throw new PayloadInvalidError([{ path: 'header', message: `cannot read the header row: ${first.value.kind === 'error' ? first.value.message : 'not CSV'}` }]);
  const header = first.value.values.map((h) => h.trim());
  assertUsableHeader(header, settings);
  const mapper = createCsvRowMapper(header, settings);
  return {
    rest: { [Symbol.asyncIterator]: () => iterator },
    map: (item) => (item.kind === 'csv' ? mapper(item.values, item.line) : unreadable(item.kind === 'error' ? item : { kind: 'error', line: item.line, endLine: item.endLine, message: 'not a CSV record' })),
  };
}

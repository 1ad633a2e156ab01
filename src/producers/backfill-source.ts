import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { parse, type CsvError, type Info } from 'csv-parse';

export const BACKFILL_FORMATS = ['csv', 'ndjson'] as const;
export type BackfillFormat = (typeof BACKFILL_FORMATS)[number];

/** The format from the file's extension: `.csv`, `.ndjson` or `.jsonl`; undefined otherwise. */
export function formatFromPath(path: string): BackfillFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  return undefined;
}

/**
 * One unit of the file, in file order. `line` is where it starts (1-based; a CSV header is
 * line 1), `endLine` where it ends: the position a checkpoint records.
 */
export type SourceItem =
  | { kind: 'csv'; line: number; endLine: number; values: string[] }
  | { kind: 'ndjson'; line: number; endLine: number; text: string }
  | { kind: 'error'; line: number; endLine: number; message: string };

export interface OpenedSource {
  items: AsyncIterable<SourceItem>;
  /** Bytes read from the file so far (ahead of the items by what the parser buffers). */
  bytesRead(): number;
  /** Stops reading and releases the file. */
  close(): void;
}

/**
 * Reads a CSV (header row first; quotes strict; byte-order mark dropped; empty lines skipped).
 * A record the parser cannot read (a stray quote) becomes an `error` item at its place in the
 * file, so it is rejected and counted like any invalid row instead of stopping the run.
 */
function csvItems(stream: Readable): { items: AsyncIterable<SourceItem>; close(): void } {
  const parser = parse({
    bom: true,
    info: true,
    relax_quotes: false,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
  });
  const pending: Array<Extract<SourceItem, { kind: 'error' }>> = [];
  // Skipped records are reported synchronously while parsing, ahead of records still buffered:
  // held back here and merged by line, so items stay in file order.
  parser.on('skip', (err: CsvError & { lines?: number }) => {
    const line = typeof err.lines === 'number' ? err.lines : 0;
    const last = pending[pending.length - 1];
    // A stray quote on the last line is reported twice (bad quote, then quote not closed): one row.
    if (last !== undefined && last.line === line) last.message = `${last.message}; ${err.message}`;
    else pending.push({ kind: 'error', line, endLine: line, message: err.message });
  });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  async function* items(): AsyncGenerator<SourceItem> {
    let previousEnd = 0;
    let previousEmpty = 0;
    for await (const entry of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      const { record, info } = entry;
      while (pending.length > 0 && pending[0]!.line < info.lines) {
        const error = pending.shift()!;
        previousEnd = error.endLine;
        yield error;
      }
      const line = Math.min(info.lines, previousEnd + 1 + (info.empty_lines - previousEmpty));
      previousEnd = info.lines;
      previousEmpty = info.empty_lines;
      yield { kind: 'csv', line, endLine: info.lines, values: record };
    }
    yield* pending.splice(0);
  }
  return {
    items: items(),
    close: () => {
      stream.unpipe(parser);
      parser.destroy();
    },
  };
}

/** Reads NDJSON: one JSON value a line (LF or CRLF); blank lines skipped; a leading BOM dropped. */
async function* ndjsonItems(stream: Readable, onBytes: (n: number) => void): AsyncGenerator<SourceItem> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  const emit = function* (text: string): Generator<SourceItem> {
    line += 1;
    let t = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line === 1 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    if (t.trim().length > 0) yield { kind: 'ndjson', line, endLine: line, text: t };
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    onBytes(chunk.length);
    const text = rest + decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      yield* emit(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest.length > 0) yield* emit(rest);
}

/** Opens the file for streaming; memory stays bounded by the stream buffers whatever its size. */
export function openSource(path: string, format: BackfillFormat): OpenedSource {
  const stream = createReadStream(path, { highWaterMark: 16 * 1024 });
  let bytes = 0;
  if (format === 'csv') {
    // pipe() already reads in flowing mode (paused by backpressure): one more listener only counts.
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    const csv = csvItems(stream);
    return {
      items: csv.items,
      bytesRead: () => bytes,
      close: () => {
        csv.close();
        stream.destroy();
      },
    };
  }
  const items = ndjsonItems(stream, (n) => {
    bytes += n;
  });
  return { items, bytesRead: () => bytes, close: () => stream.destroy() };
}

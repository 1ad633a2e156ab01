import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { PayloadIssue } from '../lib/errors.ts';
import type { EnqueueResult, Producer } from '../producers/producer.ts';
import { attributeUpdateSchema, optInSchema, parseWith, posTransactionSchema } from '../producers/schemas.ts';
import { writeLine, type CliContext } from './context.ts';
import { EXIT, createCliLogger, loadCliConfig, reportFailure } from './runtime.ts';

const KINDS = {
  pos: {
    schema: posTransactionSchema,
    enqueue: (p: Producer, items: unknown[]) => p.enqueuePos(items as Parameters<Producer['enqueuePos']>[0]),
  },
  optin: {
    schema: optInSchema,
    enqueue: async (p: Producer, items: unknown[]) => {
      const out: EnqueueResult[] = [];
      for (const item of items) out.push(await p.enqueueOptIn(item as Parameters<Producer['enqueueOptIn']>[0]));
      return out;
    },
  },
  attributes: {
    schema: attributeUpdateSchema,
    enqueue: (p: Producer, items: unknown[]) => p.enqueueAttributesMany(items as Parameters<Producer['enqueueAttributesMany']>[0]),
  },
} as const;
export type EnqueueKind = keyof typeof KINDS;

export type LineResult =
  | { line: number; idempotencyKey: string; jobId: string; status: EnqueueResult['status'] }
  | { line: number; error: string; issues: PayloadIssue[] };

/** Parses one NDJSON line; the contract's shapes, refused with the field named. */
export function parseLine(kind: EnqueueKind, text: string): { ok: true; value: unknown } | { ok: false; error: string; issues: PayloadIssue[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: 'malformed JSON', issues: [{ path: '', message: (err as Error).message }] };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: 'invalid_request', issues: [{ path: '', message: 'expected one JSON object per line' }] };
  }
  const parsed = parseWith(KINDS[kind].schema, raw);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, error: 'invalid_request', issues: parsed.issues };
}

const BATCH = 200;

/** Reads NDJSON lines, enqueues valid ones in batches, and reports one result per line, in order. */
export async function enqueueLines(kind: EnqueueKind, lines: AsyncIterable<string>, producer: Producer, emit: (r: LineResult) => void): Promise<{ queued: number; duplicate: number; rejected: number }> {
  const counts = { queued: 0, duplicate: 0, rejected: 0 };
  let pending: Array<{ line: number; value: unknown } | { line: number; error: string; issues: PayloadIssue[] }> = [];
  const flush = async () => {
    const valid = pending.filter((p): p is { line: number; value: unknown } => 'value' in p);
    const results = valid.length > 0 ? await KINDS[kind].enqueue(producer, valid.map((v) => v.value)) : [];
    let next = 0;
    for (const p of pending) {
      if ('value' in p) {
        const r = results[next++]!;
        counts[r.status] += 1;
        emit({ line: p.line, idempotencyKey: r.idempotencyKey, jobId: r.jobId, status: r.status });
      } else {
        counts.rejected += 1;
        emit(p);
      }
    }
    pending = [];
  };
  let lineNo = 0;
  for await (const text of lines) {
    lineNo += 1;
    if (text.trim() === '') continue;
    const parsed = parseLine(kind, text);
    pending.push(parsed.ok ? { line: lineNo, value: parsed.value } : { line: lineNo, error: parsed.error, issues: parsed.issues });
    if (pending.length >= BATCH) await flush();
  }
  await flush();
  return counts;
}

export function registerEnqueue(program: Command, ctx: CliContext): void {
  program
    .command('enqueue')
    .description('read NDJSON on stdin (one POS transaction, opt-in or attribute update a line) and enqueue it; prints one JSON line per input line; exit 1 when a line was refused')
    .argument('<kind>', 'pos | optin | attributes')
    .action(async (kind: string) => {
      if (!(kind in KINDS)) {
        writeLine(ctx.stderr, `aiq-sync enqueue: unknown kind "${kind}"; expected pos, optin or attributes`);
        ctx.setExitCode(EXIT.usage);
        return;
      }
      const config = loadCliConfig(ctx, 'enqueue');
      if (!config) return;
      const logger = createCliLogger(ctx, config, { toStderr: true });
      const { createApp } = await import('../app.ts');
      const app = createApp({ config, logger });
      try {
        await app.start();
        const lines = createInterface({ input: ctx.stdin, crlfDelay: Infinity });
        const counts = await enqueueLines(kind as EnqueueKind, lines, app.producer, (r) => writeLine(ctx.stdout, JSON.stringify(r)));
        logger.info(counts, 'enqueue finished');
        if (counts.rejected > 0) ctx.setExitCode(EXIT.failed);
      } catch (err) {
        reportFailure(ctx, 'enqueue', err);
      } finally {
        await app.close();
      }
    });
}

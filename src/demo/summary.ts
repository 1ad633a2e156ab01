import type { ResultEvent } from '../lib/events.ts';

const APPLIED = new Set(['points.applied', 'optin.applied', 'optin.requested', 'attributes.synced', 'contact.created']);
const UNCHANGED = new Set(['points.unchanged', 'attributes.unchanged', 'attributes.stale', 'contact.existing']);

export interface QueueRow {
  queue: string;
  applied: number;
  unchanged: number;
  refused: number;
  dead: number;
  /** Attempts beyond the first, summed over the queue's terminal events. */
  retries: number;
  /** Jobs put back by a 429 from AIQ. */
  rateLimited: number;
}

export interface ExactlyOnceCheck {
  /** `points.applied` events that moved points. */
  credited: number;
  /** AIQ adjustments carrying one of our keys more than once. */
  duplicated: number;
  /** Applied events whose key AIQ does not hold. */
  missing: number;
  /** AIQ adjustments whose value differs from the event's. */
  wrong: number;
  ok: boolean;
}

export interface Adjustment {
  note?: string | undefined;
  value?: number | undefined;
}

export function summarizeQueues(events: readonly ResultEvent[], rateLimitedByQueue: ReadonlyMap<string, number>): QueueRow[] {
  const rows = new Map<string, QueueRow>();
  for (const e of events) {
    const row = rows.get(e.queue) ?? { queue: e.queue, applied: 0, unchanged: 0, refused: 0, dead: 0, retries: 0, rateLimited: rateLimitedByQueue.get(e.queue) ?? 0 };
    if (APPLIED.has(e.kind)) row.applied += 1;
    else if (UNCHANGED.has(e.kind)) row.unchanged += 1;
    else if (e.kind === 'optin.refused') row.refused += 1;
    else if (e.kind === 'job.dead') row.dead += 1;
    row.retries += Math.max(0, e.attempts - 1);
    rows.set(e.queue, row);
  }
  return [...rows.values()].sort((a, b) => a.queue.localeCompare(b.queue));
}

/** Compares every `points.applied` event with AIQ's own record of adjustments. */
export function checkExactlyOnce(events: readonly ResultEvent[], adjustments: readonly Adjustment[]): ExactlyOnceCheck {
  const byNote = new Map<string, number[]>();
  for (const a of adjustments) if (a.note) byNote.set(a.note, [...(byNote.get(a.note) ?? []), a.value ?? 0]);
  let credited = 0;
  let missing = 0;
  let wrong = 0;
  for (const e of events) {
    if (e.kind !== 'points.applied') continue;
    credited += 1;
    const values = byNote.get(e.key);
    if (!values) missing += 1;
    else if (values[0] !== e.detail.value) wrong += 1;
  }
  const duplicated = [...byNote.values()].filter((v) => v.length > 1).length;
  return { credited, duplicated, missing, wrong, ok: duplicated === 0 && missing === 0 && wrong === 0 };
}

/** A plain-text table. */
export function formatTable(rows: readonly QueueRow[]): string {
  const head = ['queue', 'applied', 'unchanged', 'refused', 'dead', 'retries', '429s'];
  const body = rows.map((r) => [r.queue, r.applied, r.unchanged, r.refused, r.dead, r.retries, r.rateLimited].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

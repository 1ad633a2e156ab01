import { TERMINAL_KINDS, type ResultEvent } from '../../src/lib/events.ts';
import type { LedgerEntry } from '../../src/simulator/index.ts';
import type { Expectation } from './chaos-traffic.ts';

/**
 * The end-of-run check of every scenario, from the two sources of truth: the simulator's ledger
 * (what AIQ applied) and the result-event stream (what the pipeline said it did).
 */
export interface Verdict {
  figures: {
    applied: number;
    reconciled: number;
    unchanged: number;
    dead: number;
    /** Extra applications of a key already applied once. */
    duplicated: number;
    /** Accepted keys with no terminal event, or whose effect never reached AIQ. */
    lost: number;
    /** Applications with the wrong value or contact, or outcomes of the wrong kind. */
    wrong: number;
  };
  /** Each broken promise, in words; empty when the run held. */
  violations: string[];
}

export interface VerifyInput {
  expected: ReadonlyMap<string, Expectation>;
  /** Keys the ingress answered 202 for (or that were enqueued otherwise). */
  accepted: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  /** The simulator's applied writes. */
  ledger: readonly LedgerEntry[];
  events: readonly ResultEvent[];
}

const POINTS_TERMINAL: ReadonlySet<string> = new Set(TERMINAL_KINDS.points);
/** At most this many examples per kind of violation (the counts are in the figures). */
const EXAMPLES = 5;

export function verifyRun(input: VerifyInput): Verdict {
  const violations: string[] = [];
  const say = (bucket: Map<string, string[]>, kind: string, text: string) => {
    const list = bucket.get(kind) ?? [];
    list.push(text);
    bucket.set(kind, list);
  };
  const found = new Map<string, string[]>();
  const figures: Verdict['figures'] = { applied: 0, reconciled: 0, unchanged: 0, dead: 0, duplicated: 0, lost: 0, wrong: 0 };

  // What AIQ applied, by note (the note is the idempotency key and nothing else).
  const applications = new Map<string, LedgerEntry[]>();
  for (const entry of input.ledger) {
    if (entry.route !== 'adjustPoints') continue;
    const note = entry.note ?? '';
    applications.set(note, [...(applications.get(note) ?? []), entry]);
  }
  for (const [note, list] of applications) {
    if (!input.expected.has(note)) {
      figures.wrong += list.length;
      say(found, 'unknown application', `AIQ applied ${list.length} adjustment(s) with note "${note}", which no transaction has`);
    }
    if (list.length > 1) {
      figures.duplicated += list.length - 1;
      say(found, 'duplicated', `${note} applied ${list.length} times (${list.map((l) => l.value).join(', ')})`);
    }
  }

  // What the pipeline said: exactly one terminal event per key, never an event id twice.
  const ids = new Map<string, number>();
  const terminal = new Map<string, ResultEvent[]>();
  for (const e of input.events) {
    ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
    if (e.queue !== 'points' && e.queue !== '') continue;
    if (!POINTS_TERMINAL.has(e.kind)) continue;
    terminal.set(e.key, [...(terminal.get(e.key) ?? []), e]);
  }
  for (const [id, count] of ids) if (count > 1) say(found, 'event twice', `event ${id} appears ${count} times`);
  for (const [key, list] of terminal) {
    if (!input.expected.has(key)) say(found, 'unknown event', `terminal event ${list[0]!.kind} for ${key}, which no transaction has`);
    if (list.length > 1) say(found, 'several terminal events', `${key} has ${list.length} terminal events: ${list.map((e) => e.kind).join(', ')}`);
  }

  for (const exp of input.expected.values()) {
    const has = input.accepted instanceof Map ? input.accepted.has(exp.key) : (input.accepted as ReadonlySet<string>).has(exp.key);
    if (!has) {
      figures.lost += 1;
      say(found, 'never accepted', `${exp.key} was never accepted by the ingress`);
      continue;
    }
    const events = terminal.get(exp.key) ?? [];
    const event = events[0];
    const applied = applications.get(exp.key) ?? [];
    if (event === undefined) {
      figures.lost += 1;
      say(found, 'lost', `${exp.key} (${exp.type}) was accepted but has no terminal event`);
      continue;
    }
    if (event.kind === 'points.applied') figures.applied += 1;
    if (event.kind === 'points.unchanged') figures.unchanged += 1;
    if (event.kind === 'job.dead') figures.dead += 1;
    if (event.detail.reconciled === true) figures.reconciled += 1;
    if (event.kind !== exp.kind) {
      figures.wrong += 1;
      const code = typeof event.detail.code === 'string' ? ` (${event.detail.code}: ${String(event.detail.message ?? '')})` : '';
      say(found, 'wrong outcome', `${exp.key} ended ${event.kind}${code}, expected ${exp.kind}`);
    } else if (exp.kind === 'job.dead' && exp.deadCode !== undefined && event.detail.code !== exp.deadCode) {
      figures.wrong += 1;
      say(found, 'wrong dead code', `${exp.key} is dead with ${String(event.detail.code)}, expected ${exp.deadCode}`);
    }
    if (exp.kind === 'points.applied') {
      if (applied.length === 0) {
        figures.lost += 1;
        say(found, 'not applied', `${exp.key} ended ${event.kind} but AIQ never applied it`);
      } else if (applied.some((a) => a.value !== exp.value || (exp.contactID !== undefined && a.contactID !== exp.contactID))) {
        figures.wrong += 1;
        const a = applied[0]!;
        say(found, 'wrong value', `${exp.key} applied ${a.value} to ${a.contactID ?? '?'}, expected ${exp.value} to ${exp.contactID ?? '?'}`);
      }
    } else if (applied.length > 0) {
      figures.wrong += 1;
      say(found, 'applied but must not be', `${exp.key} (${exp.kind}) was applied ${applied.length} time(s)`);
    }
  }
  for (const [kind, list] of found) {
    violations.push(`${kind}: ${list.length}; e.g. ${list.slice(0, EXAMPLES).join(' | ')}`);
  }
  return { figures, violations };
}

import { posKey } from '../../src/lib/idempotency.ts';
import { createRng, type Rng } from '../../src/simulator/prng.ts';

/**
 * POS traffic for the reliability scenarios: sales, returns and voids referring to earlier
 * sales (some posted before their sale), redeliveries, and poisoned transactions that pass
 * validation but can never succeed. Deterministic from the seed; every transaction carries
 * what its outcome must be.
 */

/** A transaction as a POS posts it (the contract's shape). */
export interface PosBody {
  source: string;
  storeId: string;
  transactionId: string;
  type: 'sale' | 'return' | 'void';
  originalTransactionId?: string;
  occurredAt: string;
  customer: { contactID?: string; phone?: string };
  total?: number;
  account?: string;
}

/** What must become of one idempotency key. */
export interface Expectation {
  key: string;
  type: PosBody['type'];
  /** The terminal event kind. */
  kind: 'points.applied' | 'points.unchanged' | 'job.dead';
  /** For `points.applied`: the signed delta AIQ must have applied, once. */
  value: number;
  /** For `points.applied`: the contact it must have been applied to. */
  contactID?: string;
  /** For `job.dead`: the error code the dead letter must carry. */
  deadCode?: string;
  /** Why it is poisoned, for poisoned inputs. */
  poison?: string;
}

export interface Persona {
  contactID: string;
  phone: string;
}

export interface TrafficOptions {
  /** Unique transactions (poisoned ones included). */
  transactions: number;
  /** Personas to spread them over (already in the simulator). */
  personas: readonly Persona[];
  /** Transactions per POST. */
  batchSize: number;
  seed?: number;
  /** Share of transactions posted a second time, in a later batch; default 0.1. */
  redeliveryRate?: number;
  /** Share of returns and voids posted before their sale; default 0.3. */
  earlyReversalRate?: number;
  /** Poisoned sales naming an account the workers do not have (dead at once). */
  unknownAccount?: number;
  /**
   * Poisoned sales naming a contact ID AIQ does not know: 404 on every attempt, dead once the
   * attempts are used up (about two minutes with the default backoff).
   */
  unknownContact?: number;
  /** Source name of the transactions; default `chaos`. */
  source?: string;
}

export interface Traffic {
  /** What each POST carries, in posting order. */
  batches: PosBody[][];
  /** Every key, with its expected outcome. */
  expected: Map<string, Expectation>;
  figures: { transactions: number; sales: number; returns: number; voids: number; early: number; redelivered: number; poisoned: number; posts: number };
}

export const GHOST_ACCOUNT = 'ghost';

const OCCURRED_AT = '2026-11-28T10:00:00Z';

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A total in currency units with cents, worth at least 1 point. */
function money(rng: Rng, min: number, max: number): number {
  return Math.round((min + rng.next() * (max - min)) * 100) / 100;
}

export function createTraffic(options: TrafficOptions): Traffic {
  const rng = createRng(options.seed ?? 1);
  const source = options.source ?? 'chaos';
  const poisonAccount = options.unknownAccount ?? 0;
  const poisonContact = options.unknownContact ?? 0;
  const regular = options.transactions - poisonAccount - poisonContact;
  if (regular < 10) throw new Error('too few transactions for the poisoned ones');
  const expected = new Map<string, Expectation>();
  /** Posting order before batching: [transaction, position weight]. */
  const ordered: Array<{ t: PosBody; at: number }> = [];
  const sales: Array<{ t: PosBody; value: number; contactID: string; at: number; referenced: boolean }> = [];
  let n = 0;
  const nextId = () => `T-${String(n++).padStart(6, '0')}`;
  const storeOf = () => String(rng.int(1, 5));
  const customerOf = (p: Persona): PosBody['customer'] => (rng.chance(0.5) ? { contactID: p.contactID } : { phone: p.phone });

  const counts = { sales: 0, returns: 0, voids: 0, early: 0 };
  for (let i = 0; i < regular; i += 1) {
    const position = i;
    const canReverse = sales.some((s) => !s.referenced);
    const roll = rng.next();
    if (canReverse && i > 5 && roll < 0.2) {
      // A return or void of an earlier sale not yet referenced.
      const open = sales.filter((s) => !s.referenced);
      const sale = rng.pick(open);
      sale.referenced = true;
      const isVoid = roll < 0.08;
      const t: PosBody = {
        source,
        storeId: sale.t.storeId,
        transactionId: nextId(),
        type: isVoid ? 'void' : 'return',
        originalTransactionId: sale.t.transactionId,
        occurredAt: OCCURRED_AT,
        customer: sale.t.customer,
      };
      let value: number;
      if (isVoid) {
        value = -sale.value;
        counts.voids += 1;
      } else {
        t.total = money(rng, 1, Math.max(1, sale.t.total ?? 1));
        value = -Math.floor(t.total + 1e-9);
        counts.returns += 1;
      }
      // Some arrive before their sale: posted a little ahead of it.
      const early = rng.chance(options.earlyReversalRate ?? 0.3);
      if (early) counts.early += 1;
      const at = early ? sale.at - 1 - rng.int(0, options.batchSize * 2) : position;
      ordered.push({ t, at });
      const key = posKey(t);
      expected.set(key, { key, type: t.type, kind: value === 0 ? 'points.unchanged' : 'points.applied', value, contactID: sale.contactID });
      continue;
    }
    const persona = rng.pick(options.personas);
    const t: PosBody = { source, storeId: storeOf(), transactionId: nextId(), type: 'sale', occurredAt: OCCURRED_AT, customer: customerOf(persona), total: money(rng, 1, 250) };
    const value = Math.floor(t.total! + 1e-9);
    sales.push({ t, value, contactID: persona.contactID, at: position, referenced: false });
    ordered.push({ t, at: position });
    const key = posKey(t);
    expected.set(key, { key, type: 'sale', kind: 'points.applied', value, contactID: persona.contactID });
    counts.sales += 1;
  }

  // Poisoned inputs, spread over the run.
  for (let i = 0; i < poisonAccount; i += 1) {
    const t: PosBody = { source, storeId: storeOf(), transactionId: nextId(), type: 'sale', occurredAt: OCCURRED_AT, customer: { contactID: rng.pick(options.personas).contactID }, total: money(rng, 1, 100), account: GHOST_ACCOUNT };
    const at = rng.int(0, regular);
    ordered.push({ t, at });
    const key = posKey(t);
    expected.set(key, { key, type: 'sale', kind: 'job.dead', value: 0, deadCode: 'AIQ_ERR_CONFIG', poison: `account "${GHOST_ACCOUNT}" is not configured` });
    if (i === 0) {
      // Its void waits for it, then finds it dead: nothing to reverse.
      const v: PosBody = { source, storeId: t.storeId, transactionId: nextId(), type: 'void', originalTransactionId: t.transactionId, occurredAt: OCCURRED_AT, customer: t.customer };
      ordered.push({ t: v, at: at + 1 });
      const vk = posKey(v);
      expected.set(vk, { key: vk, type: 'void', kind: 'points.unchanged', value: 0 });
      counts.voids += 1;
    }
  }
  for (let i = 0; i < poisonContact; i += 1) {
    const t: PosBody = { source, storeId: storeOf(), transactionId: nextId(), type: 'sale', occurredAt: OCCURRED_AT, customer: { contactID: `ghost-${rng.hex(12)}` }, total: money(rng, 1, 100) };
    ordered.push({ t, at: rng.int(0, Math.floor(regular / 3)) });
    const key = posKey(t);
    expected.set(key, { key, type: 'sale', kind: 'job.dead', value: 0, deadCode: 'AIQ_ERR_CONTACT_NOT_FOUND', poison: 'contact ID unknown to AIQ' });
  }

  // Stable order by position (early reversals move ahead of their sale), then batches.
  ordered.sort((a, b) => a.at - b.at);
  const batches: PosBody[][] = [];
  for (let i = 0; i < ordered.length; i += options.batchSize) batches.push(ordered.slice(i, i + options.batchSize).map((o) => o.t));

  // Redeliveries: the same transaction again, in a later batch (a batch may not hold one twice).
  let redelivered = 0;
  const all = shuffle(rng, ordered.map((o) => o.t));
  const wanted = Math.round(all.length * (options.redeliveryRate ?? 0.1));
  for (const t of all) {
    if (redelivered >= wanted) break;
    const first = batches.findIndex((b) => b.includes(t));
    if (first < 0 || first >= batches.length - 1) continue;
    const target = batches[rng.int(first + 1, batches.length - 1)]!;
    target.splice(rng.int(0, target.length), 0, { ...t });
    redelivered += 1;
  }

  return {
    batches,
    expected,
    figures: {
      transactions: expected.size,
      sales: counts.sales + poisonAccount + poisonContact,
      returns: counts.returns,
      voids: counts.voids,
      early: counts.early,
      redelivered,
      poisoned: poisonAccount + poisonContact,
      posts: batches.length,
    },
  };
}

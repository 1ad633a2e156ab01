/**
 * Every Redis key of ours, built from the deployment prefix (`{aiq}` by default, whose braces keep
 * all keys of a deployment in one Cluster slot). BullMQ's own keys use the same prefix.
 * No call site concatenates key strings.
 */
export interface Keys {
  readonly prefix: string;
  /** The result-event stream. */
  events(): string;
  /** Idempotency ledger entry of one key (hash: state, firstAttemptAt, …). */
  ledger(idempotencyKey: string): string;
  /** Rate budget of an account (one hash per account; the Lua scripts derive nothing else). */
  budget(account: string): string;
  /** Requests granted, as a sorted set of timestamps, for one window of an account. */
  budgetWindow(account: string, windowMs: number): string;
  /** Real-time demand: a sorted set of waiters' deadlines, per account. */
  budgetDemand(account: string): string;
  /** Bulk-lane grants within the shortest window (sorted set of timestamps), per account. */
  budgetBulk(account: string): string;
  /** Cached contact ID of a customer identifier (phone, email, srcID). */
  contact(account: string, identifier: string): string;
  /** Hash of the last attributes applied to a contact, and their version. */
  attributes(account: string, contactId: string): string;
  /** One attribute sync per customer at a time. */
  attributesLock(account: string, identifier: string): string;
  /** Backfill checkpoint of one file identity. */
  backfillCheckpoint(fileId: string): string;
  /** Counters kept for the demo summary and metrics (per queue). */
  counters(queue: string): string;
}

export function createKeys(prefix: string): Keys {
  const k = (...parts: string[]) => [prefix, ...parts].join(':');
  return {
    prefix,
    events: () => k('events'),
    ledger: (key) => k('ledger', key),
    budget: (account) => k('budget', account),
    budgetWindow: (account, windowMs) => k('budget', account, 'w', String(windowMs)),
    budgetDemand: (account) => k('budget', account, 'demand'),
    budgetBulk: (account) => k('budget', account, 'bulk'),
    contact: (account, identifier) => k('contact', account, identifier),
    attributes: (account, contactId) => k('attrs', account, contactId),
    attributesLock: (account, identifier) => k('attrs', account, identifier, 'lock'),
    backfillCheckpoint: (fileId) => k('backfill', 'checkpoint', fileId),
    counters: (queue) => k('counters', queue),
  };
}

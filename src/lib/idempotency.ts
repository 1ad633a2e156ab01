import { createHash } from 'node:crypto';
import type { Customer, PosTransaction, OptInRequest, AttributeUpdate, NewContactRequest } from '../producers/schemas.ts';
import type { QueueName } from './events.ts';

declare const keyBrand: unique symbol;
/** An idempotency key such as `pos:treez:12:T-1001:sale`. */
export type IdempotencyKey = string & { readonly [keyBrand]: 'IdempotencyKey' };

const asKey = (s: string) => s as IdempotencyKey;

/** `pos:{source}:{storeId}:{transactionId}:{type}`; the only thing the AIQ note carries. */
export function posKey(t: Pick<PosTransaction, 'source' | 'storeId' | 'transactionId' | 'type'>): IdempotencyKey {
  return asKey(`pos:${t.source}:${t.storeId}:${t.transactionId}:${t.type}`);
}

/** The key of the sale a return or void refers to. */
export function originalSaleKey(t: Pick<PosTransaction, 'source' | 'storeId' | 'originalTransactionId'>): IdempotencyKey | null {
  return t.originalTransactionId === undefined ? null : asKey(`pos:${t.source}:${t.storeId}:${t.originalTransactionId}:sale`);
}

export function optInKey(o: Pick<OptInRequest, 'source' | 'eventId'>): IdempotencyKey {
  return asKey(`optin:${o.source}:${o.eventId}`);
}

/** The first of contactID, srcID, phone, email. */
export function customerIdentifier(c: Customer): string {
  return c.contactID ?? c.srcID ?? c.phone ?? c.email ?? '';
}

/** A short stable hash of a JSON value (keys sorted). */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 24);
}

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** `attributes:{identifier}:{version}`; without a version, the content's hash stands in for it. */
export function attributesKey(u: Pick<AttributeUpdate, 'customer' | 'version' | 'attributes' | 'overrides'>): IdempotencyKey {
  const version = u.version ?? `h${stableHash({ a: u.attributes, o: u.overrides ?? null })}`;
  return asKey(`attributes:${customerIdentifier(u.customer)}:${version}`);
}

export function contactKey(c: Pick<NewContactRequest, 'customer' | 'source'>): IdempotencyKey {
  return asKey(`contact:${c.source}:${customerIdentifier(c.customer)}`);
}

/**
 * BullMQ job IDs may not contain ':', so the job ID is the queue name and a hash of the key:
 * deterministic, so the same key always maps to the same job.
 */
export function jobIdFor(queue: QueueName, key: string): string {
  return `${queue}-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

import { asContactId, type AiqClient, type ContactId, type Persona } from '../lib/aiq/types.ts';
import type { Keys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { Customer } from '../producers/schemas.ts';

/**
 * Customer identifier → AIQ contact ID, cached in Redis with a TTL. AIQ merges contacts
 * overnight, so a contact ID that answers 404 is dropped (`invalidate`) and looked up again.
 */
export interface ContactResolver {
  /** The contact ID, or null when AIQ does not know the customer (yet). */
  resolve(customer: Customer, options?: { signal?: AbortSignal }): Promise<ContactId | null>;
  /** Forgets the cached contact ID of a customer. */
  invalidate(customer: Customer): Promise<void>;
}

export interface CreateContactResolverOptions {
  client: AiqClient;
  redis: RedisClient;
  keys: Keys;
  account: string;
  /** Cache TTL in seconds. */
  ttlS: number;
}

function cacheIds(customer: Customer): string[] {
  const ids: string[] = [];
  if (customer.srcID !== undefined) ids.push(`src:${customer.srcID}`);
  if (customer.phone !== undefined) ids.push(`phone:${customer.phone}`);
  if (customer.email !== undefined) ids.push(`email:${customer.email}`);
  return ids;
}

function matches(p: Persona, customer: Customer): boolean {
  if (customer.phone !== undefined && p.mobilePhone !== customer.phone && p.homePhone !== customer.phone) return false;
  if (customer.email !== undefined && customer.phone === undefined && (p.email ?? '').toLowerCase() !== customer.email) return false;
  return true;
}

export function createContactResolver(options: CreateContactResolverOptions): ContactResolver {
  const { client, redis, keys, account, ttlS } = options;

  async function lookup(customer: Customer, signal: AbortSignal | undefined): Promise<ContactId | null> {
    const call = signal === undefined ? {} : { signal };
    if (customer.srcID !== undefined) {
      const found = await client.findBySourceId(customer.srcID, call);
      if (found[0]) return found[0].contactID;
    }
    for (const pii of [customer.phone, customer.email]) {
      if (pii === undefined) continue;
      const status = await client.loyaltyLookup(pii, call);
      if (status) return asContactId(status.contactID);
      // The lookup answers for members and opted-in users; search finds everyone else.
      const page = await client.listPersonas({ search: pii, limit: 100 }, call);
      const hit = (page.results ?? []).find((p) => matches(p, customer));
      if (hit) return hit.contactID;
    }
    return null;
  }

  return {
    async resolve(customer, opts = {}) {
      if (customer.contactID !== undefined) return asContactId(customer.contactID);
      const ids = cacheIds(customer);
      if (ids.length === 0) return null;
      const cached = await redis.get(keys.contact(account, ids[0]!));
      if (cached) return asContactId(cached);
      const found = await lookup(customer, opts.signal);
      if (found !== null) {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.set(keys.contact(account, id), found, 'EX', ttlS);
        await pipeline.exec();
      }
      return found;
    },
    async invalidate(customer) {
      const ids = cacheIds(customer);
      if (ids.length > 0) await redis.del(...ids.map((id) => keys.contact(account, id)));
    },
  };
}

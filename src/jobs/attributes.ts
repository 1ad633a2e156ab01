import { randomUUID } from 'node:crypto';
import type { CustomAttribute } from '../lib/aiq/types.ts';
import { attributesKey, customerIdentifier, stableHash } from '../lib/idempotency.ts';
import type { Keys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import { attributeUpdateSchema, type AttributeUpdate } from '../producers/schemas.ts';
import { resolveContact } from './contact-wait.ts';
import { BASE_JOB_OPTIONS, RetryLater, type HandlerContext, type JobModule, type Outcome } from './types.ts';

/** A version as a number (epoch ms for ISO dates), for comparison per contact. */
export function versionNumber(version: string | number | undefined): number | undefined {
  if (version === undefined) return undefined;
  return typeof version === 'number' ? version : Date.parse(version);
}

/** The hash that decides "unchanged": attributes and overrides, keys sorted. */
export function attributesHash(u: Pick<AttributeUpdate, 'attributes' | 'overrides'>): string {
  return stableHash({ a: u.attributes, o: u.overrides ?? null });
}

export interface SyncedState {
  hash: string | undefined;
  version: number | undefined;
}

/** What was last applied to a customer (shared with the backfill's change detection). */
export async function readSynced(redis: RedisClient, keys: Keys, account: string, identifier: string): Promise<SyncedState> {
  const [hash, version] = await redis.hmget(keys.attributes(account, identifier), 'hash', 'version');
  return { hash: hash ?? undefined, version: version === null || version === undefined ? undefined : Number(version) };
}

const LOCK_MS = 60_000;
const SYNCED_TTL_S = 180 * 86_400;

async function handleAttributes(u: AttributeUpdate, ctx: HandlerContext): Promise<Outcome> {
  const { redis, keys } = ctx;
  const account = ctx.account.name;
  const identifier = customerIdentifier(u.customer);
  const stateKey = keys.attributes(account, identifier);
  const lockKey = keys.attributesLock(account, identifier);
  const token = randomUUID();
  // One sync per customer at a time, so an older version can never land after a newer one.
  if ((await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    throw new RetryLater(Date.now() + 250 + Math.floor(Math.random() * 250), 'another sync of this customer is running');
  }
  try {
    const version = versionNumber(u.version);
    const hash = attributesHash(u);
    const synced = await readSynced(redis, keys, account, identifier);
    if (version !== undefined && synced.version !== undefined && version < synced.version) {
      return { kind: 'attributes.stale', detail: { version, applied: synced.version } };
    }
    if (synced.hash === hash) return { kind: 'attributes.unchanged', detail: { hash } };

    const contactID = await resolveContact(u.customer, ctx);
    const { client } = ctx.account;
    const items: CustomAttribute[] = Object.entries(u.attributes).map(([key, value]) => ({ key, value: value === null ? '' : String(value) }));
    if (items.length > 0) await client.upsertCustomAttributes(contactID, items, { signal: ctx.signal });
    if (u.overrides !== undefined && Object.keys(u.overrides).length > 0) {
      await client.writeOverride(contactID, u.overrides, { signal: ctx.signal });
    }
    const fields: string[] = ['hash', hash, 'contactID', contactID];
    if (version !== undefined) fields.push('version', String(Math.max(version, synced.version ?? version)));
    await redis.hset(stateKey, ...fields);
    await redis.expire(stateKey, SYNCED_TTL_S);
    return { kind: 'attributes.synced', contactID, fields: { contactID }, detail: { attributes: items.length, overrides: u.overrides !== undefined } };
  } finally {
    // Release only our own lock.
    await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, lockKey, token);
  }
}

export const attributesJob = {
  queue: 'attributes',
  lane: 'bulk',
  schema: attributeUpdateSchema,
  options: BASE_JOB_OPTIONS,
  keyOf: attributesKey,
  accountOf: (u) => u.account ?? 'default',
  handle: handleAttributes,
} satisfies JobModule<AttributeUpdate>;

import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { enqueueLines, parseLine, type EnqueueKind, type LineResult } from '../../src/cli/enqueue.ts';
import type { PayloadIssue } from '../../src/lib/errors.ts';
import { loadConfig } from '../../src/lib/config.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createIngress, type IngressApp } from '../../src/producers/ingress/index.ts';
import { createTestRedis, deletePrefix, testPrefix, testRedisUrl } from '../helpers/redis.ts';

/**
 * Any input, however hostile, gets a 2xx or a 4xx (never a 5xx, never a crash); an input that
 * is refused enqueues nothing and leaves no ledger entry; prototype keys are harmless; huge
 * numbers, huge strings and deep nesting are refused naming the field.
 */

const TOKEN = 'hostile-token-0123456789';
const GENERIC_SECRET = 'generic-secret-0123';
const SHOPIFY_SECRET = 'shopify-secret-4567';
const WOO_SECRET = 'woo-secret-89ab';
const RUNS = 120;

let app: App;
let ingress: IngressApp;
let prefix: string;
/** Idempotency keys the pipeline took (202 / queued / duplicate): the only ones allowed in Redis. */
const accepted = new Set<string>();
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  prefix = testPrefix();
  const config = loadConfig(
    {
      REDIS_URL: testRedisUrl(),
      SYNC_PREFIX: prefix,
      INGRESS_TOKENS: TOKEN,
      WEBHOOK_SECRET: GENERIC_SECRET,
      SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
      WOOCOMMERCE_WEBHOOK_SECRET: WOO_SECRET,
      LOG_LEVEL: 'silent',
    },
    { roles: ['ingress'] },
  );
  const logger = createLogger({ level: 'silent' });
  app = createApp({ config, logger });
  await app.start();
  ingress = createIngress({ producer: app.producer, redis: app.redis, config, logger });
  await ingress.ready();
});

afterAll(async () => {
  await ingress?.close();
  await app?.close();
  const redis = createTestRedis();
  await deletePrefix(redis, prefix);
  await redis.quit();
});

async function jobCount(): Promise<number> {
  let total = 0;
  for (const q of ['points', 'optin', 'attributes', 'contacts'] as const) {
    total += Object.values(await app.queues[q].getJobCounts()).reduce((a, b) => a + b, 0);
  }
  return total;
}

async function ledgerKeys(): Promise<string[]> {
  const redis = createTestRedis();
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:ledger:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys.map((k) => k.slice(`${prefix}:ledger:`.length)));
  } while (cursor !== '0');
  await redis.quit();
  return found.sort();
}

function assertPrototypeClean(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
}

interface Answer {
  status: number;
  body: unknown;
}

/** Posts `payload` and checks the invariants every answer must keep. Returns the answer. */
async function post(url: string, payload: string | Buffer, headers: Record<string, string>, allowed: readonly number[]): Promise<Answer> {
  const before = await jobCount();
  const res = await ingress.inject({ method: 'POST', url, headers, payload });
  const body: unknown = res.body === '' ? undefined : JSON.parse(res.body);
  if (res.statusCode === 202) {
    // Recorded first, so one wrong acceptance fails this check only, not every later one.
    const results = (body as { results?: Array<{ idempotencyKey: string }> }).results ?? [body as { idempotencyKey: string }];
    for (const r of results) accepted.add(r.idempotencyKey);
  }
  expect(res.statusCode, res.body.slice(0, 300)).toBeLessThan(500);
  expect(allowed, `${res.statusCode} ${res.body.slice(0, 300)}`).toContain(res.statusCode);
  if (res.statusCode !== 202) {
    expect(await jobCount(), 'a refused request enqueued something').toBe(before);
  }
  if (res.statusCode === 400) expect((body as { issues: PayloadIssue[] }).issues.length).toBeGreaterThan(0);
  assertPrototypeClean();
  return { status: res.statusCode, body };
}

/** Every key in Redis's ledger was accepted by an answer; every job belongs to an accepted key. */
async function assertNothingStrayed(): Promise<void> {
  expect(await ledgerKeys()).toEqual([...accepted].sort());
  expect(await jobCount()).toBe(accepted.size);
}

const issuesOf = (answer: Answer): PayloadIssue[] => (answer.body as { issues: PayloadIssue[] }).issues;

/** True when one of the issues names `field` (its path, a path under it, or a forbidden key under it). */
function namesField(issues: readonly PayloadIssue[], field: string): boolean {
  return issues.some((i) => i.path === field || i.path.startsWith(`${field}.`) || i.message.includes(`"${field}.`));
}

// ---- generators ------------------------------------------------------------------------------

const MILLION = 1_000_000;
const DEPTH = 50_000;

/**
 * Raw JSON texts that no field of the contract accepts: a 10^6-character string, numbers beyond
 * every limit (1e400 parses to Infinity), deep nesting, and prototype-polluting objects.
 */
const HOSTILE_VALUES: ReadonlyArray<[string, string]> = [
  ['a 10^6-character string', JSON.stringify('x'.repeat(MILLION))],
  ['a 10^6-character string of zero-width spaces', JSON.stringify('\u200b'.repeat(MILLION / 4))],
  ['1e400 (Infinity)', '1e400'],
  ['-1e400', '-1e400'],
  ['1.7976931348623157e308', '1.7976931348623157e308'],
  ['a 30-digit integer', '123456789012345678901234567890'],
  ['deeply nested arrays', `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`],
  ['deeply nested objects', `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`],
  ['a __proto__ object', '{"__proto__":{"polluted":true,"isAdmin":true}}'],
  ['a constructor.prototype object', '{"constructor":{"prototype":{"polluted":true}}}'],
];

const SENTINEL = '"@@HOSTILE@@"';

/** `base` as JSON with the value at `path` (dotted) replaced by the raw JSON `raw`. */
function withRaw(base: Record<string, unknown>, path: string, raw: string): string {
  const copy = structuredClone(base);
  const parts = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>;
  at[parts[parts.length - 1]!] = JSON.parse(SENTINEL);
  return JSON.stringify(copy).replace(SENTINEL, raw);
}

const sale = (id: string): Record<string, unknown> => ({
  source: 'treez',
  storeId: '12',
  transactionId: id,
  type: 'return',
  originalTransactionId: 'T-0',
  occurredAt: '2026-11-28T10:00:00Z',
  customer: { contactID: 'c-1', srcID: 's-1', phone: '4155550101', email: 'a@example.com' },
  total: 12.5,
  points: 12,
  account: 'default',
});
const POS_FIELDS = ['source', 'storeId', 'transactionId', 'type', 'originalTransactionId', 'occurredAt', 'customer', 'customer.contactID', 'customer.srcID', 'customer.phone', 'customer.email', 'total', 'points', 'account'];

const attributeUpdate = (): Record<string, unknown> => ({
  customer: { phone: '4155550101', email: 'a@example.com' },
  attributes: { tier: 'gold', visits: 3 },
  overrides: { firstName: 'Ada', email: 'ada@example.com', favoriteStoreID: 3 },
  version: '2026-11-28T10:00:00Z',
  account: 'default',
});
const ATTRIBUTE_FIELDS = ['customer', 'customer.phone', 'customer.email', 'attributes', 'attributes.tier', 'overrides', 'overrides.firstName', 'overrides.email', 'overrides.favoriteStoreID', 'version', 'account'];

const optIn = (): Record<string, unknown> => ({ eventId: 'evt-1', phone: '4155550101', email: 'a@example.com', doubleOpt: true, loyalty: true, source: 'web', account: 'default' });
const OPTIN_FIELDS = ['eventId', 'phone', 'email', 'doubleOpt', 'loyalty', 'source', 'account'];

/** Strings that go wrong in interesting ways, and arbitrary ones. */
const nastyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', 'a\u200bb', '\u202eevil', '__proto__', 'constructor', 'prototype', 'toString', 'x'.repeat(129), '4155550101', '(415) 555-0101', 'a@example.com', 'treez', 'sale', '2026-11-28T10:00:00Z'),
);
const nastyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e6, 1e6 + 1, -1e6 - 1, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, 0.1 + 0.2));
const nastyValue = fc.oneof(nastyString, nastyNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));

/** Transactions that are often nearly valid, so the 202 path is exercised too. */
const nearTransaction = fc.record(
  {
    source: fc.oneof(fc.constantFrom('treez', 'pos-1'), nastyString),
    storeId: fc.oneof(fc.constantFrom('12', '7'), nastyString),
    transactionId: fc.oneof(fc.stringMatching(/^T-[0-9]{1,6}$/), nastyString),
    type: fc.oneof(fc.constantFrom('sale', 'return', 'void'), nastyString),
    originalTransactionId: fc.oneof(fc.constant('T-0'), nastyString),
    occurredAt: fc.oneof(fc.constant('2026-11-28T10:00:00Z'), nastyString),
    customer: fc.oneof(fc.record({ phone: fc.oneof(fc.constant('4155550101'), nastyString), email: fc.oneof(fc.constant('a@example.com'), nastyString) }, { requiredKeys: [] }), nastyValue),
    total: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), nastyValue),
    points: fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), nastyValue),
    extra: nastyValue,
  },
  { requiredKeys: [] },
);

/** Anything JSON can carry, at the top level. */
const anyJson = fc.oneof(fc.jsonValue(), fc.anything().map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown), nearTransaction);

const bearer = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
const contentType = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json;charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'text/json'),
  fc.stringMatching(/^[a-z]{1,10}\/[a-z+.-]{1,12}$/),
);

function genericHeaders(raw: Buffer): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', GENERIC_SECRET).update(`${ts}.`).update(raw).digest('hex');
  return { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${sig}` };
}

const base64Hmac = (secret: string, raw: Buffer) => createHmac('sha256', secret).update(raw).digest('base64');

/** Shopify customers, often nearly valid. */
const shopifyCustomer = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      id: fc.integer(),
      email: fc.oneof(fc.constant('a@example.com'), nastyString),
      phone: fc.oneof(fc.constant('+14155550101'), nastyString),
      sms_marketing_consent: fc.oneof(
        fc.record({ state: fc.oneof(fc.constantFrom('subscribed', 'unsubscribed'), nastyString), opt_in_level: fc.oneof(fc.constantFrom('single_opt_in', 'confirmed_opt_in'), nastyString), phone: nastyString }, { requiredKeys: [] }),
        nastyValue,
      ),
      default_address: fc.oneof(fc.record({ phone: nastyString }), nastyValue),
    },
    { requiredKeys: [] },
  ),
);

const wooRecord = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      id: fc.integer(),
      email: fc.oneof(fc.constant('a@example.com'), nastyString),
      sms_opt_in: fc.oneof(fc.constantFrom('yes', '1', true, 'no'), nastyValue),
      billing: fc.oneof(fc.record({ phone: fc.oneof(fc.constant('415-555-0101'), nastyString), email: nastyString }, { requiredKeys: [] }), nastyValue),
      meta_data: fc.oneof(fc.array(fc.record({ key: fc.oneof(fc.constant('sms_opt_in'), nastyString), value: nastyValue })), nastyValue),
    },
    { requiredKeys: [] },
  ),
);

const topicOf = (valid: readonly string[]) => fc.oneof(fc.constantFrom(...valid), nastyString.filter((s) => /^[\x21-\x7e]*$/.test(s)));
const headerId = fc.oneof(fc.uuid(), nastyString.filter((s) => /^[\x21-\x7e]*$/.test(s)));

// ---- the HTTP routes ---------------------------------------------------------------------------

describe('hostile input at the HTTP ingress', () => {
  it('answers any POS body with 202 or 400, never 5xx, and enqueues only what it accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson, fc.array(nearTransaction, { maxLength: 5 }).map((transactions) => ({ transactions }))), async (body) => {
        await post('/v1/pos/transactions', JSON.stringify(body), bearer, [202, 400]);
      }),
      { numRuns: RUNS },
    );
    await assertNothingStrayed();
  });

  it('answers arbitrary bytes, content types, prototype keys and deep nesting on the POS route with 4xx', async () => {
    const texts = fc.oneof(
      fc.string(),
      fc.constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"transactions":[{"customer":{"__proto__":{"isAdmin":true}}}]}', `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`, `{"transactions":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`, '\ufeff{}', ''),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(texts.map((t) => Buffer.from(t)), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))), contentType, async (raw, type) => {
        const json = type === 'application/json' || type.startsWith('application/json;');
        await post('/v1/pos/transactions', raw, { ...bearer, 'content-type': type }, json ? [202, 400] : [400, 415]);
      }),
      { numRuns: RUNS },
    );
    await assertNothingStrayed();
  });

  it('refuses a hostile value in any field of a transaction or a batch with a 400 naming the field', async () => {
    let index = 0;
    for (const field of POS_FIELDS) {
      for (const [what, raw] of HOSTILE_VALUES) {
        const single = await post('/v1/pos/transactions', withRaw(sale('T-1'), field, raw), bearer, [400]);
        expect(namesField(issuesOf(single), field), `${field}: ${what}: ${JSON.stringify(single.body).slice(0, 300)}`).toBe(true);
        index = (index + 1) % 4;
        const batch = withRaw({ transactions: [sale('T-2'), sale('T-3'), sale('T-4'), sale('T-5')] }, `transactions.${index}.${field}`, raw);
        const res = await post('/v1/pos/transactions', batch, bearer, [400]);
        expect(namesField(issuesOf(res), `transactions.${index}.${field}`), `${field}: ${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(true);
      }
    }
    await assertNothingStrayed();
  });

  it('answers any attribute update with 202 or 400 and refuses hostile values naming the field', async () => {
    const nearUpdate = fc.record(
      {
        customer: fc.oneof(fc.constant({ phone: '4155550101' }), nastyValue),
        attributes: fc.oneof(fc.dictionary(nastyString, nastyValue, { maxKeys: 5 }), nastyValue),
        version: fc.oneof(fc.integer({ min: 0 }), nastyValue),
        overrides: fc.oneof(fc.record({ firstName: nastyString, birthday: nastyString }, { requiredKeys: [] }), nastyValue),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson, nearUpdate), async (body) => {
        await post('/v1/contacts/attributes', JSON.stringify(body), bearer, [202, 400]);
      }),
      { numRuns: RUNS },
    );
    for (const field of ATTRIBUTE_FIELDS) {
      for (const [what, raw] of HOSTILE_VALUES) {
        const res = await post('/v1/contacts/attributes', withRaw(attributeUpdate(), field, raw), bearer, [400]);
        expect(namesField(issuesOf(res), field), `${field}: ${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(true);
      }
    }
    // Prototype keys as attribute names: refused, never merged.
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const text = JSON.stringify(attributeUpdate()).replace('"tier"', JSON.stringify(name));
      const res = await post('/v1/contacts/attributes', text, bearer, [400]);
      expect(namesField(issuesOf(res), 'attributes')).toBe(true);
    }
    await assertNothingStrayed();
  });

  it('answers any correctly signed generic opt-in webhook with 202 or 400, never 401 or 5xx', async () => {
    const nearOptIn = fc.record(
      { eventId: fc.oneof(fc.stringMatching(/^e-[a-z0-9]{1,8}$/), nastyString), phone: fc.oneof(fc.constant('4155550101'), nastyString), email: nastyString, doubleOpt: nastyValue, loyalty: fc.oneof(fc.boolean(), nastyValue), source: fc.oneof(fc.constant('web'), nastyString) },
      { requiredKeys: [] },
    );
    const raws = fc.oneof(
      fc.oneof(anyJson, nearOptIn).map((v) => Buffer.from(JSON.stringify(v))),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc.constantFrom('{"__proto__":{"doubleOpt":true}}', `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`).map((t) => Buffer.from(t)),
    );
    await fc.assert(
      fc.asyncProperty(raws, async (raw) => {
        await post('/v1/webhooks/optin', raw, genericHeaders(raw), [202, 400]);
      }),
      { numRuns: RUNS },
    );
    for (const field of OPTIN_FIELDS) {
      for (const [what, rawValue] of HOSTILE_VALUES) {
        const raw = Buffer.from(withRaw(optIn(), field, rawValue));
        const res = await post('/v1/webhooks/optin', raw, genericHeaders(raw), [400]);
        expect(namesField(issuesOf(res), field), `${field}: ${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(true);
      }
    }
    await assertNothingStrayed();
  });

  it('answers any correctly signed Shopify delivery with 200, 202 or 400, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(shopifyCustomer, topicOf(['customers/create', 'customers/update']), headerId, async (customer, topic, id) => {
        const raw = Buffer.from(JSON.stringify(customer));
        const headers = { 'content-type': 'application/json', 'x-shopify-topic': topic, 'x-shopify-webhook-id': id, 'x-shopify-hmac-sha256': base64Hmac(SHOPIFY_SECRET, raw) };
        await post('/v1/webhooks/shopify', raw, headers, [200, 202, 400]);
      }),
      { numRuns: RUNS },
    );
    await assertNothingStrayed();
  });

  it('answers any correctly signed WooCommerce delivery with 200, 202 or 400, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(wooRecord, topicOf(['customer.created', 'customer.updated', 'order.created']), headerId, async (record, topic, id) => {
        const raw = Buffer.from(JSON.stringify(record));
        const headers = { 'content-type': 'application/json', 'x-wc-webhook-topic': topic, 'x-wc-webhook-delivery-id': id, 'x-wc-webhook-signature': base64Hmac(WOO_SECRET, raw) };
        await post('/v1/webhooks/woocommerce', raw, headers, [200, 202, 400]);
      }),
      { numRuns: RUNS },
    );
    await assertNothingStrayed();
  });
});

// ---- aiq-sync enqueue ----------------------------------------------------------------------------

const KINDS: ReadonlyArray<[EnqueueKind, () => Record<string, unknown>, readonly string[]]> = [
  ['pos', () => sale('T-9'), POS_FIELDS],
  ['optin', optIn, OPTIN_FIELDS],
  ['attributes', attributeUpdate, ATTRIBUTE_FIELDS],
];

async function* linesOf(lines: readonly string[]): AsyncGenerator<string> {
  for (const l of lines) yield l;
}

describe('hostile input to aiq-sync enqueue', () => {
  it('parses any line without throwing, and refuses hostile values naming the field', () => {
    for (const [kind, base, fields] of KINDS) {
      fc.assert(
        fc.property(fc.oneof(fc.string(), anyJson.map((v) => JSON.stringify(v))), (text) => {
          const r = parseLine(kind, text);
          if (!r.ok) expect(r.issues.length).toBeGreaterThan(0);
          assertPrototypeClean();
        }),
        { numRuns: RUNS },
      );
      for (const field of fields) {
        for (const [what, raw] of HOSTILE_VALUES) {
          const r = parseLine(kind, withRaw(base(), field, raw));
          expect(r.ok, `${kind}.${field}: ${what}`).toBe(false);
          if (!r.ok) expect(namesField(r.issues, field), `${kind}.${field}: ${what}: ${JSON.stringify(r.issues).slice(0, 300)}`).toBe(true);
        }
      }
    }
    // A prototype key where a map is taken is a refusal naming it, not a silently dropped attribute.
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const r = parseLine('attributes', JSON.stringify(attributeUpdate()).replace('"tier"', JSON.stringify(name)));
      expect(r).toEqual({ ok: false, error: 'invalid_request', issues: [{ path: `attributes.${name}`, message: 'reserved attribute name' }] });
    }
    assertPrototypeClean();
  });

  it('answers every line in order and enqueues exactly the lines it reports queued', async () => {
    const validLine: Record<EnqueueKind, fc.Arbitrary<string>> = {
      pos: fc.stringMatching(/^[A-Z0-9]{1,10}$/).map((id) => JSON.stringify({ ...sale(`L-${id}`), type: 'sale', originalTransactionId: undefined, account: undefined })),
      optin: fc.stringMatching(/^[a-z0-9]{1,10}$/).map((id) => JSON.stringify({ ...optIn(), eventId: `line-${id}` })),
      attributes: fc.integer({ min: 0, max: 1e9 }).map((v) => JSON.stringify({ ...attributeUpdate(), version: v })),
    };
    for (const [kind] of KINDS) {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(validLine[kind], fc.string(), anyJson.map((v) => JSON.stringify(v))), { maxLength: 12 }), async (lines) => {
          const before = await jobCount();
          const out: LineResult[] = [];
          const counts = await enqueueLines(kind, linesOf(lines), app.producer, (r) => out.push(r));
          const nonEmpty = lines.map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim() !== '');
          expect(out.map((r) => r.line)).toEqual(nonEmpty.map(([, n]) => n));
          expect(counts.queued + counts.duplicate + counts.rejected).toBe(nonEmpty.length);
          for (const r of out) if ('idempotencyKey' in r) accepted.add(r.idempotencyKey);
          expect(await jobCount()).toBe(before + counts.queued);
          assertPrototypeClean();
        }),
        { numRuns: 40 },
      );
    }
    await assertNothingStrayed();
  });
});

import { z } from 'zod';
import { normalizeEmail, normalizePhone } from '../lib/normalize.ts';
import type { PayloadIssue } from '../lib/errors.ts';

/**
 * The contract's input shapes (design.md, "HTTP ingress"), shared by the HTTP routes, the
 * `aiq-sync enqueue` command and the job payloads. Unknown keys are refused, so a typo is an
 * error rather than a silently ignored field.
 */

// Control characters, zero-width characters and bidirectional controls.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** A non-empty printable identifier of at most 128 characters. */
export const identifier = z
  .string({ error: 'expected a string' })
  .min(1, 'must not be empty')
  .max(128, 'at most 128 characters')
  .refine((v) => !FORBIDDEN_CHARS.test(v), 'control, zero-width and bidirectional characters are not allowed')
  .refine((v) => v.trim().length > 0, 'must not be blank');

export const sourceName = z.string({ error: 'expected a string' }).regex(/^[a-z0-9_-]{1,32}$/, 'expected 1 to 32 of a-z, 0-9, _ and -');

export const accountName = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'expected an account name (a-z, 0-9, _ and -)');

export const phone = z
  .string({ error: 'expected a string' })
  .max(64, 'at most 64 characters')
  .transform((v, ctx) => {
    const n = normalizePhone(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: 'expected a 10-digit US phone number' });
      return z.NEVER;
    }
    return n;
  });

export const email = z
  .string({ error: 'expected a string' })
  .max(254, 'at most 254 characters')
  .transform((v, ctx) => {
    const n = normalizeEmail(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: 'expected an email address' });
      return z.NEVER;
    }
    return n;
  });

const isoDateTime = z.iso.datetime({ offset: true, error: 'expected an ISO-8601 date-time such as 2026-11-28T10:00:00Z' });

export const customerSchema = z
  .strictObject({
    contactID: identifier.optional(),
    srcID: identifier.optional(),
    phone: phone.optional(),
    email: email.optional(),
  })
  .refine((c) => c.contactID !== undefined || c.srcID !== undefined || c.phone !== undefined || c.email !== undefined, {
    message: 'at least one of contactID, srcID, phone, email is required',
  });
export type Customer = z.infer<typeof customerSchema>;

const money = z
  .number({ error: 'expected a number' })
  .refine(Number.isFinite, 'must be finite')
  .min(0, 'must be at least 0')
  .max(1_000_000, 'at most 1,000,000');
const points = z
  .number({ error: 'expected a number' })
  .int('expected a whole number')
  .min(-1_000_000, 'at least -1,000,000')
  .max(1_000_000, 'at most 1,000,000');

export const posTransactionSchema = z
  .strictObject({
    source: sourceName,
    storeId: identifier,
    transactionId: identifier,
    type: z.enum(['sale', 'return', 'void'], { error: 'expected sale, return or void' }).default('sale'),
    originalTransactionId: identifier.optional(),
    occurredAt: isoDateTime,
    customer: customerSchema,
    total: money.optional(),
    points: points.optional(),
    account: accountName.optional(),
  })
  .superRefine((t, ctx) => {
    if (t.type !== 'sale' && t.originalTransactionId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['originalTransactionId'], message: `required for a ${t.type}` });
    }
    if (t.type !== 'void' && t.total === undefined && t.points === undefined) {
      ctx.addIssue({ code: 'custom', path: ['total'], message: `required for a ${t.type} (or give points)` });
    }
  });
export type PosTransaction = z.infer<typeof posTransactionSchema>;

export const POS_BATCH_MAX = 500;

/** One transaction, or `{transactions: [...]}` with 1 to 500. A bare array is refused. */
export const posBodySchema = z.union(
  [
    z.strictObject({
      transactions: z
        .array(z.unknown(), { error: 'expected an array' })
        .min(1, 'at least 1 transaction')
        .max(POS_BATCH_MAX, `at most ${POS_BATCH_MAX} transactions`),
    }),
    z.looseObject({ transactionId: z.unknown() }),
  ],
  { error: 'expected a transaction object or {"transactions": [...]}' },
);

/** The generic signed opt-in webhook's body, and the `aiq-sync enqueue optin` line. */
export const optInSchema = z.strictObject({
  eventId: identifier,
  phone,
  email: email.optional(),
  doubleOpt: z.boolean({ error: 'expected true or false' }).default(false),
  loyalty: z.boolean({ error: 'expected true or false' }).default(true),
  source: sourceName,
  account: accountName.optional(),
});
export type OptInRequest = z.infer<typeof optInSchema>;

const attributeKey = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'at most 64 characters')
  .regex(/^[A-Za-z0-9_. -]+$/, 'letters, digits, space, _, . and - only');
// A number beyond 2^53 would reach AIQ with its digits changed (String(1e21 + 1) is "1e+21").
const attributeNumber = z
  .number()
  .refine(Number.isFinite, 'must be finite')
  .refine((v) => Math.abs(v) <= Number.MAX_SAFE_INTEGER, 'at most 2^53 - 1 in size: send a larger number as a string');
const attributeValue = z.union([z.string().max(1024, 'at most 1,024 characters'), attributeNumber, z.boolean(), z.null()], {
  error: 'expected a string, number, boolean or null',
});

const forbiddenKey = (k: string) => k === '__proto__' || k === 'constructor' || k === 'prototype';

/**
 * Reserved names are checked on the input's own keys, before the record is parsed: zod's record
 * skips a `__proto__` key silently (JSON.parse makes it an own property), so a check of the
 * parsed map could never see it.
 */
function refuseReservedKeys(value: unknown, ctx: z.RefinementCtx): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const key of Object.keys(value)) {
    if (forbiddenKey(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'reserved attribute name' });
  }
}

export const attributesMapSchema = z
  .unknown()
  .superRefine(refuseReservedKeys)
  .pipe(z.record(attributeKey, attributeValue).refine((m) => Object.keys(m).length <= 200, 'at most 200 attributes'));

export const overridesSchema = z.strictObject({
  firstName: z.string().max(128).optional(),
  lastName: z.string().max(128).optional(),
  email: email.optional(),
  mobilePhone: phone.optional(),
  birthday: z.iso.date({ error: 'expected a date such as 1990-04-20' }).optional(),
  address: z.string().max(512).optional(),
  favoriteStoreID: z.number().int().nonnegative().optional(),
});

/**
 * A version: the source's updated-at (ISO-8601) or a number; compared per contact. A number is
 * at most 2^53 - 1: beyond it versions cannot be told apart, and one huge version would make
 * every later update of the contact stale for good.
 */
export const versionSchema = z.union([isoDateTime, z.number().refine(Number.isFinite, 'must be finite').min(0).max(Number.MAX_SAFE_INTEGER, 'at most 9007199254740991 (2^53 - 1)')], {
  error: 'expected an ISO-8601 date-time or a number',
});

export const attributeUpdateSchema = z.strictObject({
  customer: customerSchema,
  attributes: attributesMapSchema,
  overrides: overridesSchema.optional(),
  version: versionSchema.optional(),
  account: accountName.optional(),
});
export type AttributeUpdate = z.infer<typeof attributeUpdateSchema>;

/** Contact creation (`contacts` queue). */
export const newContactSchema = z.strictObject({
  customer: customerSchema,
  firstName: z.string().max(128).optional(),
  lastName: z.string().max(128).optional(),
  favoriteStoreID: z.number().int().nonnegative().optional(),
  loyalty: z.boolean().default(true),
  smsOptIn: z.boolean().default(false),
  source: sourceName,
  account: accountName.optional(),
});
export type NewContactRequest = z.infer<typeof newContactSchema>;

/** zod issues → the contract's `[{path, message}]`, paths like `transactions.3.customer.phone`. */
export function toPayloadIssues(error: z.ZodError, prefix: ReadonlyArray<string | number> = []): PayloadIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.'),
    message: issue.message,
  }));
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: PayloadIssue[] };

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, prefix: ReadonlyArray<string | number> = []): ParseResult<z.infer<S>> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: toPayloadIssues(parsed.error, prefix) };
  const value: unknown = parsed.data;
  if (value !== null && typeof value === 'object') parsedBy.set(value, schema);
  return { ok: true, value: parsed.data };
}

/**
 * The schema each object came out of (zod returns new objects), so that the producer, which
 * re-validates what it is given, need not parse the ingress's own output a second time.
 */
const parsedBy = new WeakMap<object, z.ZodType>();

/** True when `value` is the output of `parseWith(schema, …)`, not merely an object like it. */
export function isOutputOf(schema: z.ZodType, value: unknown): boolean {
  return value !== null && typeof value === 'object' && parsedBy.get(value) === schema;
}

/** A POS request body: every transaction is valid, or none is taken (all-or-nothing). */
export function parsePosBody(input: unknown): ParseResult<PosTransaction[]> {
  if (Array.isArray(input)) return { ok: false, issues: [{ path: '', message: 'expected an object: a transaction or {"transactions": [...]}, not an array' }] };
  // An object without `transactions` is one transaction (the union's second branch takes any
  // such object): checked directly, without the union's failing first branch.
  let list: unknown[] = [input];
  let prefix: string[] = [];
  if (input === null || typeof input !== 'object' || Object.hasOwn(input, 'transactions')) {
    const body = parseWith(posBodySchema, input);
    if (!body.ok) return body;
    if ('transactions' in body.value && Array.isArray(body.value.transactions)) {
      list = body.value.transactions;
      prefix = ['transactions'];
    }
  }
  const out: PosTransaction[] = [];
  const issues: PayloadIssue[] = [];
  list.forEach((item, i) => {
    const r = parseWith(posTransactionSchema, item, prefix.length > 0 ? [...prefix, i] : []);
    if (r.ok) out.push(r.value);
    else issues.push(...r.issues);
  });
  const seen = new Set<string>();
  out.forEach((t, i) => {
    const id = `${t.source}|${t.storeId}|${t.transactionId}|${t.type}`;
    if (seen.has(id)) issues.push({ path: [...prefix, i, 'transactionId'].join('.'), message: 'appears twice in this batch' });
    seen.add(id);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

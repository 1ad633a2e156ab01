import { z } from 'zod';
import {
  asContactId,
  type Adjustment,
  type ContactId,
  type CustomAttribute,
  type LoyaltyStatus,
  type OrderItem,
  type Persona,
  type PointsTimeline,
  type PredictedProduct,
  type TimelineEvent,
} from './types.ts';

/**
 * Response schemas of the Personas API. AIQ publishes none, so these follow aiq-api.md and
 * stay lenient where it is unsure: objects keep unknown fields (z.looseObject), optional fields
 * may be missing or null, and only what the client relies on is required.
 */

/**
 * The envelope in its three seen shapes: `{success, data}`, `{success, code, data}` and the old
 * `{data}`. Error details come as `message` or `errors: [{message}]`.
 */
export const envelopeSchema = z
  .looseObject({
    success: z.boolean().optional(),
    code: z.union([z.number(), z.string()]).nullish(),
    data: z.unknown().optional(),
    message: z.string().nullish(),
    errors: z.array(z.looseObject({ message: z.string().nullish() })).nullish(),
  })
  .refine((e) => 'success' in e || 'data' in e, { message: 'neither success nor data' });

export type Envelope = z.infer<typeof envelopeSchema>;

export type EnvelopeResult = { kind: 'ok'; data: unknown } | { kind: 'refused'; message: string } | { kind: 'invalid'; message: string };

/** Reads a parsed JSON body as an envelope. `success: false` is a refusal even on HTTP 200. */
export function readEnvelope(body: unknown): EnvelopeResult {
  const parsed = envelopeSchema.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', message: z.prettifyError(parsed.error) };
  const envelope = parsed.data;
  if (envelope.success === false) return { kind: 'refused', message: aiqMessage(envelope) ?? 'success: false' };
  // A missing data (e.g. `{success: true}` answering a write) reads as null.
  return { kind: 'ok', data: envelope.data ?? null };
}

/** AIQ's own error message from any body (`errors[].message` first, then `message`). */
export function aiqMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { errors, message } = body as { errors?: unknown; message?: unknown };
  if (Array.isArray(errors)) {
    const messages = errors
      .map((e: unknown) => (e !== null && typeof e === 'object' ? (e as { message?: unknown }).message : e))
      .filter((m): m is string => typeof m === 'string' && m.length > 0);
    if (messages.length > 0) return messages.join('; ');
  }
  return typeof message === 'string' && message.length > 0 ? message : undefined;
}

const contactId = z
  .string()
  .min(1)
  .transform((s): ContactId => asContactId(s));
const nullableString = z.string().nullish();
const nullableNumber = z.number().nullish();
const nullableBoolean = z.boolean().nullish();
/** Identifiers sometimes arrive as numbers; the client compares them as strings. */
const idString = z.union([z.string(), z.number().transform(String)]);

export const personaSchema = z
  .looseObject({
    contactID: contactId,
    srcID: idString.nullish(),
    firstName: nullableString,
    lastName: nullableString,
    mobilePhone: nullableString,
    homePhone: nullableString,
    email: nullableString,
    platform: nullableString,
    favoriteStoreID: nullableNumber,
    inserted: nullableNumber,
    optinTime: nullableNumber,
    optoutTime: nullableNumber,
    optreqTime: nullableNumber,
    hasRequested: nullableBoolean,
    loyalty: nullableBoolean,
    loyaltyPoints: nullableNumber,
    loyaltySignupTS: nullableNumber,
    emailOptInTime: nullableNumber,
    spent: nullableNumber,
  })
  .transform((p) => p as Persona);

/** `data` of list personas; `data: null` or `results: null` means nothing (more) found. */
export const personaPageDataSchema = z
  .looseObject({
    results: z.array(personaSchema).nullish(),
    start: z.number().optional(),
    limit: z.number().optional(),
    size: z.number().optional(),
    total: z.number().optional(),
  })
  .nullable();

export const createdContactSchema = z.looseObject({ contactID: contactId });

export const overrideDataSchema = z.record(z.string(), z.unknown()).nullable();

export const loyaltyStatusSchema = z
  .looseObject({
    contactID: contactId,
    loyalty: z.boolean(),
    smsOptIn: z.boolean(),
    emailOptIn: z.boolean(),
    loyaltyPoints: z.number(),
  })
  .transform((s) => s as LoyaltyStatus)
  .nullable();

const adjustmentSchema = z
  .looseObject({
    cntID: idString,
    value: z.number(),
    note: nullableString.transform((n) => n ?? ''),
    ts: z.number(),
    phone: nullableString,
    email: nullableString,
    name: nullableString,
  })
  .transform((a) => a as Adjustment);

/** `data: null` is "no adjustments in the range". */
export const adjustmentsDataSchema = z
  .array(adjustmentSchema)
  .nullable()
  .transform((a) => a ?? []);

const customAttributeSchema = z
  .looseObject({
    key: z.string(),
    value: z.union([z.string(), z.number().transform(String), z.boolean().transform(String)]),
    parent: z.string().optional(),
    ts: z.number().optional(),
  })
  .transform((a): CustomAttribute => {
    const item: CustomAttribute = { key: a.key, value: a.value };
    if (a.parent !== undefined) item.parent = a.parent;
    if (a.ts !== undefined) item.ts = a.ts;
    return item;
  });

export const customAttributesDataSchema = z
  .array(customAttributeSchema)
  .nullable()
  .transform((a) => a ?? []);

const orderItemSchema = z
  .looseObject({
    name: z.string(),
    brand: nullableString,
    quantity: z.number(),
    totalPrice: z.number(),
    timestamp: z.number(),
    storeName: nullableString,
  })
  .transform((o) => o as OrderItem);

export const ordersDataSchema = z
  .array(orderItemSchema)
  .nullable()
  .transform((a) => a ?? []);

const timelineEventSchema = z
  .looseObject({
    ts: z.number(),
    type: z.string(),
    value: z.number(),
    balance: z.number(),
    note: nullableString,
  })
  .transform((e) => e as TimelineEvent);

/** `data: null` reads as an empty timeline of the asked contact. */
export function timelineDataSchema(contactID: string) {
  return z
    .looseObject({ contactID: idString, events: z.array(timelineEventSchema).nullish() })
    .nullable()
    .transform((t): PointsTimeline => ({ ...t, contactID: t?.contactID ?? contactID, events: t?.events ?? [] }));
}

const predictedProductSchema = z
  .looseObject({
    productID: idString,
    name: z.string(),
    brand: nullableString,
    category: nullableString,
    score: z.number(),
  })
  .transform((p) => p as PredictedProduct);

export const recommendationsDataSchema = z
  .array(predictedProductSchema)
  .nullable()
  .transform((a) => a ?? []);

/** Any `data` at all (writes whose answer the client does not use). */
export const ignoredDataSchema = z.unknown();

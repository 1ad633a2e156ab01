import { z } from 'zod';
import { badRequest } from './errors.ts';

/** Parses a request body with a zod schema; SIM_BAD_REQUEST naming every problem otherwise. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`);
  throw badRequest(`invalid body: ${issues.join('; ')}`);
}

const text = (max: number) => z.string().max(max).nullable().optional();

export const customAttributeItem = z.object({
  key: z.string().min(1).max(128),
  value: z.union([z.string().max(4096), z.number(), z.boolean()]).transform(String),
  parent: z.string().max(128).optional(),
});
export type CustomAttributeInput = z.output<typeof customAttributeItem>;

/** The body of 11: the array itself, or `{customAttributes: [...]}`. */
export const customAttributesBody = z.union([
  z.array(customAttributeItem).max(500),
  z.object({ customAttributes: z.array(customAttributeItem).max(500) }).transform((b) => b.customAttributes),
]);

/** The body of `POST /api/v2/loyalty` (3). */
export const newContactBody = z.looseObject({
  mobilePhone: text(64),
  email: text(254),
  firstName: text(100),
  lastName: text(100),
  favoriteStore: text(200),
  favoriteStoreID: z.number().int().nullable().optional(),
  address: text(500),
  birthday: text(32),
  loyalty: z.boolean().optional(),
  smsoptin: z.boolean().optional(),
  emailOptIn: z.boolean().optional(),
  customAttributes: z.array(customAttributeItem).max(500).optional(),
});
export type NewContactInput = z.output<typeof newContactBody>;

/** The body of 4: a partial persona, any keys. */
export const overrideBody = z.record(z.string().min(1).max(128), z.unknown());

/** The body of 8. `value` is a signed integer delta. */
export const adjustPointsBody = z.object({
  value: z.number().int().min(-1_000_000_000).max(1_000_000_000),
  note: z.string().max(1000).optional(),
});

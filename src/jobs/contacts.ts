import { contactKey } from '../lib/idempotency.ts';
import type { NewContact } from '../lib/aiq/types.ts';
import { PayloadInvalidError } from '../lib/errors.ts';
import { newContactSchema, type NewContactRequest } from '../producers/schemas.ts';
import { applyOnce } from './apply-once.ts';
import { BASE_JOB_OPTIONS, type HandlerContext, type JobModule, type Outcome } from './types.ts';

function toNewContact(c: NewContactRequest): NewContact {
  return {
    ...(c.customer.phone === undefined ? {} : { mobilePhone: c.customer.phone }),
    ...(c.customer.email === undefined ? {} : { email: c.customer.email }),
    ...(c.firstName === undefined ? {} : { firstName: c.firstName }),
    ...(c.lastName === undefined ? {} : { lastName: c.lastName }),
    ...(c.favoriteStoreID === undefined ? {} : { favoriteStoreID: c.favoriteStoreID }),
    loyalty: c.loyalty,
    smsoptin: c.smsOptIn,
  };
}

/** Creating a contact may text the customer: look first, create once per key, reconcile by looking again. */
async function handleContact(c: NewContactRequest, ctx: HandlerContext): Promise<Outcome> {
  if (c.customer.phone === undefined && c.customer.email === undefined) {
    throw new PayloadInvalidError([{ path: 'customer', message: 'a phone or an email is needed to create a contact' }]);
  }
  const { client, resolver } = ctx.account;
  const existing = await resolver.resolve(c.customer, { signal: ctx.signal });
  if (existing !== null) return { kind: 'contact.existing', contactID: existing, fields: { contactID: existing } };

  let created: string | null = null;
  const result = await applyOnce(ctx, {
    reconcile: async () => {
      await resolver.invalidate(c.customer);
      created = await resolver.resolve(c.customer, { signal: ctx.signal });
      return created !== null;
    },
    call: async () => {
      created = (await client.createContact(toNewContact(c), { signal: ctx.signal })).contactID;
    },
  });
  const contactID = created ?? '';
  return { kind: 'contact.created', contactID, fields: { contactID }, detail: { reconciled: result === 'reconciled' } };
}

export const contactsJob = {
  queue: 'contacts',
  lane: 'realtime',
  schema: newContactSchema,
  options: BASE_JOB_OPTIONS,
  keyOf: contactKey,
  accountOf: (c) => c.account ?? 'default',
  handle: handleContact,
} satisfies JobModule<NewContactRequest>;

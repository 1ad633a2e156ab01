import type { Persona } from '../lib/aiq/types.ts';
import { ContactNotFoundError } from '../lib/errors.ts';
import { optInKey } from '../lib/idempotency.ts';
import { optInSchema, type OptInRequest } from '../producers/schemas.ts';
import { applyOnce } from './apply-once.ts';
import { resolveContact } from './contact-wait.ts';
import { BASE_JOB_OPTIONS, type HandlerContext, type JobModule, type Outcome } from './types.ts';

/** An explicit opt-out is sticky: AIQ never re-opts the number in, and neither do we. */
export function hasOptedOut(p: Persona): boolean {
  const out = p.optoutTime ?? 0;
  return out > 0 && out >= (p.optinTime ?? 0);
}

export function isOptedIn(p: Persona): boolean {
  return (p.optinTime ?? 0) > 0 && !hasOptedOut(p);
}

async function handleOptIn(o: OptInRequest, ctx: HandlerContext): Promise<Outcome> {
  const { client } = ctx.account;
  const call = { signal: ctx.signal };
  const contactID = await resolveContact({ phone: o.phone, ...(o.email === undefined ? {} : { email: o.email }) }, ctx, o.source);
  const persona = await client.getPersona(contactID, call);
  if (persona === null) throw new ContactNotFoundError(`contact ${contactID} is gone from AIQ`);
  const base = { contactID, fields: { contactID } };

  if (hasOptedOut(persona)) {
    return { ...base, kind: 'optin.refused', detail: { reason: 'explicit_opt_out', optoutTime: persona.optoutTime } };
  }
  if (isOptedIn(persona)) return { ...base, kind: 'optin.applied', detail: { already: true } };

  // AIQ skips the double opt-in flow when loyalty is false: that call is a plain force-set.
  const double = o.doubleOpt && o.loyalty;
  if (!double) {
    await client.optIn(o.phone, { doubleOpt: false, loyalty: o.loyalty }, call);
    return { ...base, kind: 'optin.applied', detail: { doubleOpt: false } };
  }
  if (persona.hasRequested) return { ...base, kind: 'optin.requested', detail: { already: true } };

  // A repeated double opt-in may text the customer twice: once per key, reconciled by reading
  // the contact's requested state.
  const result = await applyOnce(ctx, {
    reconcile: async (firstAttemptAt) => {
      const now = await client.getPersona(contactID, call);
      if (now === null) return false;
      const requestedAfter = (now.optreqTime ?? 0) >= Math.floor(firstAttemptAt / 1000) - 300;
      return Boolean(now.hasRequested) || requestedAfter || isOptedIn(now) || hasOptedOut(now);
    },
    call: () => client.optIn(o.phone, { doubleOpt: true, loyalty: true }, call),
  });
  return { ...base, kind: 'optin.requested', detail: { doubleOpt: true, reconciled: result === 'reconciled' } };
}

export const optInJob = {
  queue: 'optin',
  lane: 'realtime',
  schema: optInSchema,
  options: BASE_JOB_OPTIONS,
  keyOf: optInKey,
  accountOf: (o) => o.account ?? 'default',
  handle: handleOptIn,
} satisfies JobModule<OptInRequest>;

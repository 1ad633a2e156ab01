import type { CustomAttribute, Persona } from '../lib/aiq/types.ts';
import type { CustomAttributeInput, NewContactInput } from './bodies.ts';
import { applyOptIn } from './consent.ts';
import { badRequest, notFound } from './errors.ts';
import type { NewPersonaFields } from './types.ts';
import { newPersona, newRecord, parseEmail, parsePhone, toSeconds, type AccountState, type PersonaRecord } from './state.ts';

/** Fields an override never changes on the persona: AIQ computes them. */
const COMPUTED = new Set([
  'contactID', 'loyaltyPoints', 'usedPoints', 'optinTime', 'optoutTime', 'optreqTime', 'hasRequested',
  'inserted', 'loyalty', 'loyaltySignupTS', 'lastTouch', 'referCode', 'referLink', 'spent',
]);

/** A persona added by a test (control `addPersona`). */
export function addPersona(state: AccountState, fields: NewPersonaFields, nowMs: number): PersonaRecord {
  const { blocklisted, optedOut, ...rest } = fields;
  const now = toSeconds(nowMs);
  const persona = newPersona(rest.contactID ?? state.newContactId(), now, state.rng, rest);
  if (typeof rest.mobilePhone === 'string') persona.mobilePhone = parsePhone(rest.mobilePhone);
  if (typeof rest.homePhone === 'string') persona.homePhone = parsePhone(rest.homePhone, 'homePhone');
  if (typeof rest.email === 'string') persona.email = parseEmail(rest.email);
  if (optedOut === true) {
    persona.optoutTime = rest.optoutTime ?? now;
    persona.optinTime = null;
    persona.hasRequested = false;
  }
  const rec = newRecord(persona);
  rec.blocklisted = blocklisted === true;
  const points = persona.loyaltyPoints ?? 0;
  if (points !== 0) rec.timeline.push({ ts: now, type: 'import', value: points, balance: points, note: 'opening balance' });
  state.insert(rec);
  return rec;
}

/**
 * `POST /api/v2/loyalty`. A phone or email that already belongs to a contact updates that
 * contact (AIQ merges by phone, then email) and answers its ID; the sign-up rules still run, so a
 * repeat may send a second confirmation text, as AIQ's does.
 */
export function createContact(state: AccountState, body: NewContactInput, nowMs: number): { rec: PersonaRecord; created: boolean } {
  const phone = body.mobilePhone == null || body.mobilePhone === '' ? undefined : parsePhone(body.mobilePhone);
  const email = body.email == null || body.email === '' ? undefined : parseEmail(body.email);
  if (phone === undefined && email === undefined) throw badRequest('mobilePhone or email is required');
  const now = toSeconds(nowMs);
  let rec = (phone === undefined ? undefined : state.byMobile(phone)) ?? (email === undefined ? undefined : state.byMail(email));
  const created = rec === undefined;
  const given: Partial<Persona> = {};
  for (const key of ['firstName', 'lastName', 'favoriteStoreID', 'favoriteStore', 'address', 'birthday'] as const) {
    if (body[key] != null) Object.assign(given, { [key]: body[key] });
  }
  if (!rec) {
    rec = newRecord(newPersona(state.newContactId(), now, state.rng, { ...given, mobilePhone: phone ?? null, email: email ?? null }));
    state.insert(rec);
  } else {
    const fill: Partial<Persona> = { lastTouch: now };
    for (const [key, value] of Object.entries(given)) if (rec.persona[key] == null) fill[key] = value;
    if (phone !== undefined && rec.persona.mobilePhone == null && !state.byMobile(phone)) fill.mobilePhone = phone;
    if (email !== undefined && rec.persona.email == null && !state.byMail(email)) fill.email = email;
    state.update(rec, fill);
  }
  if (body.loyalty === true && rec.persona.loyalty !== true) state.update(rec, { loyalty: true, loyaltySignupTS: now });
  if (phone !== undefined && rec.persona.mobilePhone === phone) {
    if (body.smsoptin === true) applyOptIn(state, rec, { doubleOpt: false, loyalty: true }, nowMs);
    else if (body.loyalty === true) applyOptIn(state, rec, { doubleOpt: true, loyalty: true }, nowMs);
  }
  if (body.emailOptIn === true && rec.persona.email != null && rec.persona.emailOptInTime == null) {
    state.update(rec, { emailOptInTime: now });
  }
  if (body.customAttributes) upsertAttributes(rec, body.customAttributes, nowMs);
  return { rec, created };
}

/**
 * Override write (4): merged key by key into the stored override and applied to the persona,
 * except fields AIQ computes. A phone or email is normalised; one taken by another contact is a 409.
 */
export function writeOverride(state: AccountState, rec: PersonaRecord, fields: Record<string, unknown>): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (COMPUTED.has(key)) continue;
    if ((key === 'mobilePhone' || key === 'homePhone') && value !== null) changes[key] = parsePhone(value, key);
    else if (key === 'email' && value !== null) changes[key] = parseEmail(value);
    else if (key === 'favoriteStoreID' && value !== null && !Number.isInteger(value)) throw badRequest('favoriteStoreID must be an integer');
    else changes[key] = value;
  }
  state.update(rec, changes);
  rec.override = { ...(rec.override ?? {}), ...fields, ...changes };
  return rec.override;
}

function toItem(input: CustomAttributeInput, ts: number): CustomAttribute {
  return { key: input.key, value: input.value, parent: input.parent ?? '', ts };
}

/** POST: upsert by key (the last of equal keys wins). */
export function upsertAttributes(rec: PersonaRecord, items: readonly CustomAttributeInput[], nowMs: number): CustomAttribute[] {
  const ts = toSeconds(nowMs);
  const byKey = new Map(rec.attributes.map((a) => [a.key, a]));
  for (const item of items) byKey.set(item.key, toItem(item, ts));
  rec.attributes = [...byKey.values()];
  return rec.attributes;
}

/** PUT: replaces the whole set. */
export function replaceAttributes(rec: PersonaRecord, items: readonly CustomAttributeInput[], nowMs: number): CustomAttribute[] {
  rec.attributes = [];
  return upsertAttributes(rec, items, nowMs);
}

const FILLED_BY_MERGE = ['firstName', 'lastName', 'srcID', 'platform', 'favoriteStoreID', 'mobilePhone', 'homePhone', 'email', 'emailOptInTime', 'loyaltySignupTS'] as const;

const minOf = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null ? (b ?? null) : b == null ? a : Math.min(a, b);
const maxOf = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null ? (b ?? null) : b == null ? a : Math.max(a, b);

/**
 * The overnight identity merge: `from` leaves every index (404 afterwards, never listed) and
 * `into` receives its points (one `merge` timeline event), orders, missing attributes and missing
 * identity fields. An explicit opt-out of either side wins.
 */
export function mergeContacts(state: AccountState, fromId: string, intoId: string, nowMs: number): void {
  if (fromId === intoId) throw badRequest('cannot merge a contact into itself');
  const from = state.live(fromId);
  const into = state.live(intoId);
  if (!from) throw notFound(`contact ${fromId} not found`);
  if (!into) throw notFound(`contact ${intoId} not found`);
  const a = from.persona;
  const b = into.persona;
  const now = toSeconds(nowMs);
  state.retire(from, intoId);
  const changes: Partial<Persona> = {};
  for (const key of FILLED_BY_MERGE) if (b[key] == null && a[key] != null) Object.assign(changes, { [key]: a[key] });
  const moved = a.loyaltyPoints ?? 0;
  const balance = (b.loyaltyPoints ?? 0) + moved;
  Object.assign(changes, {
    loyaltyPoints: balance,
    usedPoints: Number(b.usedPoints ?? 0) + Number(a.usedPoints ?? 0),
    spent: (b.spent ?? 0) + (a.spent ?? 0),
    loyalty: b.loyalty === true || a.loyalty === true,
    inserted: minOf(a.inserted, b.inserted),
    lastTouch: now,
  });
  if (a.optoutTime != null || b.optoutTime != null) {
    Object.assign(changes, { optoutTime: maxOf(a.optoutTime, b.optoutTime), optinTime: null, hasRequested: false });
  } else if (a.optinTime != null || b.optinTime != null) {
    Object.assign(changes, { optinTime: minOf(a.optinTime, b.optinTime), hasRequested: false });
  } else if (a.hasRequested === true || b.hasRequested === true) {
    Object.assign(changes, { optreqTime: maxOf(a.optreqTime, b.optreqTime), hasRequested: true });
  }
  state.update(into, changes);
  into.orders = [...into.orders, ...from.orders].sort((x, y) => x.timestamp - y.timestamp);
  const keys = new Set(into.attributes.map((x) => x.key));
  into.attributes = [...into.attributes, ...from.attributes.filter((x) => !keys.has(x.key))];
  if (from.override) into.override = { ...from.override, ...(into.override ?? {}) };
  into.timeline.push({ ts: now, type: 'merge', value: moved, balance, note: `merged from ${fromId}` });
}

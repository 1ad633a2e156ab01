import type { Adjustment, CustomAttribute, OrderItem, Persona, TimelineEvent } from '../lib/aiq/types.ts';
import { asContactId } from '../lib/aiq/types.ts';
import { normalizeEmail, normalizePhone } from '../lib/normalize.ts';
import { badRequest, conflict } from './errors.ts';
import { createRng, hashString, type Rng } from './prng.ts';

/** A persona and everything the simulator keeps about it. */
export interface PersonaRecord {
  /** The API-visible fields, serialised as they are. */
  persona: Persona;
  blocklisted: boolean;
  /** Set by an identity merge: the record is gone from the API. */
  mergedInto: string | undefined;
  orders: OrderItem[];
  attributes: CustomAttribute[];
  override: Record<string, unknown> | null;
  timeline: TimelineEvent[];
}

/** Fields that identify a contact and are indexed. */
type IdentityField = 'mobilePhone' | 'homePhone' | 'email' | 'srcID';

const CONTACT_ID = /^[0-9a-f]{32}$/;

export const toSeconds = (ms: number): number => Math.floor(ms / 1000);

function stringField(p: Persona, field: IdentityField): string | undefined {
  const v = p[field];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

class MultiIndex {
  private readonly map = new Map<string, Set<PersonaRecord>>();
  add(key: string | undefined, rec: PersonaRecord): void {
    if (key === undefined) return;
    let set = this.map.get(key);
    if (!set) this.map.set(key, (set = new Set()));
    set.add(rec);
  }
  delete(key: string | undefined, rec: PersonaRecord): void {
    if (key === undefined) return;
    const set = this.map.get(key);
    if (!set) return;
    set.delete(rec);
    if (set.size === 0) this.map.delete(key);
  }
  get(key: string): PersonaRecord[] {
    return [...(this.map.get(key) ?? [])];
  }
}

/**
 * One account's data with O(1) indexes by contact ID, mobile phone, email, home phone and source
 * ID. Merged-away records stay in `byId` (tests may inspect them) but leave every other index.
 */
export class AccountState {
  readonly uid: string;
  readonly apiKey: string;
  readonly rng: Rng;
  private readonly byId = new Map<string, PersonaRecord>();
  private readonly byPhone = new Map<string, PersonaRecord>();
  private readonly byEmail = new Map<string, PersonaRecord>();
  private readonly byHomePhone = new MultiIndex();
  private readonly bySrcId = new MultiIndex();
  /** The account-wide adjustments feed, in time order. */
  readonly adjustments: Adjustment[] = [];
  /** Bumped by every change; keys the cache of sorted listings. */
  version = 0;
  readonly sortCache = new Map<string, { version: number; list: PersonaRecord[] }>();
  /** Source-ID sequence of seeded personas. */
  srcSeq = 100_000;

  constructor(uid: string, apiKey: string, randomSeed: number) {
    this.uid = uid;
    this.apiKey = apiKey;
    this.rng = createRng((randomSeed ^ hashString(uid)) >>> 0);
  }

  /** Any record, merged-away ones included. */
  record(contactID: string): PersonaRecord | undefined {
    return this.byId.get(contactID);
  }

  /** The record behind a contact ID in an API path: unknown and merged-away IDs are absent. */
  live(contactID: string): PersonaRecord | undefined {
    const rec = this.byId.get(contactID);
    return rec && rec.mergedInto === undefined ? rec : undefined;
  }

  byMobile(phone: string): PersonaRecord | undefined {
    return this.byPhone.get(phone);
  }

  byMail(email: string): PersonaRecord | undefined {
    return this.byEmail.get(email);
  }

  byAnyPhone(phone: string): PersonaRecord[] {
    const out = this.byHomePhone.get(phone);
    const mobile = this.byPhone.get(phone);
    if (mobile && !out.includes(mobile)) out.unshift(mobile);
    return out;
  }

  bySource(srcID: string): PersonaRecord[] {
    return this.bySrcId.get(srcID);
  }

  /** Every record that is not merged away (blocklisted included). */
  liveRecords(): PersonaRecord[] {
    const out: PersonaRecord[] = [];
    for (const rec of this.byId.values()) if (rec.mergedInto === undefined) out.push(rec);
    return out;
  }

  isVisible(rec: PersonaRecord): boolean {
    return !rec.blocklisted && rec.mergedInto === undefined;
  }

  hasContactId(contactID: string): boolean {
    return this.byId.has(contactID);
  }

  newContactId(): string {
    for (;;) {
      const id = this.rng.hex(32);
      if (!this.byId.has(id)) return id;
    }
  }

  /** Indexes a new record; throws SIM_CONFLICT when its ID, phone or email is taken. */
  insert(rec: PersonaRecord): void {
    const p = rec.persona;
    if (!CONTACT_ID.test(p.contactID)) throw badRequest('contactID must be 32 lower-case hex characters');
    if (this.byId.has(p.contactID)) throw conflict(`contactID ${p.contactID} exists`);
    this.assertFree(rec, p);
    this.byId.set(p.contactID, rec);
    this.index(rec);
    this.version++;
  }

  /** Changes fields of a live record and keeps the indexes right; throws SIM_CONFLICT on a taken phone or email. */
  update(rec: PersonaRecord, changes: Partial<Persona>): void {
    this.assertFree(rec, changes);
    this.unindex(rec);
    Object.assign(rec.persona, changes);
    this.index(rec);
    this.version++;
  }

  /** Takes a record out of every index but `byId` (identity merge). */
  retire(rec: PersonaRecord, into: string): void {
    this.unindex(rec);
    rec.mergedInto = into;
    this.version++;
  }

  private assertFree(rec: PersonaRecord, fields: Partial<Persona>): void {
    const phone = typeof fields.mobilePhone === 'string' ? fields.mobilePhone : undefined;
    const owner = phone === undefined ? undefined : this.byPhone.get(phone);
    if (owner && owner !== rec) throw conflict('mobilePhone belongs to another contact');
    const email = typeof fields.email === 'string' ? fields.email : undefined;
    const emailOwner = email === undefined ? undefined : this.byEmail.get(email);
    if (emailOwner && emailOwner !== rec) throw conflict('email belongs to another contact');
  }

  private index(rec: PersonaRecord): void {
    const p = rec.persona;
    const phone = stringField(p, 'mobilePhone');
    if (phone !== undefined) this.byPhone.set(phone, rec);
    const email = stringField(p, 'email');
    if (email !== undefined) this.byEmail.set(email, rec);
    this.byHomePhone.add(stringField(p, 'homePhone'), rec);
    this.bySrcId.add(stringField(p, 'srcID'), rec);
  }

  private unindex(rec: PersonaRecord): void {
    const p = rec.persona;
    const phone = stringField(p, 'mobilePhone');
    if (phone !== undefined && this.byPhone.get(phone) === rec) this.byPhone.delete(phone);
    const email = stringField(p, 'email');
    if (email !== undefined && this.byEmail.get(email) === rec) this.byEmail.delete(email);
    this.byHomePhone.delete(stringField(p, 'homePhone'), rec);
    this.bySrcId.delete(stringField(p, 'srcID'), rec);
  }
}

/** A persona with every documented field, AIQ's defaults for a new contact, then `fields`. */
export function newPersona(contactID: string, nowS: number, rng: Rng, fields: Partial<Persona> = {}): Persona {
  const referCode = rng.hex(8).toUpperCase();
  return {
    contactID: asContactId(contactID),
    srcID: null,
    firstName: null,
    lastName: null,
    mobilePhone: null,
    homePhone: null,
    email: null,
    platform: null,
    favoriteStoreID: null,
    inserted: nowS,
    optinTime: null,
    optoutTime: null,
    optreqTime: null,
    hasRequested: false,
    loyalty: false,
    loyaltyPoints: 0,
    usedPoints: 0,
    loyaltySignupTS: null,
    emailOptInTime: null,
    spent: 0,
    referCode,
    referLink: `https://refer.example.com/${referCode}`,
    lastTouch: nowS,
    ...fields,
  };
}

export function newRecord(persona: Persona): PersonaRecord {
  return { persona, blocklisted: false, mergedInto: undefined, orders: [], attributes: [], override: null, timeline: [] };
}

/** A phone as AIQ stores it (10 digits); SIM_BAD_REQUEST when it cannot be read as one. */
export function parsePhone(value: unknown, field = 'mobilePhone'): string {
  const phone = typeof value === 'string' ? normalizePhone(value) : null;
  if (phone === null) throw badRequest(`${field} must be a 10-digit US phone number`);
  return phone;
}

export function parseEmail(value: unknown, field = 'email'): string {
  const email = typeof value === 'string' ? normalizeEmail(value) : null;
  if (email === null) throw badRequest(`${field} must be an email address`);
  return email;
}

/** Opted in by SMS now: an opt-in time and no opt-out. */
export function isSmsOptedIn(p: Persona): boolean {
  return p.optinTime != null && p.optoutTime == null;
}

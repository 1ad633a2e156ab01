import type { Persona } from '../lib/aiq/types.ts';
import { normalizeEmail, normalizePhone } from '../lib/normalize.ts';
import type { AccountState, PersonaRecord } from './state.ts';

export const SORT_KEYS = ['name', 'email', 'mobilePhone', 'homePhone', 'source', 'id', 'inserted', 'signup', 'points', 'usedpoints'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ListQuery {
  start: number;
  limit: number;
  sort: SortKey;
  dir: 'asc' | 'desc';
  search: string | undefined;
}

export interface ListResult {
  results: Persona[] | null;
  start: number;
  limit: number;
  size: number;
  total: number;
}

type SortValue = string | number | null;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v.toLowerCase() : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

const SORT_VALUE: Record<SortKey, (p: Persona) => SortValue> = {
  name: (p) => str([p.firstName, p.lastName].filter((n) => typeof n === 'string').join(' ')),
  email: (p) => str(p.email),
  mobilePhone: (p) => str(p.mobilePhone),
  homePhone: (p) => str(p.homePhone),
  source: (p) => str(p.srcID),
  id: (p) => p.contactID,
  inserted: (p) => num(p.inserted),
  signup: (p) => num(p.loyaltySignupTS),
  points: (p) => num(p.loyaltyPoints),
  usedpoints: (p) => num(p.usedPoints),
};

/** Sorts by the key (missing values last in either direction), ties by contact ID so pages are stable. */
function sortRecords(records: readonly PersonaRecord[], sort: SortKey, dir: 'asc' | 'desc'): PersonaRecord[] {
  const value = SORT_VALUE[sort];
  const sign = dir === 'asc' ? 1 : -1;
  const decorated = records.map((rec) => ({ rec, v: value(rec.persona), id: rec.persona.contactID }));
  decorated.sort((a, b) => {
    if (a.v !== b.v) {
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      return (a.v < b.v ? -1 : 1) * sign;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  return decorated.map((d) => d.rec);
}

/** Every visible persona in listing order, cached until the account changes. */
function sortedVisible(state: AccountState, sort: SortKey, dir: 'asc' | 'desc'): PersonaRecord[] {
  const key = `${sort}:${dir}`;
  const cached = state.sortCache.get(key);
  if (cached && cached.version === state.version) return cached.list;
  const list = sortRecords(state.liveRecords().filter((r) => state.isVisible(r)), sort, dir);
  state.sortCache.set(key, { version: state.version, list });
  return list;
}

interface Token {
  test(rec: PersonaRecord): boolean;
  /** When the token is answered by an index: the only records that can match. */
  candidates?: PersonaRecord[];
}

const fullName = (p: Persona): string => [p.firstName, p.lastName].filter((n) => typeof n === 'string').join(' ').toLowerCase();
const filled = (v: unknown): boolean => v !== null && v !== undefined && v !== '';

const FLAGS: Record<string, (p: Persona) => boolean> = {
  'has:phone': (p) => filled(p.mobilePhone) || filled(p.homePhone),
  'has:mobile': (p) => filled(p.mobilePhone),
  'has:home': (p) => filled(p.homePhone),
  'has:email': (p) => filled(p.email),
  'has:name': (p) => filled(p.firstName) || filled(p.lastName),
  'is:member': (p) => p.loyalty === true,
  'not:member': (p) => p.loyalty !== true,
  'has:points': (p) => (p.loyaltyPoints ?? 0) > 0,
  'has:usedpoints': (p) => Number(p.usedPoints ?? 0) > 0,
};

function fromSet(records: PersonaRecord[]): Token {
  const set = new Set(records);
  return { test: (rec) => set.has(rec), candidates: records };
}

function compileToken(state: AccountState, raw: string, quoted: boolean): Token {
  const lower = raw.toLowerCase();
  if (quoted) return { test: (rec) => fullName(rec.persona) === lower };
  const flag = FLAGS[lower];
  if (flag) return { test: (rec) => flag(rec.persona) };
  if (lower.startsWith('email:')) {
    const email = normalizeEmail(raw.slice('email:'.length));
    const rec = email === null ? undefined : state.byMail(email);
    return fromSet(rec ? [rec] : []);
  }
  // A bare identifier is answered by the indexes; anything else is part of a name or email.
  const hits = new Set<PersonaRecord>();
  const byId = state.live(lower);
  if (byId) hits.add(byId);
  const phone = normalizePhone(raw);
  if (phone !== null) for (const rec of state.byAnyPhone(phone)) hits.add(rec);
  const email = raw.includes('@') ? normalizeEmail(raw) : null;
  const byEmail = email === null ? undefined : state.byMail(email);
  if (byEmail) hits.add(byEmail);
  for (const rec of state.bySource(raw)) hits.add(rec);
  if (hits.size > 0) return fromSet([...hits]);
  return { test: (rec) => fullName(rec.persona).includes(lower) || (str(rec.persona.email) ?? '').includes(lower) };
}

/** Splits a search string into tokens; a double-quoted part is one token (an exact full name). */
function tokenize(search: string): Array<{ raw: string; quoted: boolean }> {
  const out: Array<{ raw: string; quoted: boolean }> = [];
  for (const m of search.matchAll(/"([^"]*)"|(\S+)/g)) {
    if (m[1] !== undefined) out.push({ raw: m[1].trim(), quoted: true });
    else if (m[2] !== undefined) out.push({ raw: m[2], quoted: false });
  }
  return out;
}

/** `GET /api/v1.1/piis/{uid}`: blocklisted and merged-away personas are never listed. */
export function listPersonas(state: AccountState, q: ListQuery): ListResult {
  const tokens = q.search === undefined ? [] : tokenize(q.search).map((t) => compileToken(state, t.raw, t.quoted));
  const indexed = tokens.find((t) => t.candidates !== undefined)?.candidates;
  const matches = (rec: PersonaRecord) => state.isVisible(rec) && tokens.every((t) => t.test(rec));
  let filtered: PersonaRecord[];
  if (indexed) filtered = sortRecords(indexed.filter(matches), q.sort, q.dir);
  else if (tokens.length === 0) filtered = sortedVisible(state, q.sort, q.dir);
  else filtered = sortedVisible(state, q.sort, q.dir).filter(matches);
  const page = filtered.slice(q.start, q.start + q.limit).map((r) => r.persona);
  return { results: page.length > 0 ? page : null, start: q.start, limit: q.limit, size: page.length, total: filtered.length };
}

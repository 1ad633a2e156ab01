import type { RouteName } from '../lib/config.ts';
import { badRequest, notFound } from './errors.ts';
import type { AccountState, PersonaRecord } from './state.ts';
import type { LedgerEntry } from './types.ts';

/** One API request, authenticated and admitted by the rate limiter. */
export interface ApiRequest {
  account: AccountState;
  /** Decoded path parameters. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
  method: string;
  /** Epoch ms. */
  now: number;
}

/** What a handler answers; `applied` marks a change of state, recorded in the ledger. */
export interface ApiResult {
  status: number;
  data: unknown;
  applied?: Omit<LedgerEntry, 'seq' | 'at' | 'uid' | 'route' | 'method'>;
}

export type ApiHandler = (req: ApiRequest) => ApiResult;

export interface RouteDef {
  name: RouteName;
  method: string;
  /** Literal segments are matched case-insensitively; `:name` captures one segment. */
  path: string;
  handler: ApiHandler;
}

export const ok = (data: unknown): ApiResult => ({ status: 200, data });

function param(req: ApiRequest, name: string): string {
  const value = req.params[name];
  if (value === undefined) throw new Error(`route has no :${name} parameter`);
  return value;
}

/** The live contact named by `:contactID`; 404 for an unknown or merged-away ID. */
export function contactOf(req: ApiRequest): PersonaRecord {
  const id = param(req, 'contactID');
  const rec = req.account.live(id.toLowerCase());
  if (!rec) throw notFound(`contact ${id} not found`);
  return rec;
}

export function pathParam(req: ApiRequest, name: string): string {
  return param(req, name);
}

/** An integer query parameter in [min, max]; `fallback` when absent or empty. */
export function intQuery(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw badRequest(`${name} must be a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw badRequest(`${name} must be from ${min} to ${max}`);
  return n;
}

/** Epoch seconds (at most 10 digits, so milliseconds are refused rather than misread). */
export function parseEpochSeconds(raw: string, name: string): number {
  if (!/^\d{1,10}$/.test(raw)) {
    throw badRequest(/^\d{11,}$/.test(raw) ? `${name} must be epoch seconds, not milliseconds` : `${name} must be epoch seconds`);
  }
  return Number(raw);
}

export function optionalEpochQuery(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  return raw === null || raw === '' ? undefined : parseEpochSeconds(raw, name);
}

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

export function parseFlag(raw: string | null, name: string, fallback: boolean): boolean {
  if (raw === null || raw === '') return fallback;
  const v = raw.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw badRequest(`${name} must be true or false`);
}

interface CompiledRoute {
  def: RouteDef;
  segments: Array<{ literal: string } | { param: string }>;
}

export interface RouteMatch {
  def: RouteDef;
  params: Record<string, string>;
}

function compile(def: RouteDef): CompiledRoute {
  const segments = def.path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s.toLowerCase() }));
  return { def, segments };
}

/** Matches method and path (case-insensitive literals, trailing slash ignored); undefined when no route fits. */
export function createRouter(defs: readonly RouteDef[]): (method: string, path: string) => RouteMatch | undefined {
  const compiled = defs.map(compile);
  return (method, path) => {
    const parts = path.split('/').filter((s) => s.length > 0);
    for (const route of compiled) {
      if (route.def.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let matched = true;
      for (let i = 0; i < parts.length && matched; i++) {
        const seg = route.segments[i];
        const part = parts[i] ?? '';
        if (seg === undefined) matched = false;
        else if ('literal' in seg) matched = seg.literal === part.toLowerCase();
        else params[seg.param] = part;
      }
      if (!matched) continue;
      for (const [k, v] of Object.entries(params)) {
        try {
          params[k] = decodeURIComponent(v);
        } catch {
          throw badRequest(`path parameter ${k} is not valid percent-encoding`);
        }
      }
      return { def: route.def, params };
    }
    return undefined;
  };
}

import { ROUTE_NAMES, type RouteName } from '../config.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';

/**
 * Default path templates, exactly as aiq-api.md lists them. Several are [assumed], so every one
 * can be overridden by name (config `AIQ_ROUTES`, `CreateAiqClientOptions.routes`).
 * `writeOverride` and `readOverride` share a path and differ by method; so do the three
 * custom-attribute calls.
 */
export const DEFAULT_ROUTES = {
  listPersonas: '/api/v1.1/piis/{uid}',
  getPersona: '/api/v1.1/piis/{uid}/{contactID}',
  createContact: '/api/v2/loyalty',
  writeOverride: '/api/v2/loyaltyContact/override/{uid}/{contactID}',
  readOverride: '/api/v2/loyaltyContact/override/{uid}/{contactID}',
  loyaltyLookup: '/api/v2/loyalty/lookup/{pii}',
  optIn: '/api/v1.1/optin/{uid}/{phone}/{loyalty}',
  adjustPoints: '/api/v1.1/adjust/loyaltyPoints/{uid}/{contactID}',
  adjustments: '/api/v1.1/adjustments/{uid}/{start}/{end}',
  customAttributes: '/api/v2/contact/customAttributes/{uid}/{contactID}',
  orders: '/api/v1.1/contact/orders/{uid}/{contactID}',
  pointsTimeline: '/api/v1.1/contact/loyaltyPoints/timeline/{uid}/{contactID}',
  recommendations: '/api/v2/contact/recommendations/{contactID}',
} as const satisfies Record<RouteName, string>;

/**
 * The placeholders each route can fill. `uid` is known to every route (the client's account);
 * the others come from the call. A template naming anything else cannot be filled, so it is
 * refused when the client is created rather than on the first call.
 */
export const ROUTE_PARAMS = {
  listPersonas: ['uid'],
  getPersona: ['uid', 'contactID'],
  createContact: ['uid'],
  writeOverride: ['uid', 'contactID'],
  readOverride: ['uid', 'contactID'],
  loyaltyLookup: ['uid', 'pii'],
  optIn: ['uid', 'phone', 'loyalty'],
  adjustPoints: ['uid', 'contactID'],
  adjustments: ['uid', 'start', 'end'],
  customAttributes: ['uid', 'contactID'],
  orders: ['uid', 'contactID'],
  pointsTimeline: ['uid', 'contactID'],
  recommendations: ['uid', 'contactID'],
} as const satisfies Record<RouteName, readonly string[]>;

/** The values a call supplies for the placeholders of its route (besides `uid`). */
export type RouteParams<R extends RouteName> = Record<Exclude<(typeof ROUTE_PARAMS)[R][number], 'uid'>, string>;

export type QueryValue = string | number | boolean | undefined;

/** Builds request paths (with query) from the compiled templates. */
export interface RouteTable {
  /** The template in use for a route (default or override). */
  template(route: RouteName): string;
  /**
   * Fills a route's placeholders (each value URL-encoded) and appends the query; `undefined`
   * query values are left out.
   */
  path<R extends RouteName>(route: R, params: RouteParams<R>, query?: Record<string, QueryValue>): string;
}

type Segment = { literal: string } | { param: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;

function parseTemplate(route: RouteName, template: string, issues: ConfigIssue[]): Segment[] {
  const path = `routes.${route}`;
  if (!template.startsWith('/')) {
    issues.push({ path, message: `a route template starts with / (got "${template}")` });
    return [];
  }
  const allowed = new Set<string>(ROUTE_PARAMS[route]);
  const segments: Segment[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    segments.push({ literal: template.slice(last, match.index) });
    if (!allowed.has(name)) {
      issues.push({
        path,
        message: `unknown placeholder {${name}} (this route knows ${[...allowed].map((p) => `{${p}}`).join(', ')})`,
      });
    }
    segments.push({ param: name });
    last = match.index + match[0].length;
  }
  const rest = template.slice(last);
  segments.push({ literal: rest });
  for (const seg of segments) {
    if ('literal' in seg && /[{}]/.test(seg.literal)) {
      issues.push({ path, message: `unbalanced brace in "${template}"` });
      break;
    }
  }
  return segments;
}

function appendQuery(path: string, query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) search.append(key, String(value));
  }
  const qs = search.toString();
  if (qs === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${qs}`;
}

/**
 * Compiles the default templates with the overrides. Throws ConfigError naming every bad
 * template (unknown route name, unknown placeholder, not starting with `/`).
 */
export function createRouteTable(uid: string, overrides: Partial<Record<RouteName, string>> = {}): RouteTable {
  const issues: ConfigIssue[] = [];
  const known = new Set<string>(ROUTE_NAMES);
  for (const name of Object.keys(overrides)) {
    if (!known.has(name)) issues.push({ path: `routes.${name}`, message: `unknown route name (known: ${ROUTE_NAMES.join(', ')})` });
  }
  const templates = new Map<RouteName, string>();
  const compiled = new Map<RouteName, Segment[]>();
  for (const route of ROUTE_NAMES) {
    const template = overrides[route] ?? DEFAULT_ROUTES[route];
    templates.set(route, template);
    compiled.set(route, parseTemplate(route, template, issues));
  }
  if (issues.length > 0) throw new ConfigError(issues);

  return {
    template(route) {
      return templates.get(route) ?? DEFAULT_ROUTES[route];
    },
    path(route, params, query) {
      const values: Record<string, string> = { ...params, uid };
      const segments = compiled.get(route) ?? [];
      let out = '';
      for (const seg of segments) {
        if ('literal' in seg) {
          out += seg.literal;
        } else {
          const value = values[seg.param];
          // Unreachable with the typed params; kept so a bad call never sends "undefined".
          if (value === undefined) throw new TypeError(`route ${route}: no value for {${seg.param}}`);
          out += encodeURIComponent(value);
        }
      }
      return appendQuery(out, query);
    },
  };
}

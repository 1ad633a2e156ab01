import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';

export { formatRateLimits, parseRateLimits, type RateWindow } from './rate-windows.ts';
import { parseRateLimits, type RateWindow } from './rate-windows.ts';

const rateLimitsSchema = z.string().transform((value, ctx) => {
  try {
    return parseRateLimits(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const numberIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const url = z.url({ message: 'expected a URL' });
const csvList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0),
  );

/** Route template names of the client; any of them may be overridden with `AIQ_ROUTES`. */
export const ROUTE_NAMES = [
  'listPersonas',
  'getPersona',
  'createContact',
  'writeOverride',
  'readOverride',
  'loyaltyLookup',
  'optIn',
  'adjustPoints',
  'adjustments',
  'customAttributes',
  'orders',
  'pointsTimeline',
  'recommendations',
] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Every environment variable aiq-sync reads, with its default. The README's configuration
 * table is checked against this object by a test.
 */
export const ENV_SCHEMA = {
  REDIS_URL: z.string().default('redis://127.0.0.1:6379').pipe(url),
  REDIS_CLUSTER: flag.default(false),
  REDIS_WAIT_REPLICAS: intIn(0, 16).default(0),
  REDIS_WAIT_TIMEOUT_MS: intIn(10, 60_000).default(1_000),
  SYNC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_:.-]{1,64}$/, 'letters, digits and {}_:.- only, at most 64')
    .default('{aiq}'),
  AIQ_BASE_URL: z.string().default('https://lab.alpineiq.com').pipe(url),
  AIQ_API_KEY: z.string().min(1).optional(),
  AIQ_UID: z.string().regex(/^\d{1,20}$/, 'expected the numeric user ID').optional(),
  AIQ_RATE_LIMITS: z.string().default('5/s,120/m,2000/h').pipe(rateLimitsSchema),
  AIQ_ACCOUNTS_FILE: z.string().min(1).optional(),
  AIQ_ROUTES: z.string().optional(),
  AIQ_TIMEOUT_MS: intIn(100, 300_000).default(10_000),
  AIQ_CONNECT_TIMEOUT_MS: intIn(100, 60_000).default(5_000),
  AIQ_REALTIME_RESERVE: numberIn(0, 0.95).default(0.3),
  INGRESS_HOST: z.string().min(1).default('127.0.0.1'),
  INGRESS_PORT: intIn(0, 65_535).default(8080),
  INGRESS_TOKENS: csvList.optional(),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  ADMIN_READ_WRITE: flag.default(false),
  WEBHOOK_SECRET: z.string().min(8, 'at least 8 characters').optional(),
  SHOPIFY_WEBHOOK_SECRET: z.string().min(8, 'at least 8 characters').optional(),
  WOOCOMMERCE_WEBHOOK_SECRET: z.string().min(8, 'at least 8 characters').optional(),
  SHOPIFY_SINGLE_OPT_IN_DOUBLE: flag.default(true),
  WOOCOMMERCE_CONSENT_FIELD: z.string().min(1).default('sms_opt_in'),
  WOOCOMMERCE_DOUBLE_OPT_IN: flag.default(true),
  POINTS_PER_DOLLAR: numberIn(0, 1000).default(1),
  WORKER_CONCURRENCY: intIn(1, 1000).default(16),
  WORKER_METRICS_PORT: intIn(0, 65_535).optional(),
  WORKER_SHUTDOWN_TIMEOUT_MS: intIn(0, 600_000).default(30_000),
  WORKER_LOCK_DURATION_MS: intIn(1_000, 600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: intIn(500, 600_000).optional(),
  WORKER_WATCHDOG_INTERVAL_MS: intIn(0, 3_600_000).default(15_000),
  IDEMPOTENCY_LEASE_MS: intIn(500, 600_000).default(15_000),
  CONTACT_NOT_FOUND: z.enum(['retry', 'create']).default('retry'),
  CONTACT_RETRY_HOURS: numberIn(0, 168).default(24),
  CONTACT_CACHE_TTL_S: intIn(1, 30 * 86_400).default(86_400),
  IDEMPOTENCY_TTL_DAYS: numberIn(1, 365).default(30),
  EVENTS_MAXLEN: intIn(1_000, 100_000_000).default(1_000_000),
  BACKFILL_CRON: z.string().min(1).optional(),
  BACKFILL_TZ: z.string().min(1).refine(isTimeZone, 'expected an IANA time zone such as UTC or America/Denver').default('UTC'),
  BACKFILL_SOURCE: z.string().min(1).optional(),
  BACKFILL_MAP: z
    .string()
    .regex(/^\s*(contactID|srcID|phone|email)\s*=[^,=]+(,\s*(contactID|srcID|phone|email)\s*=[^,=]+)*$/, 'expected identifier=column pairs such as phone=Mobile,email=EmailAddress')
    .optional(),
  BACKFILL_VERSION_COLUMN: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

const envObject = z.object(ENV_SCHEMA);
export type Env = z.infer<typeof envObject>;

const accountSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'lower-case letters, digits, _ and -, at most 32'),
    apiKey: z.string().min(1),
    uid: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]).transform(String),
    rateLimits: z.string().pipe(rateLimitsSchema).optional(),
    baseUrl: url.optional(),
  })
  .strict();

export interface AccountConfig {
  name: string;
  apiKey: string;
  uid: string;
  baseUrl: string;
  rateLimits: RateWindow[];
}

export interface Config {
  redis: {
    url: string;
    cluster: boolean;
    prefix: string;
    /** Replicas that must confirm an acceptance or a claim before it counts (WAIT); 0: none. */
    waitReplicas: number;
    waitTimeoutMs: number;
  };
  aiq: {
    baseUrl: string;
    timeoutMs: number;
    connectTimeoutMs: number;
    routes: Partial<Record<RouteName, string>>;
    realtimeReserve: number;
    /** Every account by name; `default` comes from AIQ_API_KEY/AIQ_UID. */
    accounts: Record<string, AccountConfig>;
  };
  ingress: {
    host: string;
    port: number;
    tokens: string[];
    adminToken: string | undefined;
    adminReadWrite: boolean;
    webhookSecret: string | undefined;
    shopifySecret: string | undefined;
    woocommerceSecret: string | undefined;
    shopifySingleOptInDouble: boolean;
    woocommerceConsentField: string;
    /** Whether WooCommerce consent asks AIQ for a double opt-in (a checkout checkbox is a single opt-in). */
    woocommerceDoubleOptIn: boolean;
  };
  points: { perDollar: number };
  worker: {
    concurrency: number;
    metricsPort: number | undefined;
    shutdownTimeoutMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    watchdogIntervalMs: number;
  };
  contacts: { notFound: 'retry' | 'create'; retryHours: number; cacheTtlS: number };
  ledger: { ttlDays: number; leaseMs: number };
  events: { maxLen: number };
  backfill: {
    cron: string | undefined;
    tz: string;
    source: string | undefined;
    /** Identifier=column pairs of the nightly file (`--map` of `aiq-sync backfill`). */
    map: string | undefined;
    /** Column with each row's version (`--version-column`). */
    versionColumn: string | undefined;
  };
  logLevel: Env['LOG_LEVEL'];
}

/** What a command needs beyond the defaults. */
export type ConfigRole = 'worker' | 'ingress' | 'producer';

export interface LoadConfigOptions {
  roles?: readonly ConfigRole[];
  /** Reads AIQ_ACCOUNTS_FILE; injectable for tests. */
  readFile?: (path: string) => string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** Variables that look like ours but are not known: most likely a typo. */
function unknownVariables(env: Environment): ConfigIssue[] {
  const known = new Set(Object.keys(ENV_SCHEMA));
  return Object.keys(env)
    .filter((k) => (k.startsWith('AIQ_') || k.startsWith('SYNC_')) && !known.has(k))
    .map((k) => ({ path: k, message: 'unknown variable (a typo?)' }));
}

/**
 * Parses the environment once. Every problem is collected and thrown as one ConfigError; the
 * result is frozen.
 */
export function loadConfig(env: Environment, options: LoadConfigOptions = {}): Readonly<Config> {
  const roles = new Set(options.roles ?? []);
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(ENV_SCHEMA)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const issues: ConfigIssue[] = unknownVariables(env);
  const parsed = envObject.safeParse(relevant);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ path: String(issue.path[0] ?? '(env)'), message: issue.message });
    }
  }
  const e = parsed.success ? parsed.data : undefined;

  let routes: Partial<Record<RouteName, string>> = {};
  if (relevant.AIQ_ROUTES !== undefined) {
    const r = parseRoutes(relevant.AIQ_ROUTES);
    if (typeof r === 'string') issues.push({ path: 'AIQ_ROUTES', message: r });
    else routes = r;
  }

  const accounts: Record<string, AccountConfig> = {};
  if (e) {
    if (e.AIQ_API_KEY !== undefined && e.AIQ_UID !== undefined) {
      accounts.default = {
        name: 'default',
        apiKey: e.AIQ_API_KEY,
        uid: e.AIQ_UID,
        baseUrl: e.AIQ_BASE_URL,
        rateLimits: e.AIQ_RATE_LIMITS,
      };
    }
    if (e.AIQ_ACCOUNTS_FILE !== undefined) {
      const read = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
      let raw: unknown;
      try {
        raw = JSON.parse(read(e.AIQ_ACCOUNTS_FILE));
      } catch (err) {
        issues.push({ path: 'AIQ_ACCOUNTS_FILE', message: `cannot read a JSON file: ${(err as Error).message}` });
      }
      if (raw !== undefined) {
        const list = z.array(accountSchema).min(1).safeParse(raw);
        if (!list.success) {
          for (const issue of list.error.issues) {
            issues.push({ path: `AIQ_ACCOUNTS_FILE[${issue.path.join('.')}]`, message: issue.message });
          }
        } else {
          for (const a of list.data) {
            if (accounts[a.name] !== undefined && a.name !== 'default') {
              issues.push({ path: `AIQ_ACCOUNTS_FILE`, message: `account "${a.name}" appears twice` });
            }
            accounts[a.name] = {
              name: a.name,
              apiKey: a.apiKey,
              uid: a.uid,
              baseUrl: a.baseUrl ?? e.AIQ_BASE_URL,
              rateLimits: a.rateLimits ?? e.AIQ_RATE_LIMITS,
            };
          }
        }
      }
    }
  }
  // Role requirements are checked on the raw values, so they are reported with parse errors.
  if (roles.has('worker') && Object.keys(accounts).length === 0 && relevant.AIQ_ACCOUNTS_FILE === undefined) {
    if (relevant.AIQ_API_KEY === undefined) issues.push({ path: 'AIQ_API_KEY', message: 'required by the worker' });
    if (relevant.AIQ_UID === undefined) issues.push({ path: 'AIQ_UID', message: 'required by the worker' });
  }
  if (roles.has('ingress') && (relevant.INGRESS_TOKENS ?? '').replace(/[,\s]/g, '') === '') {
    issues.push({ path: 'INGRESS_TOKENS', message: 'required by the ingress (comma-separated bearer tokens)' });
  }
  if ((relevant.BACKFILL_CRON === undefined) !== (relevant.BACKFILL_SOURCE === undefined)) {
    issues.push({ path: 'BACKFILL_CRON', message: 'BACKFILL_CRON and BACKFILL_SOURCE go together' });
  }
  if (issues.length > 0 || !e) throw new ConfigError(issues);

  const config: Config = {
    redis: { url: e.REDIS_URL, cluster: e.REDIS_CLUSTER, prefix: e.SYNC_PREFIX, waitReplicas: e.REDIS_WAIT_REPLICAS, waitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
    aiq: {
      baseUrl: e.AIQ_BASE_URL,
      timeoutMs: e.AIQ_TIMEOUT_MS,
      connectTimeoutMs: e.AIQ_CONNECT_TIMEOUT_MS,
      routes,
      realtimeReserve: e.AIQ_REALTIME_RESERVE,
      accounts,
    },
    ingress: {
      host: e.INGRESS_HOST,
      port: e.INGRESS_PORT,
      tokens: e.INGRESS_TOKENS ?? [],
      adminToken: e.ADMIN_TOKEN,
      adminReadWrite: e.ADMIN_READ_WRITE,
      webhookSecret: e.WEBHOOK_SECRET,
      shopifySecret: e.SHOPIFY_WEBHOOK_SECRET,
      woocommerceSecret: e.WOOCOMMERCE_WEBHOOK_SECRET,
      shopifySingleOptInDouble: e.SHOPIFY_SINGLE_OPT_IN_DOUBLE,
      woocommerceConsentField: e.WOOCOMMERCE_CONSENT_FIELD,
      woocommerceDoubleOptIn: e.WOOCOMMERCE_DOUBLE_OPT_IN,
    },
    points: { perDollar: e.POINTS_PER_DOLLAR },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      metricsPort: e.WORKER_METRICS_PORT,
      shutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_MS,
      lockDurationMs: e.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS ?? Math.floor(e.WORKER_LOCK_DURATION_MS / 2),
      watchdogIntervalMs: e.WORKER_WATCHDOG_INTERVAL_MS,
    },
    contacts: {
      notFound: e.CONTACT_NOT_FOUND,
      retryHours: e.CONTACT_RETRY_HOURS,
      cacheTtlS: e.CONTACT_CACHE_TTL_S,
    },
    ledger: { ttlDays: e.IDEMPOTENCY_TTL_DAYS, leaseMs: e.IDEMPOTENCY_LEASE_MS },
    events: { maxLen: e.EVENTS_MAXLEN },
    backfill: { cron: e.BACKFILL_CRON, tz: e.BACKFILL_TZ, source: e.BACKFILL_SOURCE, map: e.BACKFILL_MAP, versionColumn: e.BACKFILL_VERSION_COLUMN },
    logLevel: e.LOG_LEVEL,
  };
  return deepFreeze(config);
}

function parseRoutes(value: string): Partial<Record<RouteName, string>> | string {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return 'expected a JSON object of route templates';
  }
  const parsed = z
    .record(z.string(), z.string().startsWith('/', 'a route template starts with /'))
    .safeParse(raw);
  if (!parsed.success) return parsed.error.issues.map((i) => i.message).join(', ');
  const names = new Set<string>(ROUTE_NAMES);
  const unknown = Object.keys(parsed.data).filter((k) => !names.has(k));
  if (unknown.length > 0) return `unknown route names ${unknown.join(', ')} (known: ${ROUTE_NAMES.join(', ')})`;
  return parsed.data as Partial<Record<RouteName, string>>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

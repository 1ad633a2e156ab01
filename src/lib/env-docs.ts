import type { ENV_SCHEMA } from './config.ts';

export interface EnvDoc {
  /** The default as written in the environment; '' when there is none. */
  default: string;
  meaning: string;
}

/**
 * The documentation of every variable of ENV_SCHEMA. `satisfies` makes a variable without
 * documentation a compile error; a test checks that the README's table says the same and that
 * each documented default parses to the schema's own default.
 */
export const ENV_DOCS = {
  REDIS_URL: { default: 'redis://127.0.0.1:6379', meaning: 'Redis (standalone), or one node of a Redis Cluster' },
  REDIS_CLUSTER: { default: '0', meaning: '`1`: treat `REDIS_URL` as a Cluster seed node' },
  REDIS_WAIT_REPLICAS: {
    default: '0',
    meaning: 'replicas that must confirm (`WAIT`) each ledger claim before its AIQ call, and each accepted request before its 2xx: every replica attached to the primary, at most this many; set it to your replica count so a failover cannot lose either; `0`: no wait',
  },
  REDIS_WAIT_TIMEOUT_MS: { default: '1000', meaning: 'how long to wait for those replicas; unconfirmed, a request gets 503 and a job waits and tries again' },
  SYNC_PREFIX: { default: '{aiq}', meaning: "prefix of every key, BullMQ's included; the braces keep a deployment's keys in one Cluster slot" },
  AIQ_BASE_URL: { default: 'https://lab.alpineiq.com', meaning: 'AIQ API base URL' },
  AIQ_API_KEY: { default: '', meaning: 'API key of the default account (required by the worker unless `AIQ_ACCOUNTS_FILE` is set)' },
  AIQ_UID: { default: '', meaning: 'numeric user ID of the default account (required with `AIQ_API_KEY`)' },
  AIQ_RATE_LIMITS: { default: '5/s,120/m,2000/h', meaning: "the account's budget: sliding windows N/s, N/m, N/h, N/d" },
  AIQ_ACCOUNTS_FILE: { default: '', meaning: 'JSON file of several accounts `[{name, apiKey, uid, rateLimits?, baseUrl?}]`; jobs name their account' },
  AIQ_ROUTES: { default: '', meaning: 'JSON object overriding route templates by name, e.g. `{"adjustPoints": "/api/v1.1/adjust/loyaltyPoints/{uid}/{contactID}"}`' },
  AIQ_TIMEOUT_MS: { default: '10000', meaning: 'headers and body timeout of one AIQ request' },
  AIQ_CONNECT_TIMEOUT_MS: { default: '5000', meaning: 'TCP connect timeout to AIQ' },
  AIQ_REALTIME_RESERVE: { default: '0.3', meaning: 'share (0 to 0.95) of the shortest window that bulk work leaves to real-time work while it waits' },
  INGRESS_HOST: { default: '127.0.0.1', meaning: 'ingress listen address' },
  INGRESS_PORT: { default: '8080', meaning: 'ingress listen port' },
  INGRESS_TOKENS: { default: '', meaning: 'comma-separated bearer tokens of POS and API clients (required by the ingress)' },
  ADMIN_TOKEN: { default: '', meaning: 'bearer token (16+ characters) for `/admin/*` and `/v1/admin/*`; without it the admin routes are off' },
  ADMIN_READ_WRITE: { default: '0', meaning: '`1`: the dashboard may retry, promote and remove jobs' },
  WEBHOOK_SECRET: { default: '', meaning: 'secret of the generic signed opt-in webhook; unset: the route answers 404' },
  SHOPIFY_WEBHOOK_SECRET: { default: '', meaning: "Shopify's webhook signing secret; unset: the route answers 404" },
  WOOCOMMERCE_WEBHOOK_SECRET: { default: '', meaning: "WooCommerce's webhook secret; unset: the route answers 404" },
  SHOPIFY_SINGLE_OPT_IN_DOUBLE: { default: '1', meaning: '`1`: a Shopify `single_opt_in` consent goes through double opt-in; `0`: opted in directly' },
  WOOCOMMERCE_CONSENT_FIELD: { default: 'sms_opt_in', meaning: 'WooCommerce field (top level or `meta_data` key) holding SMS consent' },
  WOOCOMMERCE_DOUBLE_OPT_IN: { default: '1', meaning: '`1`: WooCommerce consents go through double opt-in' },
  POINTS_PER_DOLLAR: { default: '1', meaning: 'points earned per currency unit of a sale' },
  WORKER_CONCURRENCY: { default: '16', meaning: 'jobs in flight per queue per worker process' },
  WORKER_METRICS_PORT: { default: '', meaning: 'serve `/metrics` from a worker process on this port' },
  WORKER_SHUTDOWN_TIMEOUT_MS: { default: '30000', meaning: 'on SIGTERM, how long in-flight jobs may finish before they are aborted' },
  WORKER_LOCK_DURATION_MS: { default: '30000', meaning: "BullMQ job lock: a dead worker's jobs run again after this long" },
  WORKER_STALLED_INTERVAL_MS: { default: '', meaning: 'how often stalled jobs are looked for (default: half the lock duration)' },
  WORKER_WATCHDOG_INTERVAL_MS: { default: '15000', meaning: 'how often the watchdog checks for a worker that stopped taking jobs; 0 turns it off' },
  IDEMPOTENCY_LEASE_MS: { default: '15000', meaning: 'how long an attempt holds an idempotency key without renewing it (a killed worker releases it after this)' },
  CONTACT_NOT_FOUND: { default: 'retry', meaning: '`retry`: wait for a customer AIQ does not know yet; `create`: create the contact first' },
  CONTACT_RETRY_HOURS: { default: '24', meaning: 'how long a job waits for its contact (or its original sale) before it is dead' },
  CONTACT_CACHE_TTL_S: { default: '86400', meaning: 'how long a resolved contact ID is cached' },
  IDEMPOTENCY_TTL_DAYS: { default: '30', meaning: 'how long a completed idempotency key is remembered (duplicates after that are new)' },
  EVENTS_MAXLEN: { default: '1000000', meaning: 'approximate length the result-event stream is trimmed to' },
  BACKFILL_CRON: { default: '', meaning: "the nightly backfill's cron pattern (with `BACKFILL_SOURCE`)" },
  BACKFILL_TZ: { default: 'UTC', meaning: "the cron pattern's time zone" },
  BACKFILL_SOURCE: { default: '', meaning: 'path of the file the nightly backfill reads' },
  BACKFILL_MAP: { default: '', meaning: 'identifier=column pairs of the nightly file, e.g. `phone=Mobile,email=EmailAddress`' },
  BACKFILL_VERSION_COLUMN: { default: '', meaning: "column holding each row's version (updated-at)" },
  LOG_LEVEL: { default: 'info', meaning: 'pino level: fatal, error, warn, info, debug, trace or silent' },
} satisfies Record<keyof typeof ENV_SCHEMA, EnvDoc>;

/** The configuration table as Markdown, exactly as the README holds it. */
export function envTableMarkdown(): string {
  const rows = Object.entries(ENV_DOCS).map(([name, doc]) => `| \`${name}\` | ${doc.default === '' ? 'none' : `\`${doc.default}\``} | ${doc.meaning} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The same for `--help`: one line a variable. */
export function envHelpText(): string {
  const width = Math.max(...Object.keys(ENV_DOCS).map((n) => n.length));
  return Object.entries(ENV_DOCS)
    .map(([name, doc]) => `  ${name.padEnd(width)}  ${doc.default === '' ? '' : `[${doc.default}] `}${doc.meaning.replace(/`/g, '')}`)
    .join('\n');
}

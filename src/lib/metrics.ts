import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppObservers } from '../app.ts';
import { TERMINAL_KINDS, type QueueName } from './events.ts';
import { registerScrapeGauges, type MetricsSource } from './metrics-scrape.ts';

export { QUEUE_STATES, type MetricsSource } from './metrics-scrape.ts';

export interface CreateMetricsOptions {
  /** The app whose queues, event stream and budgets the scrape-time gauges read; or `attach` it later. */
  app?: MetricsSource;
  /** Default: a new Registry of its own (never prom-client's global one). */
  registry?: Registry;
  /** Node.js process metrics (CPU, memory, event loop, GC), named `aiq_sync_process_*` and `aiq_sync_nodejs_*`; default true. */
  defaultMetrics?: boolean;
  /** Longest wait for Redis per scrape, ms; default 2 000. A part that does not answer in time is left out. */
  scrapeTimeoutMs?: number;
}

/** An HTTP request the ingress answered (see `observeHttp`). */
export interface HttpObservation {
  /** Route template (`/v1/pos/transactions`), never the URL; `unmatched` for a 404 without a route. */
  route: string;
  method: string;
  status: number;
  durationMs: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `metrics()`'s text. */
  readonly contentType: string;
  /** Pass to `createApp({observers})`: the app's jobs, AIQ requests and budget waits feed the counters. */
  readonly observers: Required<AppObservers>;
  /** Points the scrape-time gauges at an app built after the metrics (the observers go in first). */
  attach(app: MetricsSource): void;
  /** Counts one answered ingress request. */
  observeHttp(observation: HttpObservation): void;
  /** Every metric in Prometheus' text format, reading the gauges from Redis first. */
  metrics(): Promise<string>;
}

const JOB_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const HTTP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const ERROR_CODE = /^AIQ_ERR_[A-Z_]{1,40}$/;

/** `2xx`, `4xx`, `5xx`, or `429` and `network_error` on their own. */
export function statusClass(status: number | 'network_error'): string {
  if (status === 'network_error') return 'network_error';
  if (status === 429) return '429';
  return `${Math.floor(status / 100)}xx`;
}

/**
 * The process's Prometheus metrics, every one named `aiq_sync_*`, in base units (seconds), with
 * bounded labels only: queue, outcome kind, route template, status class, account, lane, error
 * code. Never a job ID, an idempotency key, a contact or a URL.
 */
export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  let source = options.app;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'aiq_sync_' });

  const jobs = new Counter({
    name: 'aiq_sync_jobs_total',
    help: 'Job results: the terminal kind (points.applied, job.dead, ...), or retry (an attempt failed and will run again) or delayed (a wait that used no attempt).',
    labelNames: ['queue', 'outcome'] as const,
    registers,
  });
  const jobSeconds = new Histogram({
    name: 'aiq_sync_job_duration_seconds',
    help: 'Duration of the attempt that reached a terminal outcome.',
    labelNames: ['queue'] as const,
    buckets: JOB_SECONDS_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'aiq_sync_job_retries_total',
    help: 'Failed attempts that will run again, by error code.',
    labelNames: ['queue', 'code'] as const,
    registers,
  });
  const reconciliations = new Counter({
    name: 'aiq_sync_reconciliations_total',
    help: "Checks of AIQ for an earlier ambiguous attempt's effect: found (not applied again) or absent (applied now).",
    labelNames: ['queue', 'result'] as const,
    registers,
  });
  const apiRequests = new Counter({
    name: 'aiq_sync_api_requests_total',
    help: 'HTTP exchanges with the AIQ API by route name and status class (2xx, 4xx, 5xx, 429, network_error).',
    labelNames: ['route', 'status_class'] as const,
    registers,
  });
  const apiSeconds = new Histogram({
    name: 'aiq_sync_api_request_duration_seconds',
    help: 'Duration of one HTTP exchange with the AIQ API (budget wait excluded).',
    labelNames: ['route'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers,
  });
  const rateLimited = new Counter({
    name: 'aiq_sync_rate_limited_total',
    help: 'Answers 429 from AIQ, per account.',
    labelNames: ['account'] as const,
    registers,
  });
  const budgetWaitSeconds = new Counter({
    name: 'aiq_sync_budget_wait_seconds_total',
    help: "Time requests slept waiting for the account's shared rate budget.",
    labelNames: ['account', 'lane'] as const,
    registers,
  });
  const budgetWaits = new Counter({
    name: 'aiq_sync_budget_waits_total',
    help: "Times a request had to sleep for the account's shared rate budget.",
    labelNames: ['account', 'lane'] as const,
    registers,
  });
  const httpRequests = new Counter({
    name: 'aiq_sync_http_requests_total',
    help: 'Requests the ingress answered, by route template, method and status class.',
    labelNames: ['route', 'method', 'status_class'] as const,
    registers,
  });
  const httpSeconds = new Histogram({
    name: 'aiq_sync_http_request_duration_seconds',
    help: 'Time the ingress took to answer, by route template.',
    labelNames: ['route'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers,
  });

  // Every known series starts at 0, so rate() and increase() see the first event.
  for (const [queue, kinds] of Object.entries(TERMINAL_KINDS) as Array<[QueueName, readonly string[]]>) {
    for (const outcome of [...kinds, 'retry', 'delayed']) jobs.inc({ queue, outcome }, 0);
  }

  registerScrapeGauges({ registry, source: () => source, timeoutMs: options.scrapeTimeoutMs ?? 2_000 });

  const observers: Required<AppObservers> = {
    jobs: {
      onOutcome(queue, kind, durationMs) {
        jobs.inc({ queue, outcome: kind });
        jobSeconds.observe({ queue }, durationMs / 1000);
      },
      onRetry(queue, code) {
        jobs.inc({ queue, outcome: 'retry' });
        retries.inc({ queue, code: ERROR_CODE.test(code) ? code : 'other' });
      },
      onDelay(queue) {
        // The reason is free text: it goes to the log, not into a label.
        jobs.inc({ queue, outcome: 'delayed' });
      },
      onReconcile(queue, found) {
        reconciliations.inc({ queue, result: found ? 'found' : 'absent' });
      },
    },
    requests(event, account) {
      apiRequests.inc({ route: event.route, status_class: statusClass(event.status) });
      apiSeconds.observe({ route: event.route }, event.durationMs / 1000);
      if (event.status === 429) rateLimited.inc({ account });
    },
    budgetWait(account, lane, waitMs) {
      budgetWaits.inc({ account, lane });
      budgetWaitSeconds.inc({ account, lane }, Math.max(0, waitMs) / 1000);
    },
  };

  return {
    registry,
    contentType: registry.contentType,
    observers,
    attach(app) {
      source = app;
    },
    observeHttp({ route, method, status, durationMs }) {
      httpRequests.inc({ route, method, status_class: statusClass(status) });
      httpSeconds.observe({ route }, durationMs / 1000);
    },
    metrics: () => registry.metrics(),
  };
}

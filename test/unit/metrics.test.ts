import { describe, expect, it } from 'vitest';
import { createMetrics, statusClass, type MetricsSource } from '../../src/lib/metrics.ts';
import type { RateBudgetState, RateBudgetStats } from '../../src/lib/rate-budget-types.ts';
import { parseSamples, sampleValue } from '../helpers/prometheus.ts';

const stats = (waiting: number): RateBudgetStats => ({
  grants: { realtime: 0, bulk: 0 },
  waits: { realtime: 0, bulk: 0 },
  waitedMs: { realtime: 0, bulk: 0 },
  waiting: { realtime: waiting, bulk: 0 },
});

function fakeSource(options: { xlen?: () => Promise<number>; counts?: Record<string, number> } = {}): MetricsSource {
  const counts = options.counts ?? { wait: 3, active: 1, delayed: 2, failed: 4, completed: 7, prioritized: 0 };
  const state: RateBudgetState = { now: 10_000, pace: 0.7, cooldownUntil: 12_500, consecutiveRateLimits: 1, grantsInWindow: [], bulkGrantsInShortestWindow: 0, realtimeWaiting: 0 };
  return {
    queues: { points: { getJobCounts: async () => counts }, optin: { getJobCounts: async () => ({ ...counts, failed: 0 }) } },
    redis: { xlen: options.xlen ?? (async () => 42) },
    keys: { events: () => '{t}:events' },
    accounts: new Map([['default', { budget: { state: async () => state, stats: () => stats(2) } }]]),
  } as unknown as MetricsSource;
}

describe('createMetrics', () => {
  it('counts what the app observes, with bounded labels and base units', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.observers.jobs.onOutcome?.('points', 'points.applied', 1_500);
    m.observers.jobs.onOutcome?.('points', 'points.applied', 500);
    m.observers.jobs.onRetry?.('points', 'AIQ_ERR_SERVER');
    m.observers.jobs.onRetry?.('points', 'something free-form: 4155550100');
    m.observers.jobs.onDelay?.('optin', 'the customer is not in AIQ yet');
    m.observers.jobs.onReconcile?.('points', true);
    m.observers.jobs.onReconcile?.('points', false);
    m.observers.requests({ route: 'adjustPoints', method: 'PUT', status: 200, durationMs: 250 }, 'default');
    m.observers.requests({ route: 'adjustPoints', method: 'PUT', status: 429, durationMs: 5, retryAfterMs: 1000 }, 'default');
    m.observers.requests({ route: 'optIn', method: 'PUT', status: 'network_error', durationMs: 5 }, 'second');
    m.observers.budgetWait('default', 'bulk', 1_250);
    m.observers.budgetWait('default', 'bulk', 750);
    m.observeHttp({ route: '/v1/pos/transactions', method: 'POST', status: 202, durationMs: 12 });
    const text = await m.metrics();
    const s = parseSamples(text);
    expect(text).toContain('aiq_sync_jobs_total{queue="points",outcome="points.applied"} 2');
    expect(sampleValue(s, 'aiq_sync_jobs_total', { queue: 'points', outcome: 'retry' })).toBe(2);
    expect(sampleValue(s, 'aiq_sync_jobs_total', { queue: 'optin', outcome: 'delayed' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_jobs_total', { queue: 'contacts', outcome: 'contact.created' })).toBe(0);
    expect(sampleValue(s, 'aiq_sync_job_retries_total', { queue: 'points', code: 'AIQ_ERR_SERVER' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_job_retries_total', { queue: 'points', code: 'other' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_job_duration_seconds_sum', { queue: 'points' })).toBe(2);
    expect(sampleValue(s, 'aiq_sync_job_duration_seconds_bucket', { queue: 'points', le: '1' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_reconciliations_total', { queue: 'points', result: 'found' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_reconciliations_total', { queue: 'points', result: 'absent' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_api_requests_total', { route: 'adjustPoints', status_class: '2xx' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_api_requests_total', { route: 'adjustPoints', status_class: '429' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_api_requests_total', { route: 'optIn', status_class: 'network_error' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_api_request_duration_seconds_sum', { route: 'adjustPoints' })).toBeCloseTo(0.255);
    expect(sampleValue(s, 'aiq_sync_rate_limited_total', { account: 'default' })).toBe(1);
    expect(sampleValue(s, 'aiq_sync_rate_limited_total', { account: 'second' })).toBeUndefined();
    expect(sampleValue(s, 'aiq_sync_budget_wait_seconds_total', { account: 'default', lane: 'bulk' })).toBe(2);
    expect(sampleValue(s, 'aiq_sync_budget_waits_total', { account: 'default', lane: 'bulk' })).toBe(2);
    expect(sampleValue(s, 'aiq_sync_http_requests_total', { route: '/v1/pos/transactions', method: 'POST', status_class: '2xx' })).toBe(1);
    expect(text).not.toContain('4155550100');
    expect(s.every((x) => x.name.startsWith('aiq_sync_'))).toBe(true);
  });

  it('reads queue, dead-letter, stream and budget gauges from the attached app at scrape time', async () => {
    const m = createMetrics({ defaultMetrics: false });
    expect(parseSamples(await m.metrics()).filter((x) => x.name === 'aiq_sync_queue_jobs')).toEqual([]);
    m.attach(fakeSource());
    const s = parseSamples(await m.metrics());
    expect(sampleValue(s, 'aiq_sync_queue_jobs', { queue: 'points', state: 'wait' })).toBe(3);
    expect(sampleValue(s, 'aiq_sync_queue_jobs', { queue: 'points', state: 'prioritized' })).toBe(0);
    expect(sampleValue(s, 'aiq_sync_dead_letters', { queue: 'points' })).toBe(4);
    expect(sampleValue(s, 'aiq_sync_dead_letters', { queue: 'optin' })).toBe(0);
    expect(sampleValue(s, 'aiq_sync_events_stream_length')).toBe(42);
    expect(sampleValue(s, 'aiq_sync_redis_up')).toBe(1);
    expect(sampleValue(s, 'aiq_sync_budget_pace', { account: 'default' })).toBe(0.7);
    expect(sampleValue(s, 'aiq_sync_budget_cooldown_seconds', { account: 'default' })).toBe(2.5);
    expect(sampleValue(s, 'aiq_sync_budget_waiting', { account: 'default', lane: 'realtime' })).toBe(2);
  });

  it('leaves out what Redis does not answer within the scrape timeout instead of waiting for it', async () => {
    const m = createMetrics({ defaultMetrics: false, scrapeTimeoutMs: 50 });
    m.attach(fakeSource({ xlen: () => new Promise<number>(() => undefined) }));
    const started = Date.now();
    const s = parseSamples(await m.metrics());
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sampleValue(s, 'aiq_sync_events_stream_length')).toBeNaN();
    expect(sampleValue(s, 'aiq_sync_queue_jobs', { queue: 'points', state: 'wait' })).toBe(3);
  });

  it('uses its own registry, so two instances never share or clash', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observers.jobs.onOutcome?.('points', 'points.applied', 10);
    expect(sampleValue(parseSamples(await b.metrics()), 'aiq_sync_jobs_total', { queue: 'points', outcome: 'points.applied' })).toBe(0);
    expect(parseSamples(await a.metrics()).some((x) => x.name === 'aiq_sync_process_resident_memory_bytes' || x.name === 'aiq_sync_nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('classes statuses as 2xx, 4xx, 5xx, 429 and network_error', () => {
    expect([200, 204, 301, 404, 429, 500, 503, 'network_error' as const].map(statusClass)).toEqual(['2xx', '2xx', '3xx', '4xx', '429', '5xx', '5xx', 'network_error']);
  });
});

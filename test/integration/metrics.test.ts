import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.ts';
import { createMetrics } from '../../src/lib/metrics.ts';
import { startMetricsServer, type MetricsServer } from '../../src/lib/metrics-server.ts';
import { createAdminRoutes } from '../../src/producers/admin/index.ts';
import { createIngress, type IngressApp } from '../../src/producers/ingress/index.ts';
import { FAST_TUNING, startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { parseSamples, sampleValue } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TOKEN = 'pos-token-0123456789';
const silent = createLogger({ level: 'silent' });

let pipeline: TestPipeline | undefined;
let ingress: IngressApp | undefined;
let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  await ingress?.close();
  await pipeline?.close();
  server = undefined;
  ingress = undefined;
  pipeline = undefined;
});

const sale = (transactionId: string, phone: string, extra: Record<string, unknown> = {}) => ({
  source: 'treez',
  storeId: '12',
  transactionId,
  occurredAt: '2026-11-28T10:00:00Z',
  customer: { phone },
  total: 20,
  ...extra,
});

describe('GET /metrics', () => {
  it('counts outcomes, retries, reconciliations, AIQ requests and queue states of a flow through the ingress', async () => {
    const metrics = createMetrics();
    pipeline = await startPipeline({
      env: { INGRESS_TOKENS: TOKEN, AIQ_TIMEOUT_MS: '500' },
      // The first credit reaches AIQ but its answer is lost: the retry reconciles and finds it.
      sim: { faults: [{ route: 'adjustPoints', kind: 'applyThenDrop', probability: 1 }] },
      observers: metrics.observers,
      tuning: { ...FAST_TUNING, jobOptions: { points: { attempts: 4, backoff: { type: 'fixed', delay: 50 } } } },
    });
    const p = pipeline;
    metrics.attach(p.app);
    ingress = createIngress({
      producer: p.app.producer,
      redis: p.app.redis,
      config: p.app.config,
      logger: silent,
      registerExtra: createAdminRoutes({ config: p.app.config, queues: p.app.queues, ledger: p.app.ledger, redis: p.app.redis, metrics }),
    });
    const post = (body: unknown) =>
      ingress!.inject({ method: 'POST', url: '/v1/pos/transactions', headers: { authorization: `Bearer ${TOKEN}` }, payload: body as Record<string, unknown> });
    const persona = p.sim.control.addPersona({ mobilePhone: '4155550701' });
    const terminal = (n: number) =>
      waitFor(async () => {
        const events = await p.app.events.readAll();
        return events.length >= n && events;
      }, { timeoutMs: 30_000 });

    expect((await post(sale('M-1', '4155550701'))).statusCode).toBe(202);
    expect((await terminal(1))[0]).toMatchObject({ kind: 'points.applied', detail: expect.objectContaining({ reconciled: true }) });
    p.sim.control.setFaults([]);
    expect((await post(sale('M-2', '4155550701'))).statusCode).toBe(202);
    // An account nobody configured: dead at once.
    expect((await post(sale('M-3', '4155550701', { account: 'nosuch' }))).statusCode).toBe(202);
    const events = await terminal(3);
    expect(events.map((e) => e.kind).sort()).toEqual(['job.dead', 'points.applied', 'points.applied']);
    await waitFor(async () => (await p.app.queues.points.getJobCounts('completed', 'failed')).failed === 1);

    const res = await ingress.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const samples = parseSamples(res.body);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);

    expect(res.body).toContain('aiq_sync_jobs_total{queue="points",outcome="points.applied"} 2');
    expect(value('aiq_sync_jobs_total', { queue: 'points', outcome: 'job.dead' })).toBe(1);
    expect(value('aiq_sync_jobs_total', { queue: 'points', outcome: 'retry' })).toBe(1);
    expect(value('aiq_sync_jobs_total', { queue: 'optin', outcome: 'optin.applied' })).toBe(0);
    expect(value('aiq_sync_job_retries_total', { queue: 'points', code: 'AIQ_ERR_OUTCOME_UNKNOWN' })).toBe(1);
    expect(value('aiq_sync_job_duration_seconds_count', { queue: 'points' })).toBe(3);
    expect(value('aiq_sync_reconciliations_total', { queue: 'points', result: 'found' })).toBe(1);
    expect(value('aiq_sync_reconciliations_total', { queue: 'points', result: 'absent' })).toBeUndefined();

    expect(value('aiq_sync_api_requests_total', { route: 'adjustPoints', status_class: '2xx' })).toBe(1);
    expect(value('aiq_sync_api_requests_total', { route: 'adjustPoints', status_class: 'network_error' })).toBe(1);
    expect(value('aiq_sync_api_requests_total', { route: 'adjustments', status_class: '2xx' })).toBeGreaterThanOrEqual(1);
    const adjustRequests = p.sim.control.ledger().filter((l) => l.route === 'adjustPoints');
    expect(adjustRequests).toHaveLength(2);
    expect(value('aiq_sync_api_request_duration_seconds_count', { route: 'adjustPoints' })).toBe(2);
    expect(value('aiq_sync_rate_limited_total', { account: 'default' })).toBeUndefined();

    expect(value('aiq_sync_queue_jobs', { queue: 'points', state: 'completed' })).toBe(2);
    expect(value('aiq_sync_queue_jobs', { queue: 'points', state: 'failed' })).toBe(1);
    expect(value('aiq_sync_queue_jobs', { queue: 'points', state: 'wait' })).toBe(0);
    expect(value('aiq_sync_queue_jobs', { queue: 'backfill', state: 'active' })).toBe(0);
    expect(value('aiq_sync_dead_letters', { queue: 'points' })).toBe(1);
    expect(value('aiq_sync_dead_letters', { queue: 'optin' })).toBe(0);
    expect(value('aiq_sync_events_stream_length')).toBe(3);
    expect(value('aiq_sync_redis_up')).toBe(1);
    expect(value('aiq_sync_budget_pace', { account: 'default' })).toBe(1);
    expect(value('aiq_sync_budget_cooldown_seconds', { account: 'default' })).toBe(0);
    expect(value('aiq_sync_http_requests_total', { route: '/v1/pos/transactions', method: 'POST', status_class: '2xx' })).toBe(3);

    // Our names only, and no label carries a job ID, a key, a contact or a phone.
    expect(samples.every((s) => s.name.startsWith('aiq_sync_'))).toBe(true);
    for (const needle of ['M-1', 'M-2', 'M-3', '4155550701', persona.contactID, 'pos:treez']) expect(res.body).not.toContain(needle);
  });

  it('keeps answering when Redis is out of reach, without the gauges it cannot read', async () => {
    const metrics = createMetrics({ defaultMetrics: false, scrapeTimeoutMs: 200 });
    pipeline = await startPipeline({ observers: metrics.observers });
    metrics.attach(pipeline.app);
    const up = parseSamples(await metrics.metrics());
    expect(sampleValue(up, 'aiq_sync_redis_up')).toBe(1);
    expect(sampleValue(up, 'aiq_sync_queue_jobs', { queue: 'points', state: 'wait' })).toBe(0);
    // The producer connection fails fast once it is closed; the scrape must not hang on it.
    pipeline.app.redis.disconnect();
    const down = parseSamples(await metrics.metrics());
    expect(sampleValue(down, 'aiq_sync_redis_up')).toBe(0);
    expect(down.filter((s) => s.name === 'aiq_sync_queue_jobs' || s.name === 'aiq_sync_dead_letters')).toEqual([]);
    expect(sampleValue(down, 'aiq_sync_events_stream_length')).toBeNaN();
    expect(sampleValue(down, 'aiq_sync_jobs_total', { queue: 'points', outcome: 'points.applied' })).toBe(0);
  });

  it('serves /metrics from a worker process on its own port', async () => {
    const metrics = createMetrics();
    pipeline = await startPipeline({ observers: metrics.observers });
    metrics.attach(pipeline.app);
    server = await startMetricsServer({ metrics, port: 0, logger: silent });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    const samples = parseSamples(await res.text());
    expect(sampleValue(samples, 'aiq_sync_queue_jobs', { queue: 'contacts', state: 'delayed' })).toBe(0);
    expect(samples.some((s) => s.name === 'aiq_sync_process_cpu_seconds_total')).toBe(true);
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

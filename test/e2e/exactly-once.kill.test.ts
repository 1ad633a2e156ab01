import { afterEach, describe, expect, it } from 'vitest';
import { createEventStream, type ResultEvent } from '../../src/lib/events.ts';
import { createKeys } from '../../src/lib/keys.ts';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';
import { createPrefixedRedis, testRedisUrl } from '../helpers/redis.ts';
import { runCli, spawnCli, type CliProcess } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

const TOTAL = 500;

describe('exactly once across worker crashes', () => {
  it('applies 500 faulty POS transactions once each through two worker processes, one SIGKILLed twice', async () => {
    const sim: Simulator = await createSimulator({
      apiKey: 'e2e-key',
      uid: '1234',
      randomSeed: 7,
      faults: [
        { route: 'adjustPoints', kind: 'error5xx', probability: 0.05 },
        { route: 'adjustPoints', kind: 'applyThenDrop', probability: 0.05 },
        { route: 'adjustPoints', kind: 'applyThenLate', probability: 0.03, latencyMs: 1_500 },
      ],
    });
    cleanups.push(() => sim.close());
    const { prefix, redis, cleanup } = createPrefixedRedis();
    cleanups.push(cleanup);
    const phones = Array.from({ length: 50 }, (_, i) => `41555${String(10_000 + i).slice(-5)}`);
    const contacts = phones.map((mobilePhone) => sim.control.addPersona({ mobilePhone, loyaltyPoints: 0 }).contactID);

    const env = {
      REDIS_URL: testRedisUrl(),
      SYNC_PREFIX: prefix,
      AIQ_BASE_URL: sim.url,
      AIQ_API_KEY: 'e2e-key',
      AIQ_UID: '1234',
      AIQ_RATE_LIMITS: '5000/s',
      AIQ_TIMEOUT_MS: '1000',
      WORKER_CONCURRENCY: '8',
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      IDEMPOTENCY_LEASE_MS: '2000',
      LOG_LEVEL: 'warn',
    };
    const transactions = Array.from({ length: TOTAL }, (_, i) => ({
      source: 'e2e',
      storeId: String(i % 7),
      transactionId: `T-${i}`,
      occurredAt: '2026-11-28T10:00:00Z',
      customer: { phone: phones[i % phones.length] },
      total: 1 + (i % 90) + 0.5,
    }));
    // Enqueued through the CLI, as a POS exporter would.
    const enq = await runCli(['enqueue', 'pos'], env, transactions.map((t) => JSON.stringify(t)).join('\n') + '\n');
    expect(enq.code, enq.stderr).toBe(0);
    expect(enq.stdout.trim().split('\n').filter((l) => JSON.parse(l).status === 'queued')).toHaveLength(TOTAL);

    const steady = spawnCli(['worker', '--queues', 'points'], env);
    let victim: CliProcess = spawnCli(['worker', '--queues', 'points'], env);
    cleanups.push(async () => {
      steady.kill('SIGKILL');
      victim.kill('SIGKILL');
    });
    const applied = () => sim.control.ledger().filter((l) => l.route === 'adjustPoints').length;
    let kills = 0;
    for (const threshold of [TOTAL * 0.2, TOTAL * 0.5]) {
      await waitFor(() => applied() >= threshold, { timeoutMs: 60_000, message: `${threshold} applied` });
      victim.kill('SIGKILL');
      await victim.exited;
      kills += 1;
      victim = spawnCli(['worker', '--queues', 'points'], env);
    }
    expect(kills).toBe(2);

    const stream = createEventStream({ redis, keys: createKeys(prefix) });
    const events = await waitFor(async () => {
      const all = await stream.readAll();
      return new Set(all.map((e) => e.key)).size >= TOTAL ? all : false;
    }, { timeoutMs: 120_000, message: `${TOTAL} keys with a terminal event` });

    // Each transaction applied exactly once, with the right value, to the right contact.
    const ledger = sim.control.ledger().filter((l) => l.route === 'adjustPoints');
    const byNote = new Map<string, number>();
    for (const l of ledger) byNote.set(l.note!, (byNote.get(l.note!) ?? 0) + 1);
    expect([...byNote.values()].filter((n) => n > 1)).toEqual([]);
    expect(byNote.size).toBe(TOTAL);
    for (const [i, t] of transactions.entries()) {
      const entry = ledger.find((l) => l.note === `pos:e2e:${t.storeId}:${t.transactionId}:sale`);
      expect(entry?.value).toBe(Math.floor(t.total));
      expect(entry?.contactID).toBe(contacts[i % contacts.length]);
    }
    // Exactly one terminal event per key (stable IDs: no event appears twice).
    const ids = events.map((e: ResultEvent) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events.filter((e) => e.kind === 'points.applied')).toHaveLength(TOTAL);
    const faults = sim.control.stats().byStatus;
    expect((faults['503'] ?? 0) + (faults.dropped ?? 0)).toBeGreaterThan(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisCluster, startScenarioCluster } from '../../bench/lib/chaos-scenarios.ts';
import type { StartedCluster } from '../../bench/lib/redis-cluster.ts';
import { createRedis, quitRedis, waitForReady } from '../../src/lib/redis.ts';
import { findExecutable } from '../../src/lib/redis-locator.ts';
import { testRedisUrl } from '../helpers/redis.ts';

const missing = (await findExecutable('redis-server', process.env.PATH)) === null || (await findExecutable('redis-cli', process.env.PATH)) === null;
const skipped = missing ? ' (skipped: redis-server and redis-cli must be on the PATH)' : '';

describe.skipIf(missing)('Redis Cluster', () => {
  let cluster: StartedCluster | undefined;
  beforeAll(async () => {
    cluster = await startScenarioCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(`connects a fail-fast (producer) client and a patient (worker) client promptly, every time${skipped}`, async () => {
    for (let i = 0; i < 10; i += 1) {
      for (const role of ['producer', 'worker'] as const) {
        const client = createRedis({ url: cluster!.seedUrl, cluster: true }, { role });
        client.on('error', () => undefined);
        try {
          await waitForReady(client, 3_000);
          expect(await client.set(`{ready-check}:${role}`, String(i))).toBe('OK');
        } finally {
          await quitRedis(client);
        }
      }
    }
  });

  it(`applies 100 transactions exactly once with a worker SIGKILLed, with no CROSSSLOT error${skipped}`, async () => {
    const report = await runRedisCluster({ size: 'small', redisUrl: testRedisUrl(), cluster: cluster! });
    // Violations include any output line of any process matching CROSSSLOT.
    expect(report.violations).toEqual([]);
    const f = report.figures;
    expect({ duplicated: f.duplicated, lost: f.lost, wrong: f.wrong }).toEqual({ duplicated: 0, lost: 0, wrong: 0 });
    expect(f.clusterMasters).toBe(3);
    expect(f.kills).toBe(1);
    expect(f.applied! + f.unchanged! + f.dead!).toBe(f.transactions);
  });
});

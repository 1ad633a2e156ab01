import { describe, expect, it } from 'vitest';
import { runRedisFailover } from '../../bench/lib/chaos-scenarios.ts';
import { testRedisUrl } from '../helpers/redis.ts';

// The small size of `npm run chaos -- --scenario redis-failover`.
describe('Redis Cluster failover', () => {
  it('loses nothing acknowledged and credits nothing twice when the master of the deployment’s slot dies and its replica takes over (REDIS_WAIT_REPLICAS=1)', async () => {
    const report = await runRedisFailover({ size: 'small', redisUrl: testRedisUrl() });
    expect(report.violations).toEqual([]);
    const f = report.figures;
    expect({ duplicated: f.duplicated, lost: f.lost, wrong: f.wrong }).toEqual({ duplicated: 0, lost: 0, wrong: 0 });
    expect(f.accepted).toBe(f.transactions);
    expect(f.dead).toBe(f.poisoned);
    // The failover really happened while traffic flowed: the ingress refused requests meanwhile.
    expect(f.failovers).toBe(1);
    expect(f.answered503).toBeGreaterThan(0);
  });
});

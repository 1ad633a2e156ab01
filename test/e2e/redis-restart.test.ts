import { describe, expect, it } from 'vitest';
import { runRedisRestart } from '../../bench/lib/chaos-scenarios.ts';
import { findExecutable } from '../../src/lib/redis-locator.ts';
import { testRedisUrl } from '../helpers/redis.ts';

const redisServer = await findExecutable('redis-server', process.env.PATH);

describe('Redis restarts', () => {
  it.skipIf(redisServer === null)(
    `recovers from a Redis crash and a 5 s outage with no manual step: 503s meanwhile, then every accepted transaction applied once${redisServer === null ? ' (skipped: redis-server is not on the PATH)' : ''}`,
    async () => {
      const report = await runRedisRestart({ size: 'small', redisUrl: testRedisUrl() });
      expect(report.violations).toEqual([]);
      const f = report.figures;
      expect({ duplicated: f.duplicated, lost: f.lost, wrong: f.wrong }).toEqual({ duplicated: 0, lost: 0, wrong: 0 });
      expect(f.redisRestarts).toBe(2);
      // While Redis was down the ingress said 503, and accepted nothing it could not store.
      expect(f.answered503DuringOutage).toBeGreaterThan(0);
      expect(f.accepted).toBe(f.transactions);
      expect(f.dead).toBe(f.poisoned);
    },
  );
});

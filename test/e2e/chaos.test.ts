import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/lib/chaos-scenarios.ts';
import { testRedisUrl } from '../helpers/redis.ts';

// The small size of `npm run chaos -- --scenario chaos`: the same code, 300 transactions instead of 2,000.
describe('chaos', () => {
  it('applies every POS transaction exactly once while workers are SIGKILLed at random, the ingress is restarted and crashed, AIQ faults and 429 storms hit', async () => {
    const report = await runChaos({ size: 'small', redisUrl: testRedisUrl() });
    expect(report.violations).toEqual([]);
    const f = report.figures;
    expect({ duplicated: f.duplicated, lost: f.lost, wrong: f.wrong }).toEqual({ duplicated: 0, lost: 0, wrong: 0 });
    // Dead letters for the poisoned inputs only, and every other key applied (or unchanged).
    expect(f.dead).toBe(f.poisoned);
    expect(f.applied! + f.unchanged! + f.dead!).toBe(f.transactions);
    // The chaos really happened: kills, the ingress restarted (SIGTERM) and crashed (SIGKILL), every fault, 429s, reconciliations.
    expect(f.kills).toBeGreaterThanOrEqual(2);
    expect(f.ingressRestarts).toBe(2);
    expect(f.aiq429).toBeGreaterThan(0);
    expect(f.aiq5xx).toBeGreaterThan(0);
    expect(f.aiqDropped).toBeGreaterThan(0);
    expect(f.reconciled).toBeGreaterThan(0);
    expect(f.redelivered).toBeGreaterThan(0);
    expect(f.duplicateAnswers).toBeGreaterThanOrEqual(f.redelivered!);
  });
});

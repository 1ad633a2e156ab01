import { describe, expect, it } from 'vitest';
import { drawFaults, parseFaultSpec } from '../../src/simulator/faults.ts';
import { createRng } from '../../src/simulator/prng.ts';
import type { FaultRule } from '../../src/simulator/types.ts';

describe('simulator fault rules', () => {
  it('reads the CLI form route:kind:probability[:ms|status]', () => {
    expect(parseFaultSpec('adjustPoints:applyThenDrop:0.1')).toEqual({ route: 'adjustPoints', kind: 'applyThenDrop', probability: 0.1 });
    expect(parseFaultSpec('*:latency:1:250')).toEqual({ route: '*', kind: 'latency', probability: 1, latencyMs: 250 });
    expect(parseFaultSpec('optIn:applyThenLate:0.5:15000')).toEqual({ route: 'optIn', kind: 'applyThenLate', probability: 0.5, latencyMs: 15_000 });
    expect(parseFaultSpec('getPersona:error5xx:0.2:502')).toEqual({ route: 'getPersona', kind: 'error5xx', probability: 0.2, status: 502 });
  });

  it.each([
    ['adjustPoints:latency', /expected <route>:<kind>/],
    ['adjustPoints:latency:often', /probability must be a number/],
    ['adjustPoints:latency:1.5', /probability/],
    ['nowhere:latency:0.5', /route/],
    ['adjustPoints:explode:0.5', /kind/],
    ['adjustPoints:latency:0.5:soon', /whole number/],
    ['getPersona:error5xx:1:404', /status/],
    ['a:b:c:d:e', /expected/],
  ])('refuses %s', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });

  it('sums the latency of every rule that fires and keeps the first outcome', () => {
    const rules: FaultRule[] = [
      { route: '*', kind: 'latency', probability: 1, latencyMs: 100 },
      { route: 'adjustPoints', kind: 'latency', probability: 1, latencyMs: 50 },
      { route: 'adjustPoints', kind: 'applyThenLate', probability: 1 },
      { route: 'adjustPoints', kind: 'error5xx', probability: 1 },
    ];
    expect(drawFaults(rules, createRng(1), 'adjustPoints', 'PUT')).toEqual({ delayMs: 150, outcome: { kind: 'applyThenLate', delayMs: 30_000 } });
    expect(drawFaults(rules, createRng(1), 'getPersona', 'GET')).toEqual({ delayMs: 100, outcome: undefined });
  });

  it('draws once per matching rule, so the same seed replays the same outcomes', () => {
    const rules: FaultRule[] = [
      { route: 'adjustPoints', kind: 'applyThenDrop', probability: 0.3 },
      { route: 'adjustPoints', kind: 'error5xx', probability: 0.3 },
    ];
    const sequence = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 200 }, () => drawFaults(rules, rng, 'adjustPoints', 'PUT').outcome?.kind ?? 'none');
    };
    const a = sequence(9);
    expect(sequence(9)).toEqual(a);
    const drops = a.filter((k) => k === 'applyThenDrop').length;
    expect(drops).toBeGreaterThan(35);
    expect(drops).toBeLessThan(85);
    expect(a.filter((k) => k === 'none').length).toBeGreaterThan(70);
  });
});

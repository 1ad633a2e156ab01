import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../../src/lib/coalesce.ts';

function recorder(answer: (items: readonly number[]) => Promise<readonly string[]> = async (items) => items.map((i) => `r${i}`)) {
  const batches: number[][] = [];
  const send = async (items: readonly number[]) => {
    batches.push([...items]);
    return answer(items);
  };
  return { batches, send };
}

describe('createCoalescer', () => {
  it('sends the calls of one turn as one batch and answers each caller with its own result', async () => {
    const r = recorder();
    const c = createCoalescer(r.send);
    const results = await Promise.all([c.call(1), c.call(2), c.call(3)]);
    expect(results).toEqual(['r1', 'r2', 'r3']);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('sends calls of later turns in later batches', async () => {
    const r = recorder();
    const c = createCoalescer(r.send);
    expect(await c.call(1)).toBe('r1');
    expect(await Promise.all([c.call(2), c.call(3)])).toEqual(['r2', 'r3']);
    expect(r.batches).toEqual([[1], [2, 3]]);
  });

  it('splits a turn into batches of at most maxBatch, in order', async () => {
    const r = recorder();
    const c = createCoalescer(r.send, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((i) => c.call(i)))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(r.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every caller of a failed batch, and only those', async () => {
    const r = recorder(async (items) => {
      if (items.includes(2)) throw new Error('Connection is closed.');
      return items.map((i) => `r${i}`);
    });
    const c = createCoalescer(r.send, 2);
    const settled = await Promise.allSettled([1, 2, 3].map((i) => c.call(i)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['Connection is closed.', 'Connection is closed.', 'r3']);
  });

  it('rejects a batch whose answer does not have one result per call', async () => {
    const c = createCoalescer(async (items: readonly number[]) => items.slice(1).map(String));
    await expect(Promise.all([c.call(1), c.call(2)])).rejects.toThrow('a batch of 2 got 1 results');
  });
});

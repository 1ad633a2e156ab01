import { afterEach, describe, expect, it } from 'vitest';
import { createEventStream } from '../../src/lib/events.ts';
import { createKeys } from '../../src/lib/keys.ts';
import { createLedger } from '../../src/lib/ledger.ts';
import { createPrefixedRedis } from '../helpers/redis.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A ledger on a fresh prefix, with a count of the script calls that reach Redis, by script. */
function rig() {
  const { prefix, redis, cleanup } = createPrefixedRedis();
  cleanups.push(cleanup);
  const keys = createKeys(prefix);
  const ledger = createLedger({ redis, keys });
  const calls: Record<string, number> = {};
  const scripts = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['ledgerAccept', 'ledgerAcceptMany', 'ledgerClaim', 'ledgerClaimMany', 'ledgerFinish', 'ledgerFinishMany']) {
    const original = scripts[name]!.bind(redis);
    scripts[name] = (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return original(...args);
    };
  }
  return { ledger, events: createEventStream({ redis, keys }), calls };
}

const event = (key: string, kind = 'points.applied') => ({ kind, key, jobId: `j-${key}`, queue: 'points', account: 'default', contactID: 'c1', attempts: 1, detail: { value: 5 } });

describe('ledger calls made in the same turn', () => {
  it('accept the keys of concurrent requests in one script call, the first of a repeated key only', async () => {
    const { ledger, calls } = rig();
    const answers = await Promise.all([ledger.acceptMany(['a', 'b']), ledger.acceptMany(['c']), ledger.acceptMany(['b', 'd']), ledger.accept('a')]);
    expect(answers).toEqual([[true, true], [true], [false, true], false]);
    expect(calls).toEqual({ ledgerAcceptMany: 1 });
    // A lone acceptance later goes as the single-key script.
    expect(await ledger.accept('e')).toBe(true);
    expect(calls).toEqual({ ledgerAcceptMany: 1, ledgerAccept: 1 });
  });

  it('claim many keys in one script call with the answers single claims give', async () => {
    const { ledger, calls } = rig();
    await ledger.finish('done', {}, event('done'));
    await ledger.claim('held', 'worker-b', 60_000, 1_000);
    await ledger.claim('died', 'worker-c', 60_000, 0);
    await ledger.release('died', 'worker-c', 'answered');
    calls.ledgerClaim = 0;
    const [fresh, again, busy, terminal, ambiguous] = await Promise.all([
      ledger.claim('new', 'worker-a', 60_000, 1_000),
      // The same key twice in one batch: the second claimant finds it held.
      ledger.claim('new', 'worker-z', 60_000, 1_000),
      ledger.claim('held', 'worker-a', 60_000, 1_000),
      ledger.claim('done', 'worker-a', 60_000, 1_000),
      ledger.claim('died', 'worker-a', 60_000, 0),
    ]);
    expect(calls.ledgerClaimMany).toBe(1);
    expect(calls.ledgerClaim).toBe(0);
    expect(fresh).toEqual({ kind: 'fresh', firstAttemptAt: expect.any(Number) });
    expect(again).toEqual({ kind: 'busy', leaseUntil: expect.any(Number) });
    expect(busy).toEqual({ kind: 'busy', leaseUntil: expect.any(Number) });
    expect(terminal).toEqual({ kind: 'terminal', terminal: 'points.applied' });
    expect(ambiguous).toEqual({ kind: 'ambiguous', firstAttemptAt: expect.any(Number) });
    expect((await ledger.get('new'))?.fields).toMatchObject({ state: 'pending', owner: 'worker-a' });
  });

  it('finish many keys in one script call: each outcome recorded, its event appended in order, a terminal key left alone', async () => {
    const { ledger, events, calls } = rig();
    await ledger.finish('k0', { value: 1 }, event('k0'));
    calls.ledgerFinish = 0;
    const results = await Promise.all([
      ledger.finish('k1', { value: 10, contactID: 'c1' }, event('k1')),
      ledger.finish('k0', { value: 99 }, event('k0')),
      ledger.finish('k2', {}, event('k2', 'points.unchanged')),
      ledger.finish('k3', { error: 'AIQ_ERR_AUTH' }, event('k3', 'job.dead')),
    ]);
    expect(calls).toMatchObject({ ledgerFinish: 0, ledgerFinishMany: 1 });
    expect(results.map((r) => r?.id ?? null)).toEqual(['points.applied:k1', null, 'points.unchanged:k2', 'job.dead:k3']);
    expect((await events.readAll()).map((e) => [e.id, e.detail])).toEqual([
      ['points.applied:k0', { value: 5 }],
      ['points.applied:k1', { value: 5 }],
      ['points.unchanged:k2', { value: 5 }],
      ['job.dead:k3', { value: 5 }],
    ]);
    expect((await ledger.get('k1'))?.fields).toMatchObject({ terminal: 'points.applied', state: 'points.applied', value: '10', contactID: 'c1' });
    expect((await ledger.get('k0'))?.fields).toMatchObject({ terminal: 'points.applied', value: '1' });
    expect((await ledger.get('k2'))?.terminal).toBe('points.unchanged');
    expect((await ledger.get('k3'))?.fields).toMatchObject({ terminal: 'job.dead', error: 'AIQ_ERR_AUTH' });
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.ts';
import { waitFor } from '../helpers/wait-for.ts';

let pipeline: TestPipeline | undefined;
let dir: string | undefined;
afterEach(async () => {
  await pipeline?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  pipeline = undefined;
});

describe('several accounts', () => {
  it('sends each job to the account it names, with that account’s key and budget, and kills jobs naming no account', async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiq-accounts-'));
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify([{ name: 'north', apiKey: 'north-key', uid: 5678, rateLimits: '7/s' }]));
    pipeline = await startPipeline({ sim: { accounts: [{ apiKey: 'north-key', uid: '5678' }] }, env: { AIQ_ACCOUNTS_FILE: file } });
    const home = pipeline.sim.control.addPersona({ mobilePhone: '4155550701' });
    const north = pipeline.sim.control.addPersona({ mobilePhone: '4155550701' }, '5678');
    const sale = (id: string, account?: string) => ({ source: 'pos', storeId: '1', transactionId: id, type: 'sale' as const, occurredAt: '2026-11-28T10:00:00Z', customer: { phone: '4155550701' }, total: 10, ...(account ? { account } : {}) });
    const results = await pipeline.app.producer.enqueuePos([sale('A-1'), sale('N-1', 'north'), sale('X-1', 'nowhere')]);
    const events = await waitFor(async () => {
      const all = await pipeline!.app.events.readAll();
      return all.length >= 3 ? all : false;
    });
    const byKey = new Map(events.map((e) => [e.key, e]));
    expect(byKey.get(results[0]!.idempotencyKey)).toMatchObject({ kind: 'points.applied', account: 'default', contactID: home.contactID });
    expect(byKey.get(results[1]!.idempotencyKey)).toMatchObject({ kind: 'points.applied', account: 'north', contactID: north.contactID });
    expect(byKey.get(results[2]!.idempotencyKey)).toMatchObject({ kind: 'job.dead', account: 'nowhere', attempts: 1 });
    expect(byKey.get(results[2]!.idempotencyKey)!.detail).toMatchObject({ code: 'AIQ_ERR_CONFIG' });
    expect(pipeline.sim.control.ledger('1234').map((l) => l.contactID)).toEqual([home.contactID]);
    expect(pipeline.sim.control.ledger('5678').map((l) => l.contactID)).toEqual([north.contactID]);
    const budgets = [...pipeline.app.accounts.values()].map((a) => [a.name, a.budget.windows]);
    expect(budgets).toEqual([
      ['default', [{ limit: 1000, windowMs: 1000 }]],
      ['north', [{ limit: 7, windowMs: 1000 }]],
    ]);
  });
});

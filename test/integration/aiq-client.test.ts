import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/simulator/index.ts';
import { AiqNotFoundError, PayloadInvalidError } from '../../src/lib/errors.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createAiqClient, type OwnedAiqClient } from '../../src/lib/aiq/client.ts';
import { asContactId, type CreateAiqClientOptions, type Persona } from '../../src/lib/aiq/types.ts';

/** Contract tests: the client against the real simulator over HTTP, one endpoint group at a time. */

const KEY = 'test-key-7f3a9c';
const UID = '4242';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(clientOptions: Partial<CreateAiqClientOptions> = {}) {
  const sim = await createSimulator({ port: 0, apiKey: KEY, uid: UID, randomSeed: 7 });
  const client: OwnedAiqClient = createAiqClient({
    baseUrl: sim.url,
    apiKey: KEY,
    uid: UID,
    logger: createLogger({ level: 'silent' }),
    ...clientOptions,
  });
  cleanups.push(async () => {
    await client.close();
    await sim.close();
  });
  return { sim, control: sim.control, client };
}

const id = (p: Persona) => p.contactID;
const nowS = () => Math.floor(Date.now() / 1000);
/** `212555` + 4 digits: valid, distinct US numbers. */
const phone = (n: number) => `212555${String(n).padStart(4, '0')}`;

describe('1. list personas', () => {
  it('returns one page with AIQ paging fields', async () => {
    const { control, client } = await start();
    for (let i = 0; i < 25; i++) control.addPersona({ firstName: `P${i}`, mobilePhone: phone(i) });
    const page = await client.listPersonas({ start: 10, limit: 10, sort: 'id', dir: 'asc' });
    expect(page.results).toHaveLength(10);
    expect(page).toMatchObject({ start: 10, limit: 10, size: 10, total: 25 });
    const ids = page.results!.map(id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('iteratePersonas pages through 2,500 personas with limit 1000 in three requests', async () => {
    const { control, client } = await start();
    const added = new Set<string>();
    for (let i = 0; i < 2_500; i++) added.add(control.addPersona({ firstName: `N${i}`, srcID: `src-${i}` }).contactID);
    const seen = new Set<string>();
    let yielded = 0;
    for await (const p of client.iteratePersonas({ limit: 1_000 })) {
      yielded++;
      seen.add(p.contactID);
    }
    expect(yielded).toBe(2_500);
    expect(seen).toEqual(added);
    expect(control.stats().byRoute.listPersonas).toBe(3);
  });

  it('stops on results null when the last page is full', async () => {
    const { control, client } = await start();
    for (let i = 0; i < 4; i++) control.addPersona({ firstName: `F${i}` });
    const got: string[] = [];
    for await (const p of client.iteratePersonas({ limit: 2 })) got.push(p.contactID);
    expect(got).toHaveLength(4);
    // Pages 0, 2 and the empty page at 4 that says "no more".
    expect(control.stats().byRoute.listPersonas).toBe(3);
  });

  it('never lists a blocklisted persona', async () => {
    const { control, client } = await start();
    control.seed(300);
    const hidden = control.addPersona({ firstName: 'Hidden', srcID: 'BL-1', mobilePhone: phone(9001), blocklisted: true });
    const later = control.addPersona({ firstName: 'Later', srcID: 'BL-2', mobilePhone: phone(9002) });
    control.blocklist(later.contactID);
    const listed = new Set<string>();
    for await (const p of client.iteratePersonas({ limit: 100 })) listed.add(p.contactID);
    expect(listed.size).toBeGreaterThan(250);
    expect(listed.has(hidden.contactID)).toBe(false);
    expect(listed.has(later.contactID)).toBe(false);
    expect((await client.listPersonas({ search: phone(9001) })).results ?? []).toEqual([]);
    expect(await client.findBySourceId('BL-2')).toEqual([]);
  });
});

describe('2. persona by contact ID', () => {
  it('returns the persona, with fields the client does not know kept', async () => {
    const { control, client } = await start();
    const added = control.addPersona({ firstName: 'Jane', lastName: 'Doe', mobilePhone: phone(1), email: 'jane@example.com', srcID: 'T-1' });
    const got = await client.getPersona(asContactId(added.contactID));
    expect(got).toMatchObject({ contactID: added.contactID, firstName: 'Jane', lastName: 'Doe', mobilePhone: phone(1), srcID: 'T-1' });
  });

  it('is null for an unknown contact', async () => {
    const { client } = await start();
    expect(await client.getPersona(asContactId('ffffffffffffffffffffffffffffffff'))).toBeNull();
  });
});

describe('3. new contact', () => {
  it('creates a contact and answers its ID', async () => {
    const { control, client } = await start();
    const { contactID } = await client.createContact({ mobilePhone: phone(3), firstName: 'New', loyalty: true });
    expect(contactID).toMatch(/^[0-9a-f]{32}$/);
    expect(control.persona(contactID)).toMatchObject({ firstName: 'New', mobilePhone: phone(3) });
    expect(control.ledger().filter((e) => e.route === 'createContact')).toHaveLength(1);
  });
});

describe('4–5. override attributes', () => {
  it('writes fields that read back, merged key by key; none reads as null', async () => {
    const { control, client } = await start();
    const a = asContactId(control.addPersona({ firstName: 'A' }).contactID);
    const b = asContactId(control.addPersona({ firstName: 'B' }).contactID);
    expect(await client.readOverride(a)).toBeNull();
    await client.writeOverride(a, { firstName: 'Ann', birthday: '1990-01-01' });
    await client.writeOverride(a, { lastName: 'Lee' });
    expect(await client.readOverride(a)).toMatchObject({ firstName: 'Ann', birthday: '1990-01-01', lastName: 'Lee' });
    expect(await client.readOverride(b)).toBeNull();
  });

  it('writing for an unknown contact is AiqNotFoundError', async () => {
    const { client } = await start();
    await expect(client.writeOverride(asContactId('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'), { firstName: 'X' })).rejects.toBeInstanceOf(AiqNotFoundError);
  });
});

describe('6. loyalty status', () => {
  it('looks up by phone (any format) and by email; unknown is null', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(6), email: 'vip+tag@example.com', loyalty: true, loyaltyPoints: 40 });
    const byPhone = await client.loyaltyLookup(`+1 (212) 555-${String(6).padStart(4, '0')}`);
    expect(byPhone).toMatchObject({ contactID: p.contactID, loyalty: true, loyaltyPoints: 40 });
    const byEmail = await client.loyaltyLookup('VIP+tag@example.com');
    expect(byEmail?.contactID).toBe(p.contactID);
    expect(await client.loyaltyLookup(phone(7))).toBeNull();
    expect(await client.loyaltyLookup('nobody@example.com')).toBeNull();
  });
});

describe('7. SMS opt-in', () => {
  it('force-sets the opt-in by default', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(10) });
    await client.optIn(phone(10), {});
    expect(control.persona(p.contactID)?.optinTime).toEqual(expect.any(Number));
    expect((await client.loyaltyLookup(phone(10)))?.smsOptIn).toBe(true);
  });

  it('leaves an opted-out number opted out', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(11), optedOut: true });
    await client.optIn(phone(11), {});
    await client.optIn(phone(11), { doubleOpt: true });
    const after = control.persona(p.contactID);
    expect(after?.optoutTime).toEqual(expect.any(Number));
    expect(after?.optinTime ?? null).toBeNull();
    expect(after?.hasRequested ?? false).toBe(false);
  });

  it('with doubleOpt leaves the contact requested until the customer answers YES', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(12) });
    await client.optIn(phone(12), { doubleOpt: true });
    const pending = control.persona(p.contactID);
    expect(pending?.hasRequested).toBe(true);
    expect(pending?.optreqTime).toEqual(expect.any(Number));
    expect(pending?.optinTime ?? null).toBeNull();
    expect(control.ledger().at(-1)).toMatchObject({ route: 'optIn', outcome: 'requested' });
    control.replyToOptIn(phone(12), 'YES');
    expect(control.persona(p.contactID)?.optinTime).toEqual(expect.any(Number));
  });

  it('with loyalty=false skips the double opt-in flow', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(13) });
    await client.optIn(phone(13), { doubleOpt: true, loyalty: false });
    expect(control.persona(p.contactID)?.optinTime).toEqual(expect.any(Number));
  });
});

describe('8–9. points and the adjustments feed', () => {
  it('two adjustments add up and both appear in the feed with their notes', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(20), loyalty: true, loyaltyPoints: 100 });
    const cid = asContactId(p.contactID);
    const from = nowS() - 5;
    await client.adjustPoints(cid, 25, 'pos:treez:1:T-1:sale');
    await client.adjustPoints(cid, -10, 'pos:treez:1:T-2:return');
    expect(control.persona(p.contactID)?.loyaltyPoints).toBe(115);
    expect((await client.getPersona(cid))?.loyaltyPoints).toBe(115);
    const feed = await client.listAdjustments(from, nowS() + 5);
    const mine = feed.filter((a) => a.cntID === p.contactID);
    expect(mine.map((a) => [a.value, a.note])).toEqual([
      [25, 'pos:treez:1:T-1:sale'],
      [-10, 'pos:treez:1:T-2:return'],
    ]);
    for (const a of mine) expect(a.ts).toBeGreaterThanOrEqual(from);
  });

  it('an empty range is an empty list', async () => {
    const { client } = await start();
    expect(await client.listAdjustments(1_000, 2_000)).toEqual([]);
  });

  it('refuses a fractional value without sending it', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(21) });
    await expect(client.adjustPoints(asContactId(p.contactID), 2.5, 'n')).rejects.toBeInstanceOf(PayloadInvalidError);
    expect(control.stats().requests).toBe(0);
  });
});

describe('10. persona by source ID', () => {
  it('keeps only exact srcID matches from the search', async () => {
    const { control, client } = await start();
    const bySrc = control.addPersona({ firstName: 'Src', srcID: phone(30) });
    // The same digits as another contact's phone: AIQ's search matches both.
    control.addPersona({ firstName: 'Phone', mobilePhone: phone(30) });
    const searched = await client.listPersonas({ search: phone(30) });
    expect(searched.results).toHaveLength(2);
    const found = await client.findBySourceId(phone(30));
    expect(found.map(id)).toEqual([bySrc.contactID]);
    expect(await client.findBySourceId('no-such-src')).toEqual([]);
  });
});

describe('11. custom attributes', () => {
  it('POST upserts by key, PUT replaces the set, GET reads it', async () => {
    const { control, client } = await start();
    const cid = asContactId(control.addPersona({ firstName: 'Attr' }).contactID);
    expect(await client.getCustomAttributes(cid)).toEqual([]);
    await client.upsertCustomAttributes(cid, [
      { key: 'tier', value: 'gold' },
      { key: 'store', value: '12' },
    ]);
    await client.upsertCustomAttributes(cid, [{ key: 'tier', value: 'platinum' }]);
    const upserted = await client.getCustomAttributes(cid);
    expect(Object.fromEntries(upserted.map((a) => [a.key, a.value]))).toEqual({ tier: 'platinum', store: '12' });
    await client.replaceCustomAttributes(cid, [{ key: 'vip', value: 'yes' }]);
    const replaced = await client.getCustomAttributes(cid);
    expect(replaced.map((a) => [a.key, a.value])).toEqual([['vip', 'yes']]);
  });
});

describe('12–14. orders, points timeline, recommendations', () => {
  it('reads orders of a seeded persona; an unknown contact is AiqNotFoundError', async () => {
    const { control, client } = await start();
    const seeded = control.seed(40).filter((p) => control.persona(p.contactID)?.blocklisted === false);
    let items = 0;
    for (const p of seeded) {
      const orders = await client.getOrders(asContactId(p.contactID));
      for (const o of orders) {
        expect(o).toMatchObject({ name: expect.any(String), quantity: expect.any(Number), totalPrice: expect.any(Number) });
        expect(o.timestamp).toEqual(expect.any(Number));
      }
      items += orders.length;
    }
    expect(items).toBeGreaterThan(0);
    await expect(client.getOrders(asContactId('dddddddddddddddddddddddddddddddd'))).rejects.toBeInstanceOf(AiqNotFoundError);
  });

  it('the points timeline shows an adjustment with its running balance', async () => {
    const { control, client } = await start();
    const p = control.addPersona({ mobilePhone: phone(40), loyalty: true, loyaltyPoints: 10 });
    const cid = asContactId(p.contactID);
    await client.adjustPoints(cid, 7, 'pos:x:1:T-9:sale');
    const timeline = await client.getPointsTimeline(cid, { startS: nowS() - 60, endS: nowS() + 60 });
    expect(timeline.contactID).toBe(p.contactID);
    expect(timeline.events.at(-1)).toMatchObject({ value: 7, balance: 17, note: 'pos:x:1:T-9:sale' });
  });

  it('recommendations come best first', async () => {
    const { control, client } = await start();
    const [p] = control.seed(1);
    const recs = await client.getRecommendations(asContactId(p!.contactID));
    expect(recs.length).toBeGreaterThan(0);
    const scores = recs.map((r) => r.score);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
    expect(recs[0]).toMatchObject({ productID: expect.any(String), name: expect.any(String) });
  });
});

describe('route overrides', () => {
  it('send a call to the overridden path', async () => {
    const { control, client } = await start({ routes: { adjustPoints: '/api/v1.1/adjust/loyaltyPointz/{uid}/{contactID}' } });
    const p = control.addPersona({ mobilePhone: phone(50), loyaltyPoints: 5 });
    await expect(client.adjustPoints(asContactId(p.contactID), 1, 'n')).rejects.toBeInstanceOf(AiqNotFoundError);
    expect(control.ledger()).toEqual([]);
    expect(control.persona(p.contactID)?.loyaltyPoints).toBe(5);
  });

  it('work with a different but valid template', async () => {
    // The simulator matches paths case-insensitively, as AIQ does.
    const { control, client } = await start({ routes: { getPersona: '/API/V1.1/PIIS/{uid}/{contactID}' } });
    const p = control.addPersona({ firstName: 'Case' });
    expect((await client.getPersona(asContactId(p.contactID)))?.firstName).toBe('Case');
  });
});

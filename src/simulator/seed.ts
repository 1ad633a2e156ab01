import type { OrderItem, PredictedProduct, TimelineEvent } from '../lib/aiq/types.ts';
import { AREA_CODES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, PLATFORMS, PRODUCTS, STORES } from './catalog.ts';
import { createRng, hashString } from './prng.ts';
import { newPersona, newRecord, type AccountState, type PersonaRecord } from './state.ts';

/**
 * Seeded timestamps are spread over the three years before this fixed instant (2025-01-01), so
 * the data does not depend on the day the simulator starts.
 */
export const SEED_EPOCH_S = 1_735_689_600;
const THREE_YEARS_S = 3 * 365 * 86_400;

/** Share of seeded personas that are blocklisted, explicitly opted out, pending a double opt-in. */
export const SEED_RATES = { blocklisted: 0.02, optedOut: 0.05, pending: 0.03, optedIn: 0.6, member: 0.7 } as const;

function uniquePhone(state: AccountState): string {
  for (;;) {
    const { rng } = state;
    const phone = `${rng.pick(AREA_CODES)}${rng.int(200, 999)}${String(rng.int(0, 9999)).padStart(4, '0')}`;
    if (!state.byMobile(phone) && state.byAnyPhone(phone).length === 0) return phone;
  }
}

function uniqueEmail(state: AccountState, first: string, last: string): string {
  const { rng } = state;
  const base = `${first}.${last}`.toLowerCase();
  const domain = rng.pick(EMAIL_DOMAINS);
  for (let n = rng.int(1, 99); ; n += rng.int(1, 97)) {
    const email = `${base}${n}@${domain}`;
    if (!state.byMail(email)) return email;
  }
}

function seedOrders(state: AccountState, rec: PersonaRecord, fromS: number): void {
  const { rng } = state;
  const store = STORES.find((s) => s.id === rec.persona.favoriteStoreID) ?? rng.pick(STORES);
  const count = rng.int(0, 5);
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(rng.int(fromS, SEED_EPOCH_S - 60));
  times.sort((a, b) => a - b);
  let spent = 0;
  for (const timestamp of times) {
    const items = rng.int(1, 4);
    let orderTotal = 0;
    for (let i = 0; i < items; i++) {
      const product = rng.pick(PRODUCTS);
      const quantity = rng.int(1, 3);
      const item: OrderItem = {
        name: product.name,
        brand: product.brand,
        category: product.category,
        productID: product.productID,
        quantity,
        totalPrice: product.price * quantity,
        timestamp,
        storeName: rng.chance(0.8) ? store.name : rng.pick(STORES).name,
      };
      orderTotal += item.totalPrice;
      rec.orders.push(item);
    }
    spent += orderTotal;
    if (rec.persona.loyalty === true) earn(rec, timestamp, orderTotal, 'order');
  }
  rec.persona.spent = spent;
  if (rec.persona.loyalty === true && (rec.persona.loyaltyPoints ?? 0) > 20 && rng.chance(0.25)) {
    const used = rng.int(10, Math.min(200, rec.persona.loyaltyPoints ?? 0));
    earn(rec, SEED_EPOCH_S - 30, -used, 'redemption');
    rec.persona.usedPoints = used;
  }
}

function earn(rec: PersonaRecord, ts: number, value: number, type: TimelineEvent['type']): void {
  const balance = (rec.persona.loyaltyPoints ?? 0) + value;
  rec.persona.loyaltyPoints = balance;
  rec.timeline.push({ ts, type, value, balance, note: type === 'order' ? 'points earned on purchase' : 'reward redeemed' });
}

/** One realistic persona, drawn from the account's PRNG and indexed. */
export function seedPersona(state: AccountState): PersonaRecord {
  const { rng } = state;
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const platform = rng.pick(PLATFORMS);
  const inserted = SEED_EPOCH_S - rng.int(86_400, THREE_YEARS_S);
  const hasPhone = rng.chance(0.95);
  const hasEmail = rng.chance(0.9) || !hasPhone;
  const member = rng.chance(SEED_RATES.member);
  state.srcSeq += rng.int(1, 9);
  const persona = newPersona(state.newContactId(), inserted, rng, {
    srcID: `${platform.prefix}-${state.srcSeq}`,
    firstName: first,
    lastName: last,
    mobilePhone: hasPhone ? uniquePhone(state) : null,
    homePhone: rng.chance(0.1) ? uniquePhone(state) : null,
    email: hasEmail ? uniqueEmail(state, first, last) : null,
    platform: platform.name,
    favoriteStoreID: rng.chance(0.85) ? rng.pick(STORES).id : null,
    loyalty: member,
    loyaltySignupTS: member ? inserted + rng.int(0, 30 * 86_400) : null,
    lastTouch: SEED_EPOCH_S - rng.int(0, 180 * 86_400),
  });
  const rec = newRecord(persona);
  const sms = rng.next();
  if (hasPhone) {
    if (sms < SEED_RATES.optedOut) {
      persona.optoutTime = inserted + rng.int(86_400, 200 * 86_400);
    } else if (sms < SEED_RATES.optedOut + SEED_RATES.pending) {
      persona.optreqTime = inserted + rng.int(0, 86_400);
      persona.hasRequested = true;
    } else if (sms < SEED_RATES.optedOut + SEED_RATES.pending + SEED_RATES.optedIn) {
      persona.optinTime = inserted + rng.int(0, 86_400);
    }
  }
  if (hasEmail && rng.chance(0.5)) persona.emailOptInTime = inserted + rng.int(0, 86_400);
  seedOrders(state, rec, inserted);
  rec.blocklisted = rng.chance(SEED_RATES.blocklisted);
  state.insert(rec);
  return rec;
}

/** Products ranked for a contact: brands and categories it bought score higher; stable per contact. */
export function recommendationsFor(rec: PersonaRecord, count = 5): PredictedProduct[] {
  const brands = new Set(rec.orders.map((o) => o.brand));
  const categories = new Set(rec.orders.map((o) => o.category));
  const rng = createRng(hashString(rec.persona.contactID));
  return PRODUCTS.map((p) => {
    const affinity = (brands.has(p.brand) ? 0.35 : 0) + (categories.has(p.category) ? 0.25 : 0);
    const score = Math.round(Math.min(0.99, affinity + rng.next() * 0.4) * 1000) / 1000;
    return { productID: p.productID, name: p.name, brand: p.brand, category: p.category, score };
  })
    .sort((a, b) => b.score - a.score || a.productID.localeCompare(b.productID))
    .slice(0, count);
}

import type { Adjustment, TimelineEvent } from '../lib/aiq/types.ts';
import { toSeconds, type AccountState, type PersonaRecord } from './state.ts';

function displayName(rec: PersonaRecord): string | null {
  const name = [rec.persona.firstName, rec.persona.lastName].filter((n) => typeof n === 'string' && n.length > 0).join(' ');
  return name.length > 0 ? name : null;
}

/** Adds a signed delta to the balance: one feed row and one timeline event. Not idempotent, like AIQ. */
export function adjustPoints(state: AccountState, rec: PersonaRecord, value: number, note: string, nowMs: number): Adjustment {
  const ts = toSeconds(nowMs);
  const p = rec.persona;
  const balance = (p.loyaltyPoints ?? 0) + value;
  const changes: Record<string, unknown> = { loyaltyPoints: balance, lastTouch: ts };
  if (value < 0) changes.usedPoints = (typeof p.usedPoints === 'number' ? p.usedPoints : 0) - value;
  state.update(rec, changes);
  const row: Adjustment = {
    cntID: p.contactID,
    value,
    note,
    ts,
    phone: p.mobilePhone ?? null,
    email: p.email ?? null,
    name: displayName(rec),
  };
  state.adjustments.push(row);
  rec.timeline.push({ ts, type: 'adjustment', value, balance, note });
  return row;
}

/** The first index whose `ts` is at least `ts` (the feed is in time order). */
function lowerBound(rows: readonly Adjustment[], ts: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((rows[mid]?.ts ?? 0) < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Every adjustment of the account in [startS, endS], both inclusive; null when none (as AIQ). */
export function adjustmentsBetween(state: AccountState, startS: number, endS: number): Adjustment[] | null {
  const rows = state.adjustments.slice(lowerBound(state.adjustments, startS), lowerBound(state.adjustments, endS + 1));
  return rows.length > 0 ? rows : null;
}

/** Timeline events in [startS, endS] (either bound optional), oldest first. */
export function timelineBetween(rec: PersonaRecord, startS: number | undefined, endS: number | undefined): TimelineEvent[] {
  return rec.timeline.filter((e) => (startS === undefined || e.ts >= startS) && (endS === undefined || e.ts <= endS));
}

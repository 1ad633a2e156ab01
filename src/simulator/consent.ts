import { conflict, notFound } from './errors.ts';
import type { OptInOutcome } from './types.ts';
import { isSmsOptedIn, toSeconds, type AccountState, type PersonaRecord } from './state.ts';

export interface OptInParams {
  /** Send the number through the double opt-in flow (a confirmation text). */
  doubleOpt: boolean;
  /** The `{loyalty}` path parameter: false skips the double opt-in flow. */
  loyalty: boolean;
}

/**
 * AIQ's SMS opt-in rules (aiq-api.md, 7):
 * - an explicit opt-out is sticky: the call succeeds and changes nothing;
 * - a blocklisted contact is never messaged: the call succeeds and changes nothing;
 * - `doubleOpt` with `loyalty` puts the number in the "requested" state, every call sending a
 *   new confirmation text (a repeat is not idempotent), unless it is already opted in;
 * - otherwise the opt-in is force-set (an existing opt-in keeps its time).
 */
export function applyOptIn(state: AccountState, rec: PersonaRecord, params: OptInParams, nowMs: number): OptInOutcome {
  const p = rec.persona;
  if (p.optoutTime != null) return 'unchanged:optedOut';
  if (rec.blocklisted) return 'unchanged:blocklisted';
  if (isSmsOptedIn(p)) return 'unchanged:alreadyOptedIn';
  const now = toSeconds(nowMs);
  if (params.doubleOpt && params.loyalty) {
    state.update(rec, { optreqTime: now, hasRequested: true, lastTouch: now });
    return 'requested';
  }
  state.update(rec, { optinTime: now, hasRequested: false, lastTouch: now });
  return 'optedIn';
}

/** An explicit opt-out: sticky, no API call opts the number in again. */
export function applyOptOut(state: AccountState, rec: PersonaRecord, nowMs: number): OptInOutcome {
  const now = toSeconds(nowMs);
  if (rec.persona.optoutTime != null) return 'unchanged:optedOut';
  state.update(rec, { optoutTime: now, optinTime: null, hasRequested: false, lastTouch: now });
  return 'optedOut';
}

/**
 * The customer answers the confirmation text. YES needs a pending request (SIM_CONFLICT
 * otherwise); STOP opts out for good, pending or not.
 */
export function replyToOptIn(state: AccountState, phone: string, reply: 'YES' | 'STOP', nowMs: number): void {
  const rec = state.byMobile(phone);
  if (!rec) throw notFound('no contact has this mobile phone');
  if (reply === 'STOP') {
    applyOptOut(state, rec, nowMs);
    return;
  }
  if (rec.persona.hasRequested !== true) throw conflict('no double opt-in is pending for this phone');
  const now = toSeconds(nowMs);
  state.update(rec, { optinTime: now, hasRequested: false, lastTouch: now });
}

/** `GET /api/v2/loyalty/lookup/{pii}`: the lightweight status, or null. */
export function loyaltyStatus(rec: PersonaRecord): Record<string, unknown> {
  const p = rec.persona;
  return {
    contactID: p.contactID,
    loyalty: p.loyalty === true,
    smsOptIn: isSmsOptedIn(p),
    emailOptIn: p.emailOptInTime != null,
    loyaltyPoints: p.loyaltyPoints ?? 0,
  };
}

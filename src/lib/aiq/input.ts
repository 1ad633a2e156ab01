import { PayloadInvalidError } from '../errors.ts';
import { normalizeEmail, normalizePhone } from '../normalize.ts';
import type { ContactId, CustomAttribute, ListPersonasQuery } from './types.ts';

/**
 * Checks of call arguments that would otherwise reach AIQ as a malformed request. Each throws
 * PayloadInvalidError before any request is made.
 */

export function assertContactId(contactId: ContactId): string {
  if (typeof contactId !== 'string' || contactId.trim() === '') {
    throw new PayloadInvalidError([{ path: 'contactID', message: 'must be a non-empty string' }]);
  }
  return contactId;
}

export function assertPhone(phone: string, path = 'phone'): string {
  const normalized = typeof phone === 'string' ? normalizePhone(phone) : null;
  if (normalized === null) throw new PayloadInvalidError([{ path, message: 'must be a 10-digit US phone number' }]);
  return normalized;
}

/** A phone (normalised to 10 digits) or an email (trimmed, lower-cased). */
export function assertPhoneOrEmail(value: string): string {
  if (typeof value === 'string' && value.includes('@')) {
    const email = normalizeEmail(value);
    if (email === null) throw new PayloadInvalidError([{ path: 'pii', message: 'not a valid email address' }]);
    return email;
  }
  return assertPhone(value, 'pii');
}

export function assertInteger(value: number, path: string, { min }: { min?: number } = {}): number {
  if (!Number.isSafeInteger(value)) throw new PayloadInvalidError([{ path, message: `must be an integer (got ${String(value)})` }]);
  if (min !== undefined && value < min) throw new PayloadInvalidError([{ path, message: `must be at least ${min}` }]);
  return value;
}

export function assertRange(startS: number, endS: number): void {
  assertInteger(startS, 'startS', { min: 0 });
  assertInteger(endS, 'endS', { min: 0 });
  if (startS > endS) throw new PayloadInvalidError([{ path: 'startS', message: 'must not be after endS' }]);
}

export function assertListQuery(query: ListPersonasQuery): void {
  if (query.start !== undefined) assertInteger(query.start, 'start', { min: 0 });
  if (query.limit !== undefined) assertInteger(query.limit, 'limit', { min: 1 });
}

export function assertCustomAttributes(items: CustomAttribute[]): CustomAttribute[] {
  if (!Array.isArray(items)) throw new PayloadInvalidError([{ path: 'items', message: 'must be an array' }]);
  const issues = items.flatMap((item, i) => {
    const found = [];
    if (typeof item?.key !== 'string' || item.key === '') found.push({ path: `items.${i}.key`, message: 'must be a non-empty string' });
    if (typeof item?.value !== 'string') found.push({ path: `items.${i}.value`, message: 'must be a string' });
    return found;
  });
  if (issues.length > 0) throw new PayloadInvalidError(issues);
  return items;
}

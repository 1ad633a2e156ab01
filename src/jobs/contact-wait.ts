import type { ContactId } from '../lib/aiq/types.ts';
import { ContactNotFoundError, PreconditionError, type ErrorCode } from '../lib/errors.ts';
import type { Customer } from '../producers/schemas.ts';
import { RetryLater, type HandlerContext } from './types.ts';

/** How long to wait between looks, by what is awaited. */
export const WAIT_SCHEDULES = {
  // POS data can take a day to reach AIQ.
  AIQ_ERR_CONTACT_NOT_FOUND: { minMs: 30_000, maxMs: 3_600_000 },
  // An original sale is usually a moment behind its return or void.
  AIQ_ERR_PRECONDITION: { minMs: 500, maxMs: 300_000 },
} as const;

/**
 * Delay before looking again for something that is not there yet: a quarter of the time waited
 * so far, within the schedule's bounds.
 */
export function slowRetryDelayMs(waitedMs: number, schedule: { minMs: number; maxMs: number }): number {
  return Math.min(schedule.maxMs, Math.max(schedule.minMs, Math.floor(waitedMs / 4)));
}

/**
 * Throws RetryLater on the slow schedule, or, once the job has waited `waitLimitMs` since it was
 * enqueued, a non-retryable error with `code` (the job is then dead).
 */
export function slowRetry(ctx: HandlerContext, reason: string, code: Extract<ErrorCode, 'AIQ_ERR_CONTACT_NOT_FOUND' | 'AIQ_ERR_PRECONDITION'>): never {
  const now = Date.now();
  const waited = now - ctx.enqueuedAt;
  if (waited >= ctx.settings.waitLimitMs) {
    const message = `${reason}: gave up after ${Math.round(waited / 60_000)} min`;
    throw code === 'AIQ_ERR_CONTACT_NOT_FOUND'
      ? new ContactNotFoundError(message, { retryable: false })
      : new PreconditionError(message, { retryable: false });
  }
  const schedule = { ...WAIT_SCHEDULES[code], ...(code === 'AIQ_ERR_CONTACT_NOT_FOUND' ? ctx.settings.contactRetry : {}) };
  throw new RetryLater(now + Math.min(slowRetryDelayMs(waited, schedule), ctx.settings.waitLimitMs - waited + 1), reason);
}

/** The customer's contact ID, or RetryLater on the slow schedule while AIQ does not know them. */
export async function resolveContact(customer: Customer, ctx: HandlerContext, source = 'aiq-sync'): Promise<ContactId> {
  const found = await ctx.account.resolver.resolve(customer, { signal: ctx.signal });
  if (found !== null) return found;
  if (ctx.settings.contactNotFound === 'create' && (customer.phone !== undefined || customer.email !== undefined)) {
    await ctx.requestContact(customer, source);
  }
  return slowRetry(ctx, 'the customer is not in AIQ yet', 'AIQ_ERR_CONTACT_NOT_FOUND');
}

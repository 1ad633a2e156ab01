import { AiqNotFoundError, ContactNotFoundError, PreconditionError } from '../lib/errors.ts';
import { originalSaleKey, posKey } from '../lib/idempotency.ts';
import type { ContactId } from '../lib/aiq/types.ts';
import { posTransactionSchema, type PosTransaction } from '../producers/schemas.ts';
import { applyOnce } from './apply-once.ts';
import { resolveContact, slowRetry } from './contact-wait.ts';
import { BASE_JOB_OPTIONS, type HandlerContext, type JobModule, type Outcome } from './types.ts';

/** Points a sale earns, or a return takes back, from its own total (or explicit points). */
export function earnedPoints(t: Pick<PosTransaction, 'total' | 'points'>, pointsPerDollar: number): number {
  if (t.points !== undefined) return t.points;
  return Math.floor((t.total ?? 0) * pointsPerDollar + 1e-9);
}

/** Seconds of AIQ clock skew allowed around the first attempt when reading the adjustments feed. */
const FEED_MARGIN_S = 300;

interface PointsPlan {
  value: number;
  contactID: ContactId | null;
  reason?: string;
}

/** For a return or a void: what its original sale did, or RetryLater while it has not finished. */
async function planReversal(t: PosTransaction, ctx: HandlerContext): Promise<PointsPlan> {
  const saleKey = originalSaleKey(t);
  if (saleKey === null) throw new PreconditionError('a return or void needs originalTransactionId', { retryable: false });
  const sale = await ctx.ledger.get(saleKey);
  if (!sale?.terminal) {
    slowRetry(ctx, `waiting for the original sale ${saleKey}`, 'AIQ_ERR_PRECONDITION');
  }
  const terminal = sale?.terminal;
  const saleContact = (sale?.fields.contactID || null) as ContactId | null;
  if (terminal !== 'points.applied') {
    return { value: 0, contactID: saleContact, reason: `original sale ended ${terminal ?? 'unknown'}` };
  }
  if (t.type === 'void') return { value: -Number(sale?.fields.value ?? 0), contactID: saleContact };
  return { value: -earnedPoints(t, ctx.settings.pointsPerDollar), contactID: saleContact };
}

async function handlePoints(t: PosTransaction, ctx: HandlerContext): Promise<Outcome> {
  const plan: PointsPlan =
    t.type === 'sale' ? { value: earnedPoints(t, ctx.settings.pointsPerDollar), contactID: null } : await planReversal(t, ctx);
  const detail = { type: t.type, value: plan.value, ...(plan.reason === undefined ? {} : { reason: plan.reason }) };
  if (plan.value === 0) return { kind: 'points.unchanged', fields: { value: 0 }, detail };

  const { client, resolver } = ctx.account;
  const note: string = ctx.key;
  let contactID = plan.contactID ?? (await resolveContact(t.customer, ctx, t.source));
  for (let round = 0; ; round += 1) {
    const target = contactID;
    try {
      const result = await applyOnce(ctx, {
        reconcile: async (firstAttemptAt) => {
          const start = Math.floor(firstAttemptAt / 1000) - FEED_MARGIN_S;
          const end = Math.ceil(Date.now() / 1000) + FEED_MARGIN_S;
          const feed = await client.listAdjustments(start, end, { signal: ctx.signal });
          return feed.some((a) => a.note === note);
        },
        call: () => client.adjustPoints(target, plan.value, note, { signal: ctx.signal }),
      });
      return {
        kind: 'points.applied',
        contactID: target,
        fields: { value: plan.value, contactID: target },
        detail: { ...detail, reconciled: result === 'reconciled' },
      };
    } catch (err) {
      // 404 on the contact: merged away overnight. Not applied; look the customer up again once.
      if (!(err instanceof AiqNotFoundError) || round > 0) throw err;
      await resolver.invalidate(t.customer);
      const again = await resolver.resolve(t.customer, { signal: ctx.signal });
      if (again === null || again === target) throw new ContactNotFoundError(`contact ${target} is gone from AIQ`, { cause: err });
      ctx.log.info('contact ID changed (merged): retrying with the new one');
      contactID = again;
    }
  }
}

export const pointsJob = {
  queue: 'points',
  lane: 'realtime',
  schema: posTransactionSchema,
  options: BASE_JOB_OPTIONS,
  keyOf: posKey,
  accountOf: (t) => t.account ?? 'default',
  handle: handlePoints,
} satisfies JobModule<PosTransaction>;

import { AiqSyncError } from '../lib/errors.ts';
import type { ReleaseMode } from '../lib/ledger.ts';
import { RetryLater, type HandlerContext } from './types.ts';

/** Error codes after which AIQ may have applied the request. */
const MAY_HAVE_APPLIED = new Set(['AIQ_ERR_OUTCOME_UNKNOWN', 'AIQ_ERR_SERVER', 'AIQ_ERR_RESPONSE_INVALID', 'AIQ_ERR_ABORTED']);
/** Of those, the ones where AIQ answered: the request is no longer in flight. */
const ANSWERED = new Set(['AIQ_ERR_SERVER', 'AIQ_ERR_RESPONSE_INVALID']);

/** How to leave a key after a failed call. */
export function releaseModeFor(err: unknown, knownAbsent: boolean): ReleaseMode {
  if (!mayHaveApplied(err)) return knownAbsent ? 'clear' : 'answered';
  return err instanceof AiqSyncError && ANSWERED.has(err.code) ? 'answered' : 'ambiguous';
}

/** True when an error leaves it open whether AIQ applied the request. */
export function mayHaveApplied(err: unknown): boolean {
  // An error we did not raise on purpose (a bug, a dropped Redis connection mid-call) is
  // treated as ambiguous too: reconciling costs one read, a double credit costs a complaint.
  return !(err instanceof AiqSyncError) || MAY_HAVE_APPLIED.has(err.code);
}

export type ApplyResult = 'applied' | 'reconciled' | 'terminal';

export interface ApplyOnceSteps {
  /**
   * Asked only when an earlier attempt may have applied the effect: true when AIQ shows it was
   * applied (the adjustments feed holds the key, the contact exists, the opt-in is requested).
   */
  reconcile(firstAttemptAt: number): Promise<boolean>;
  /** The non-idempotent call. */
  call(): Promise<void>;
}

/**
 * Runs a non-idempotent AIQ call at most once per idempotency key, across retries, crashes and
 * concurrent deliveries of the same job:
 * 1. claim the key in the ledger (a lease, renewed while the call runs);
 * 2. if an earlier attempt ended ambiguously (or died holding the key), reconcile first;
 * 3. call; on an error, release the key as `clear` (nothing applied) or `ambiguous`.
 * A key held by another live attempt makes this job wait (RetryLater), never call.
 */
export async function applyOnce(ctx: HandlerContext, steps: ApplyOnceSteps): Promise<ApplyResult> {
  const { ledger, key, owner, settings } = ctx;
  const claim = await ledger.claim(key, owner, settings.leaseMs, settings.settleMs);
  if (claim.kind === 'terminal') return 'terminal';
  if (claim.kind === 'busy') throw new RetryLater(claim.leaseUntil + 50, 'another attempt holds this key');
  if (claim.kind === 'unconfirmed') {
    ctx.log.warn('the Redis replicas did not confirm the idempotency claim in time (REDIS_WAIT_REPLICAS): not calling AIQ, trying again in 1 s');
    throw new RetryLater(Date.now() + 1_000, 'claim not confirmed by the Redis replicas');
  }

  const renewEvery = Math.max(200, Math.floor(settings.leaseMs / 3));
  const timer = setInterval(() => {
    ledger.renew(key, owner, settings.leaseMs).catch((err: unknown) => ctx.log.warn({ err }, 'could not renew the idempotency lease'));
  }, renewEvery);
  timer.unref();
  // Until the reconciliation has shown the effect absent, an error leaves the key ambiguous.
  let knownAbsent = claim.kind === 'fresh';
  try {
    if (claim.kind === 'ambiguous') {
      ctx.log.info({ firstAttemptAt: claim.firstAttemptAt }, 'an earlier attempt may have applied this: reconciling');
      const found = await steps.reconcile(claim.firstAttemptAt);
      ctx.onReconcile?.(found);
      if (found) return 'reconciled';
      knownAbsent = true;
    }
    await steps.call();
    return 'applied';
  } catch (err) {
    await ledger.release(key, owner, releaseModeFor(err, knownAbsent)).catch((releaseErr: unknown) => {
      // The lease expires by itself; the next attempt then reconciles.
      ctx.log.warn({ err: releaseErr }, 'could not release the idempotency key');
    });
    throw err;
  } finally {
    clearInterval(timer);
  }
}

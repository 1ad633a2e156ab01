/** The replies of the rate budget's Lua scripts (rate-budget.lua.ts), parsed and checked. */

/** A reserved slot: its Redis-clock instant and its member in the grant logs. */
export interface SlotGrant {
  at: number;
  member: string;
  /** A window was nearly full when it was granted: a late send must be logged as late. */
  tight: boolean;
}

/** What one call of the acquire script gave: reserved slots, or how long to wait (Redis clock). */
export interface AcquireReply {
  grants: SlotGrant[];
  waitMs: number;
  /** The Redis clock when the script ran, epoch ms. */
  now: number;
}

function unexpected(reply: unknown): Error {
  return new Error(`unexpected reply from a rate budget script: ${JSON.stringify(reply)}`);
}

/** Every element as a finite number, at least `min` of them. */
export function numbers(reply: unknown, min: number): number[] {
  const values = Array.isArray(reply) ? reply.map(Number) : [];
  if (values.length < min || values.some((v) => !Number.isFinite(v))) throw unexpected(reply);
  return values;
}

/** `{'n:tight', now, t1, member1, …}` or `{'0', waitMs, now}`. */
export function parseAcquireReply(reply: unknown): AcquireReply {
  const values = Array.isArray(reply) ? reply.map(String) : [];
  const [head = '', tightFlag] = (values[0] ?? '').split(':');
  const [count, second, third] = numbers([head, ...values.slice(1, 3)], 3) as [number, number, number];
  if (count === 0) return { grants: [], waitMs: second, now: third };
  const grants: SlotGrant[] = [];
  for (let k = 0; k < count; k += 1) {
    const at = Number(values[2 + 2 * k]);
    const member = values[3 + 2 * k];
    if (!Number.isFinite(at) || member === undefined) throw unexpected(reply);
    grants.push({ at, member, tight: tightFlag === '1' });
  }
  return { grants, waitMs: 0, now: second };
}

/**
 * Coalesces calls made in the same turn of the event loop into batches.
 *
 * Each `call(item)` joins the pending batch; the batch is sent once the current turn's I/O
 * callbacks have run (setImmediate), so under load, when many jobs finish their HTTP calls in
 * one turn, their Redis writes leave as one command instead of one each. A lone call waits for
 * nothing but the end of its turn. Batches hold at most `maxBatch` items; `send` answers one
 * result per item, in order, and a failed send rejects every caller of its batch.
 */
export interface Coalescer<I, R> {
  call(item: I): Promise<R>;
}

export function createCoalescer<I, R>(send: (items: readonly I[]) => Promise<readonly R[]>, maxBatch = 64): Coalescer<I, R> {
  interface Pending {
    item: I;
    resolve(value: R): void;
    reject(err: unknown): void;
  }
  let pending: Pending[] = [];
  let scheduled = false;

  async function dispatch(batch: Pending[]): Promise<void> {
    try {
      const results = await send(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} got ${results.length} results`);
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  function flush(): void {
    scheduled = false;
    const all = pending;
    pending = [];
    for (let i = 0; i < all.length; i += maxBatch) void dispatch(all.slice(i, i + maxBatch));
  }

  return {
    call(item) {
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}

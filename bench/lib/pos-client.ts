import { setTimeout as sleep } from 'node:timers/promises';
import type { PosBody } from './chaos-traffic.ts';

/**
 * A POS that posts batches to the ingress the way a careful one does: it retries on connection
 * errors, timeouts and 503 until it gets an answer, and remembers every key the ingress accepted
 * (202). Any other answer is recorded as a refusal.
 */

export interface PosClientStats {
  /** POSTs that got a final answer. */
  posts: number;
  /** Attempts that failed with a connection error or a timeout. */
  connectionErrors: number;
  /** 503 answers (Redis unreachable, ingress closing). */
  unavailable: number;
  /** Answers other than 202 and 503 (each a violation: the traffic is valid). */
  refused: Array<{ status: number; body: string }>;
  queued: number;
  duplicate: number;
}

export interface PosClient {
  /** Posts one batch until it is accepted (or `deadlineMs` from now passes: then throws). */
  post(batch: readonly PosBody[], deadlineMs?: number): Promise<void>;
  /** Keys the ingress answered 202 for, with the status of the last answer. */
  accepted: Map<string, 'queued' | 'duplicate'>;
  stats: PosClientStats;
}

export interface PosClientOptions {
  /** `http://host:port` of the ingress. */
  url: string;
  token: string;
  /** Per-request timeout; default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between retries; default 250 ms. */
  retryDelayMs?: number;
}

interface PosAnswer {
  results?: Array<{ idempotencyKey?: string; status?: 'queued' | 'duplicate' }>;
}

export function createPosClient(options: PosClientOptions): PosClient {
  const accepted = new Map<string, 'queued' | 'duplicate'>();
  const stats: PosClientStats = { posts: 0, connectionErrors: 0, unavailable: 0, refused: [], queued: 0, duplicate: 0 };
  const endpoint = `${options.url}/v1/pos/transactions`;

  return {
    accepted,
    stats,
    async post(batch, deadlineMs = 180_000) {
      const body = JSON.stringify(batch.length === 1 ? batch[0] : { transactions: batch });
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        let status = 0;
        let text = '';
        try {
          const res = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
            body,
            signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
          });
          status = res.status;
          text = await res.text();
        } catch {
          stats.connectionErrors += 1;
        }
        if (status === 202) {
          stats.posts += 1;
          const answer = JSON.parse(text) as PosAnswer;
          for (const r of answer.results ?? []) {
            if (r.idempotencyKey === undefined || r.status === undefined) continue;
            accepted.set(r.idempotencyKey, r.status);
            stats[r.status] += 1;
          }
          return;
        }
        if (status === 503) stats.unavailable += 1;
        else if (status !== 0) {
          stats.posts += 1;
          stats.refused.push({ status, body: text.slice(0, 500) });
          return;
        }
        if (Date.now() > deadline) throw new Error(`the ingress did not accept a batch within ${deadlineMs} ms`);
        await sleep(options.retryDelayMs ?? 250);
      }
    },
  };
}

import type { RateWindow } from '../../src/lib/config.ts';
import type { PosTransaction } from '../../src/producers/schemas.ts';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';

export const SIM_API_KEY = 'bench-key';
export const SIM_UID = '4242';

export interface BenchSimulator {
  sim: Simulator;
  /** Contact IDs of seeded, not blocklisted personas. */
  contactIDs: string[];
}

/** The AIQ stand-in with `personas` seeded personas (no faults). */
export async function startSimulator(options: { personas: number; limits?: RateWindow[] }): Promise<BenchSimulator> {
  const sim = await createSimulator({ apiKey: SIM_API_KEY, uid: SIM_UID, ...(options.limits ? { limits: options.limits } : {}) });
  const contactIDs = sim.control
    .seed(options.personas)
    .map((p) => p.contactID)
    .filter((id) => sim.control.persona(id)?.blocklisted === false);
  return { sim, contactIDs };
}

/** The environment of a worker or producer app against the simulator. */
export function appEnv(options: { redisUrl: string; prefix: string; simUrl: string; rateLimits: string; concurrency?: number; extra?: Record<string, string> }): Record<string, string> {
  return {
    REDIS_URL: options.redisUrl,
    SYNC_PREFIX: options.prefix,
    AIQ_BASE_URL: options.simUrl,
    AIQ_API_KEY: SIM_API_KEY,
    AIQ_UID: SIM_UID,
    AIQ_RATE_LIMITS: options.rateLimits,
    WORKER_CONCURRENCY: String(options.concurrency ?? 16),
    WORKER_WATCHDOG_INTERVAL_MS: '0',
    LOG_LEVEL: 'silent',
    ...options.extra,
  };
}

/** POS sales for customers by contactID, with unique transaction IDs under `tag`. */
export function sales(contactIDs: readonly string[], count: number, tag: string, offset = 0): PosTransaction[] {
  return Array.from({ length: count }, (_, k) => {
    const i = offset + k;
    return {
      source: 'bench',
      storeId: '1',
      transactionId: `${tag}-${i}`,
      type: 'sale' as const,
      occurredAt: '2026-11-28T10:00:00Z',
      customer: { contactID: contactIDs[i % contactIDs.length] as string },
      total: 10 + (i % 90),
    };
  });
}

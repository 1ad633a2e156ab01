import { Pool } from 'undici';
import { createAiqClient } from '../lib/aiq/client.ts';
import type { RequestObserver } from '../lib/aiq/types.ts';
import type { AccountConfig, Config } from '../lib/config.ts';
import type { Keys } from '../lib/keys.ts';
import type { Logger } from '../lib/logger.ts';
import { createRateBudget } from '../lib/rate-budget.ts';
import type { RateBudget } from '../lib/rate-budget-types.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { AccountServices, Lane } from '../jobs/types.ts';
import { createContactResolver } from './contact-resolver.ts';
import type { AccountRuntime } from './run-job.ts';

/** A RequestObserver that is also told which account made the request. */
export type AccountRequestObserver = (event: Parameters<RequestObserver>[0], account: string) => void;

export interface Account extends AccountRuntime {
  name: string;
  budget: RateBudget;
}

export interface CreateAccountsOptions {
  config: Readonly<Config>;
  /** Worker-role connection, owned by the caller. */
  redis: RedisClient;
  keys: Keys;
  logger: Logger;
  /** Observes every AIQ exchange (metrics), with the name of the account that made it. */
  onResponse?: AccountRequestObserver;
  onBudgetWait?: (account: string, lane: Lane, waitMs: number) => void;
  /** HTTP connections per AIQ origin; default 64. */
  connections?: number;
}

/**
 * Per account: one shared rate budget, one undici Pool, and a client per lane that waits for
 * its lane's share of the budget before every request.
 */
export function createAccounts(options: CreateAccountsOptions): { accounts: Map<string, Account>; close(): Promise<void> } {
  const { config, redis, keys, logger } = options;
  const pools = new Map<string, Pool>();
  const accounts = new Map<string, Account>();

  const poolFor = (baseUrl: string) => {
    const origin = new URL(baseUrl).origin;
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: options.connections ?? 64,
        connectTimeout: config.aiq.connectTimeoutMs,
        headersTimeout: config.aiq.timeoutMs,
        bodyTimeout: config.aiq.timeoutMs,
        keepAliveTimeout: 10_000,
      });
      pools.set(origin, pool);
    }
    return pool;
  };

  for (const account of Object.values(config.aiq.accounts) as AccountConfig[]) {
    const budget = createRateBudget({
      redis,
      keys,
      account: account.name,
      windows: account.rateLimits,
      realtimeReserve: config.aiq.realtimeReserve,
      logger: logger.child({ account: account.name }),
      ...(options.onBudgetWait ? { onWait: (lane: Lane, ms: number) => options.onBudgetWait?.(account.name, lane, ms) } : {}),
    });
    const clientFor = (lane: Lane) =>
      createAiqClient({
        baseUrl: account.baseUrl,
        apiKey: account.apiKey,
        uid: account.uid,
        dispatcher: poolFor(account.baseUrl),
        logger: logger.child({ account: account.name, lane }),
        routes: config.aiq.routes,
        timeoutMs: config.aiq.timeoutMs,
        connectTimeoutMs: config.aiq.connectTimeoutMs,
        beforeRequest: async (_route, signal) => {
          await budget.acquire(lane, signal);
        },
        onResponse: (event) => {
          options.onResponse?.(event, account.name);
          // An answered request was counted by AIQ somewhere within its duration (a 429 is not counted).
          if (typeof event.status === 'number' && event.status !== 429) budget.observeAnswer(event.durationMs);
          if (event.status === 429) {
            // GETs are retried inside the client; the whole account cools down meanwhile.
            void budget.reportRateLimited(event.retryAfterMs).catch(() => undefined);
          }
        },
      });
    const lanes = {} as Record<Lane, AccountServices>;
    for (const lane of ['realtime', 'bulk'] as const) {
      const client = clientFor(lane);
      lanes[lane] = {
        name: account.name,
        client,
        resolver: createContactResolver({ client, redis, keys, account: account.name, ttlS: config.contacts.cacheTtlS }),
      };
    }
    accounts.set(account.name, {
      name: account.name,
      budget,
      lanes,
      reportRateLimited: async (retryAfterMs) => {
        await budget.reportRateLimited(retryAfterMs);
      },
    });
  }

  return {
    accounts,
    close: async () => {
      await Promise.allSettled([...pools.values()].map((p) => p.close()));
    },
  };
}

import { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/**
 * Connection roles (BullMQ's production guide):
 * - `producer`: fails fast, so an HTTP request is answered 503 instead of hanging;
 * - `worker`: waits through reconnects (`maxRetriesPerRequest: null`), for workers and for
 *   blocking readers such as `XREAD BLOCK`.
 */
export type RedisRole = 'producer' | 'worker';

export interface RedisSettings {
  url: string;
  cluster: boolean;
}

export interface CreateRedisOptions {
  role: RedisRole;
  /** Name shown by `CLIENT LIST`. */
  connectionName?: string;
  /** Connect on first command instead of at once; default false. */
  lazyConnect?: boolean;
}

function optionsFor(role: RedisRole, name: string | undefined, lazyConnect: boolean) {
  const base = {
    lazyConnect,
    connectTimeout: 5_000,
    // Reconnect forever with a capped delay: a Redis restart must not need a manual step.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    ...(name === undefined ? {} : { connectionName: name }),
  };
  return role === 'producer'
    ? // A Redis that hangs instead of disconnecting must still give a prompt 503.
      { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 as number | null, commandTimeout: 5_000 }
    : { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null as number | null };
}

/** One connection (or Cluster client) in the given role. The caller owns it and quits it. */
export function createRedis(settings: RedisSettings, options: CreateRedisOptions): RedisClient {
  const redisOptions = optionsFor(options.role, options.connectionName, options.lazyConnect ?? false);
  if (settings.cluster) {
    const seed = new URL(settings.url);
    // Failing fast is the Cluster's own `enableOfflineQueue`. The node connections must queue
    // while they connect: the Cluster sends its ready check (CLUSTER INFO) to a node it has just
    // created, and without a queue that check fails and the client starts over, often for
    // longer than any start-up deadline. Whether nodes connect lazily is the Cluster's choice.
    const { enableOfflineQueue: _fastFail, lazyConnect: _lazy, ...nodeOptions } = redisOptions;
    return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
      redisOptions: {
        ...nodeOptions,
        ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
        ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      },
      enableOfflineQueue: redisOptions.enableOfflineQueue,
      lazyConnect: options.lazyConnect ?? false,
      clusterRetryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    });
  }
  return new Redis(settings.url, redisOptions);
}

/** Resolves once the client is ready; rejects after `timeoutMs`. */
export async function waitForReady(client: RedisClient, timeoutMs = 5_000): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'wait') await client.connect().catch(() => undefined);
  if ((client.status as string) === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** Quits politely, and disconnects if Redis does not answer within `timeoutMs`. */
export async function quitRedis(client: RedisClient, timeoutMs = 2_000): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    if ((client.status as string) !== 'end') client.disconnect();
  }
}

/**
 * Deletes every key under a prefix (the demo's and the tests' cleanup). On a Cluster client it
 * scans every master; a hash-tagged prefix keeps all keys on one of them.
 */
export async function deleteKeysByPrefix(client: RedisClient, prefix: string): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await node.del(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

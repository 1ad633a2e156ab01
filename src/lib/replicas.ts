import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis.ts';

/**
 * Asks Redis to confirm that the writes made so far on a connection have reached its replicas
 * (WAIT): every replica attached to the primary, at most `replicas` of them, so that a failover
 * to one of them cannot lose them. Resolves with true when they confirmed within `timeoutMs`
 * (or when no replica is attached: nothing to fail over to); false when not, or when the
 * question could not be asked.
 *
 * WAIT covers every earlier write of the connection it runs on, so it is sent on the connection
 * that made them: on a Cluster, the one to the master of the deployment's slot (every key of a
 * deployment shares the prefix's hash tag).
 */
export type ConfirmWrites = () => Promise<boolean>;

export interface ReplicaWaitOptions {
  redis: RedisClient;
  /** The deployment's key prefix (its hash tag picks the Cluster slot). */
  prefix: string;
  replicas: number;
  timeoutMs: number;
}

/** CRC16-XMODEM, the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Cluster slot of a key: of its hash tag (the first non-empty `{…}`) when it has one. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(new TextEncoder().encode(key)) % 16384;
}

/** undefined when `replicas` is 0: nothing to wait for. */
export function createConfirmWrites(options: ReplicaWaitOptions): ConfirmWrites | undefined {
  const { redis, prefix, replicas, timeoutMs } = options;
  if (replicas <= 0) return undefined;
  const slot = keySlot(prefix);

  function nodeOfSlot(cluster: Cluster): Redis | undefined {
    const owner = cluster.slots[slot]?.[0];
    return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner);
  }

  // How many replicas the primary has now, read at most once a second: after a failover the
  // promoted replica has none until one is attached again, and waiting for absent replicas
  // would refuse every write meanwhile without protecting anything.
  let attached: { connection: Redis; count: number; at: number } | undefined;
  async function attachedReplicas(connection: Redis): Promise<number> {
    if (attached && attached.connection === connection && Date.now() - attached.at < 1_000) return attached.count;
    const info = await connection.info('replication');
    const count = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
    attached = { connection, count, at: Date.now() };
    return count;
  }

  return async () => {
    try {
      const connection = redis instanceof Cluster ? nodeOfSlot(redis) : redis;
      if (!connection) return false;
      const target = Math.min(replicas, await attachedReplicas(connection));
      if (target === 0) return true;
      const acked = await connection.wait(target, timeoutMs);
      return acked >= target;
    } catch {
      return false;
    }
  };
}

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type StartedRedis } from '../../src/lib/redis-locator.ts';

const run = promisify(execFile);

export interface StartedCluster {
  /** One node's URL: the seed a client is given. */
  seedUrl: string;
  ports: number[];
  /** Every server, masters and replicas (which is which is the cluster's choice). */
  servers: StartedRedis[];
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** `redis-server` */
  serverBinary: string;
  /** `redis-cli` */
  cliBinary: string;
  /** Masters; default 3 (the least Redis accepts). */
  masters?: number;
  /** Replicas of each master; default 0. */
  replicasPerMaster?: number;
  timeoutMs?: number;
}

/** The cluster state as node `port` sees it (`ok` once every slot is served). */
async function clusterState(port: number): Promise<string | undefined> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = String(await r.call('CLUSTER', 'INFO'));
    return /cluster_state:(\w+)/.exec(info)?.[1];
  } catch {
    return undefined;
  } finally {
    r.disconnect();
  }
}

/**
 * A private Redis Cluster of `masters` masters (and their replicas) on free ports (bus ports chosen explicitly, since
 * port + 10 000 may not exist), created with `redis-cli --cluster create` and ready when every
 * node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: StartClusterOptions): Promise<StartedCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'aiq-sync-cluster-'));
  const servers: StartedRedis[] = [];
  const stop = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const replicas = options.replicasPerMaster ?? 0;
    for (let i = 0; i < (options.masters ?? 3) * (1 + replicas); i += 1) {
      const port = await freePort();
      const busPort = await freePort();
      servers.push(
        await startRedisServer({
          binary: options.serverBinary,
          port,
          dir,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-port', String(busPort), '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const ports = servers.map((s) => s.port);
    await run(options.cliBinary, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const states = await Promise.all(ports.map(clusterState));
      if (states.every((s) => s === 'ok')) break;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok (${states.join(', ')})`);
      await sleep(200);
    }
    return { seedUrl: servers[0]!.url, ports, servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type StartedCluster } from '../../bench/lib/redis-cluster.ts';
import { findExecutable, type StartedRedis } from '../../src/lib/redis-locator.ts';
import { createConfirmWrites, keySlot } from '../../src/lib/replicas.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Three masters with a replica each. WAIT must go to the master of the deployment's slot: sent
// anywhere else it would count another master's replicas and confirm nothing.
let cluster: StartedCluster;
let client: Cluster;
const PREFIX = '{wait-test}';
/** The replica of the master that serves PREFIX's slot, and one of another master. */
let ownReplica: StartedRedis;
let otherReplica: StartedRedis;

async function replicationInfo(port: number): Promise<string> {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  try {
    return await r.info('replication');
  } finally {
    r.disconnect();
  }
}

beforeAll(async () => {
  const serverBinary = await findExecutable('redis-server', process.env.PATH);
  const cliBinary = await findExecutable('redis-cli', process.env.PATH);
  if (!serverBinary || !cliBinary) throw new Error('redis-server and redis-cli must be on the PATH');
  cluster = await startRedisCluster({ serverBinary, cliBinary, masters: 3, replicasPerMaster: 1 });
  client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }], { redisOptions: { maxRetriesPerRequest: 1 } });
  await client.set(`${PREFIX}:probe`, '1');
  const owner = client.slots[keySlot(PREFIX)]![0]!;
  const replicas: Array<{ server: StartedRedis; masterPort: number }> = [];
  for (const server of cluster.servers) {
    await waitFor(async () => /role:master|master_link_status:up/.test(await replicationInfo(server.port)), { timeoutMs: 15_000, message: `node ${server.port} is in sync` });
    const info = await replicationInfo(server.port);
    const masterPort = /master_port:(\d+)/.exec(info)?.[1];
    if (/role:slave/.test(info) && masterPort) replicas.push({ server, masterPort: Number(masterPort) });
  }
  ownReplica = replicas.find((r) => `127.0.0.1:${r.masterPort}` === owner)!.server;
  otherReplica = replicas.find((r) => `127.0.0.1:${r.masterPort}` !== owner)!.server;
}, 60_000);

afterAll(async () => {
  for (const s of cluster?.servers ?? []) s.process.kill('SIGCONT');
  client?.disconnect();
  await cluster?.stop();
});

afterEach(() => {
  ownReplica.process.kill('SIGCONT');
  otherReplica.process.kill('SIGCONT');
});

describe('confirming writes on a Redis Cluster', () => {
  it('waits on the master of the deployment’s slot, for that master’s replica', async () => {
    const confirm = createConfirmWrites({ redis: client, prefix: PREFIX, replicas: 1, timeoutMs: 300 })!;
    await client.set(`${PREFIX}:a`, '1');
    expect(await confirm()).toBe(true);

    // Another master's replica stopped: ours still confirms.
    otherReplica.process.kill('SIGSTOP');
    await client.set(`${PREFIX}:b`, '1');
    expect(await confirm()).toBe(true);
    otherReplica.process.kill('SIGCONT');

    // Our master's replica stopped: nothing confirms the write.
    ownReplica.process.kill('SIGSTOP');
    await client.set(`${PREFIX}:c`, '1');
    expect(await confirm()).toBe(false);
    ownReplica.process.kill('SIGCONT');
    expect(await confirm()).toBe(true);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { findExecutable, freePort, startRedisServer, type StartedRedis } from '../../src/lib/redis-locator.ts';
import { keySlot } from '../../src/lib/replicas.ts';
import { createRng, type Rng } from '../../src/simulator/prng.ts';
import { createTraffic, type Traffic } from './chaos-traffic.ts';
import { verifyRun } from './chaos-verify.ts';
import { adjustPointsFaults, createRig, INGRESS_TOKEN, waitForQuiet, waitForTerminal, type Rig } from './chaos-rig.ts';
import { createPosClient, type PosClient } from './pos-client.ts';
import { startRedisCluster, type StartedCluster } from './redis-cluster.ts';

/**
 * The reliability scenarios, shared by the e2e tests (small size) and `npm run chaos` (small or
 * full). Each returns a report; `violations` is empty when every promise held: each transaction
 * applied exactly once with the right value, one terminal event per key, dead letters only for
 * poisoned inputs, nothing accepted and then lost.
 */

export type Size = 'small' | 'full';
export const SCENARIOS = ['chaos', 'redis-restart', 'redis-cluster', 'redis-failover'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioReport {
  scenario: ScenarioName;
  size: Size;
  ok: boolean;
  durationMs: number;
  figures: Record<string, number>;
  violations: string[];
}

export interface ScenarioOptions {
  size: Size;
  /** The Redis of the run (scenarios that need their own start it). */
  redisUrl: string;
  seed?: number;
  /** Progress lines (the runner prints them; tests stay quiet). */
  log?: (line: string) => void;
}

/** Posts every batch in order, with a pause between, calling `at(i)` before batch i. */
async function postAll(client: PosClient, traffic: Traffic, paceMs: number, at: (i: number) => void | Promise<void>): Promise<void> {
  for (const [i, batch] of traffic.batches.entries()) {
    await at(i);
    await client.post(batch);
    await sleep(paceMs);
  }
}

/** SIGKILLs a random worker every `minMs`–`maxMs` and starts a replacement, until stopped. */
function startKiller(rig: Rig, rng: Rng, minMs: number, maxMs: number): { stop(): Promise<void> } {
  const stopper = new AbortController();
  const loop = (async () => {
    while (!stopper.signal.aborted) {
      try {
        await sleep(rng.int(minMs, maxMs), undefined, { signal: stopper.signal });
      } catch {
        return;
      }
      await rig.killWorker(rng.int(0, rig.workers.length - 1));
    }
  })();
  return {
    async stop() {
      stopper.abort();
      await loop;
    },
  };
}

/** AIQ's limit drops to 2/s for `ms`: every worker gets 429s, then it comes back. */
async function rateLimitStorm(rig: Rig, ms: number): Promise<void> {
  rig.sim.control.setLimits([{ limit: 2, windowMs: 1_000 }]);
  await sleep(ms);
  rig.sim.control.setLimits(null);
}

interface Finish {
  rig: Rig;
  traffic: Traffic;
  client: PosClient;
  timeoutMs: number;
  extra?: Record<string, number>;
  violations?: string[];
}

/** Waits for every key's outcome and for AIQ to go quiet, then checks the run. */
async function finish(name: ScenarioName, size: Size, started: number, f: Finish, stopChaos: () => Promise<void> = async () => undefined): Promise<ScenarioReport> {
  const events = await waitForTerminal(f.rig, f.traffic.expected.keys(), f.timeoutMs);
  await stopChaos();
  const quiet = await waitForQuiet(f.rig, 2_500, 60_000);
  const verdict = verifyRun({ expected: f.traffic.expected, accepted: f.client.accepted, ledger: f.rig.sim.control.ledger(), events });
  const violations = [...(f.violations ?? []), ...verdict.violations];
  if (!quiet) violations.push('the points queue never went idle');
  for (const r of f.client.stats.refused) violations.push(`the ingress refused valid traffic: ${r.status} ${r.body}`);
  const health = f.rig.health();
  for (const [pattern, n] of Object.entries(health.matches)) if (n > 0) violations.push(`${n} output line(s) matching ${pattern}`);
  for (const c of health.crashed) violations.push(`a process died on its own: ${c}`);
  const stats = f.rig.sim.control.stats();
  return {
    scenario: name,
    size,
    ok: violations.length === 0,
    durationMs: Date.now() - started,
    figures: {
      ...f.traffic.figures,
      kills: f.rig.counters.kills,
      workerRestarts: f.rig.counters.workerRestarts,
      ingressRestarts: f.rig.counters.ingressRestarts,
      ...f.extra,
      aiqRequests: stats.requests,
      aiq429: stats.rateLimited,
      aiq5xx: Object.entries(stats.byStatus).filter(([s]) => s.startsWith('5')).reduce((a, [, n]) => a + n, 0),
      aiqDropped: stats.byStatus.dropped ?? 0,
      connectionErrors: f.client.stats.connectionErrors,
      answered503: f.client.stats.unavailable,
      accepted: f.client.accepted.size,
      duplicateAnswers: f.client.stats.duplicate,
      ...verdict.figures,
    },
    violations,
  };
}

const CHAOS_SIZES = {
  small: { transactions: 300, batchSize: 25, paceMs: 400, killMs: [2_000, 4_000], storms: [0.5], stormMs: 3_000, unknownAccount: 3, unknownContact: 0, timeoutMs: 120_000 },
  full: { transactions: 2_000, batchSize: 50, paceMs: 300, killMs: [2_000, 5_000], storms: [0.3, 0.7], stormMs: 5_000, unknownAccount: 6, unknownContact: 3, timeoutMs: 420_000 },
} as const;

/**
 * Three workers SIGKILLed at random every few seconds, the ingress restarted once gracefully and
 * once after a SIGKILL, every adjustPoints fault, 429 storms, redeliveries, reversals before their
 * sale, poisoned inputs.
 */
export async function runChaos(options: ScenarioOptions): Promise<ScenarioReport> {
  const started = Date.now();
  const size = CHAOS_SIZES[options.size];
  const rng = createRng(options.seed ?? 42);
  const rig = await createRig({ redisUrl: options.redisUrl, faults: adjustPointsFaults(), personas: 40, workers: 3, seed: options.seed ?? 42 });
  try {
    await rig.startIngress();
    const traffic = createTraffic({ transactions: size.transactions, personas: rig.personas, batchSize: size.batchSize, seed: options.seed ?? 42, unknownAccount: size.unknownAccount, unknownContact: size.unknownContact });
    const client = createPosClient({ url: rig.ingressUrl, token: INGRESS_TOKEN });
    const killer = startKiller(rig, rng, size.killMs[0], size.killMs[1]);
    const background: Array<Promise<void>> = [];
    const n = traffic.batches.length;
    const stormAt = size.storms.map((s) => Math.floor(n * s));
    options.log?.(`chaos: ${traffic.figures.transactions} transactions in ${n} posts`);
    await postAll(client, traffic, size.paceMs, (i) => {
      if (i === Math.floor(n * 0.35)) {
        options.log?.('chaos: restarting the ingress (SIGTERM)');
        background.push(rig.restartIngress('SIGTERM'));
      }
      if (i === Math.floor(n * 0.6)) {
        options.log?.('chaos: crashing the ingress (SIGKILL) and starting it again');
        background.push(rig.restartIngress('SIGKILL'));
      }
      if (stormAt.includes(i)) {
        options.log?.('chaos: 429 storm');
        background.push(rateLimitStorm(rig, size.stormMs));
      }
    });
    await Promise.all(background);
    options.log?.('chaos: everything posted; waiting for every outcome');
    return await finish('chaos', options.size, started, { rig, traffic, client, timeoutMs: size.timeoutMs }, () => killer.stop());
  } finally {
    await rig.close();
  }
}

const RESTART_SIZES = {
  small: { transactions: 200, batchSize: 20, paceMs: 300, outageMs: 5_000, timeoutMs: 120_000 },
  full: { transactions: 1_000, batchSize: 40, paceMs: 300, outageMs: 30_000, timeoutMs: 360_000 },
} as const;

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];

/**
 * A private redis-server with AOF, crashed (SIGKILL) and started again on the same port and
 * directory mid-run, then stopped for a while (the ingress must answer 503 and accept nothing
 * it has not stored) and started again. Workers and ingress recover with no manual step.
 */
export async function runRedisRestart(options: ScenarioOptions): Promise<ScenarioReport> {
  const started = Date.now();
  const size = RESTART_SIZES[options.size];
  const rng = createRng(options.seed ?? 43);
  const binary = await findExecutable('redis-server', process.env.PATH);
  if (binary === null) throw new Error('redis-server is not on the PATH');
  const dir = await mkdtemp(join(tmpdir(), 'aiq-sync-restart-'));
  const port = await freePort();
  const start = () => startRedisServer({ binary, port, dir, args: AOF });
  let server: StartedRedis = await start();
  let rig: Rig | undefined;
  try {
    rig = await createRig({ redisUrl: server.url, faults: adjustPointsFaults(0.5), personas: 30, workers: 2, seed: options.seed ?? 43 });
    await rig.startIngress();
    const traffic = createTraffic({ transactions: size.transactions, personas: rig.personas, batchSize: size.batchSize, seed: options.seed ?? 43, unknownAccount: 2 });
    const client = createPosClient({ url: rig.ingressUrl, token: INGRESS_TOKEN });
    const n = traffic.batches.length;
    let redisRestarts = 0;
    let outage: Promise<void> | undefined;
    let outageBefore = 0;
    let readyzDuringOutage = 0;
    let crash: Promise<void> | undefined;
    await postAll(client, traffic, size.paceMs, async (i) => {
      if (i === Math.floor(n * 0.3)) {
        // While a batch is being posted and jobs are in flight.
        crash = (async () => {
          await sleep(rng.int(0, 50));
          options.log?.('redis-restart: crashing Redis (SIGKILL) and starting it again');
          server.process.kill('SIGKILL');
          await server.stop();
          server = await start();
          redisRestarts += 1;
        })();
      }
      if (i === Math.floor(n * 0.3) + 1) await crash;
      if (i === Math.floor(n * 0.6)) {
        options.log?.(`redis-restart: Redis down for ${size.outageMs} ms`);
        await server.stop();
        outageBefore = client.stats.unavailable;
        outage = (async () => {
          readyzDuringOutage = await fetch(`${rig!.ingressUrl}/readyz`).then((r) => r.status, () => 0);
          await sleep(size.outageMs);
          server = await start();
          redisRestarts += 1;
          options.log?.('redis-restart: Redis is back');
        })();
      }
    });
    await outage;
    const violations: string[] = [];
    const answered503 = client.stats.unavailable - outageBefore;
    if (answered503 === 0) violations.push('the ingress never answered 503 while Redis was down');
    if (readyzDuringOutage !== 503) violations.push(`/readyz answered ${readyzDuringOutage} while Redis was down, not 503`);
    return await finish('redis-restart', options.size, started, { rig, traffic, client, timeoutMs: size.timeoutMs, extra: { redisRestarts, outageMs: size.outageMs, answered503DuringOutage: answered503 }, violations });
  } finally {
    await rig?.close({ keepKeys: true });
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const CLUSTER_SIZES = {
  small: { transactions: 100, batchSize: 20, paceMs: 200, timeoutMs: 90_000 },
  full: { transactions: 600, batchSize: 40, paceMs: 200, timeoutMs: 240_000 },
} as const;

/** Starts the scenario's three-master cluster from the redis-server and redis-cli on the PATH. */
export async function startScenarioCluster(replicasPerMaster = 0): Promise<StartedCluster> {
  const serverBinary = await findExecutable('redis-server', process.env.PATH);
  const cliBinary = await findExecutable('redis-cli', process.env.PATH);
  if (serverBinary === null || cliBinary === null) throw new Error('redis-server and redis-cli must be on the PATH');
  return startRedisCluster({ serverBinary, cliBinary, replicasPerMaster });
}

/**
 * The exactly-once scenario on a three-master Redis Cluster, with one worker SIGKILLed. Uses
 * `cluster` when given (and leaves it running), else starts and stops its own.
 */
export async function runRedisCluster(options: ScenarioOptions & { cluster?: StartedCluster }): Promise<ScenarioReport> {
  const started = Date.now();
  const size = CLUSTER_SIZES[options.size];
  const cluster = options.cluster ?? (await startScenarioCluster());
  let rig: Rig | undefined;
  try {
    rig = await createRig({ redisUrl: cluster.seedUrl, cluster: true, faults: adjustPointsFaults(0.5), personas: 20, workers: 2, seed: options.seed ?? 44 });
    await rig.startIngress();
    const traffic = createTraffic({ transactions: size.transactions, personas: rig.personas, batchSize: size.batchSize, seed: options.seed ?? 44, unknownAccount: 1 });
    const client = createPosClient({ url: rig.ingressUrl, token: INGRESS_TOKEN });
    const r = rig;
    const half = Math.floor(traffic.figures.transactions / 2);
    const kill = (async () => {
      const deadline = Date.now() + size.timeoutMs;
      while (r.sim.control.ledger().length < half && Date.now() < deadline) await sleep(100);
      options.log?.('redis-cluster: SIGKILL of a worker');
      await r.killWorker(0);
    })();
    await postAll(client, traffic, size.paceMs, () => undefined);
    await kill;
    return await finish('redis-cluster', options.size, started, { rig, traffic, client, timeoutMs: size.timeoutMs, extra: { clusterMasters: cluster.ports.length } });
  } finally {
    await rig?.close({ keepKeys: options.cluster === undefined });
    if (options.cluster === undefined) await cluster.stop();
  }
}

const FAILOVER_SIZES = {
  small: { transactions: 200, batchSize: 20, paceMs: 200, timeoutMs: 120_000 },
  full: { transactions: 1_000, batchSize: 40, paceMs: 200, timeoutMs: 300_000 },
} as const;

/**
 * A Cluster of three masters with a replica each, `REDIS_WAIT_REPLICAS=1`; a third of the way
 * in, the master of the deployment's slot is SIGKILLed and the cluster promotes its replica
 * (cluster-node-timeout 5 s). The ingress answers 503 meanwhile; the workers carry on once the
 * replica serves the slot; nothing acknowledged may be lost and nothing credited twice.
 */
export async function runRedisFailover(options: ScenarioOptions): Promise<ScenarioReport> {
  const started = Date.now();
  const size = FAILOVER_SIZES[options.size];
  const cluster = await startScenarioCluster(1);
  let rig: Rig | undefined;
  const probe = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }], { redisOptions: { maxRetriesPerRequest: 1 } });
  probe.on('error', () => undefined);
  try {
    rig = await createRig({
      redisUrl: cluster.seedUrl,
      cluster: true,
      env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '500' },
      faults: adjustPointsFaults(0.5),
      personas: 20,
      workers: 2,
      seed: options.seed ?? 45,
    });
    await rig.startIngress();
    const traffic = createTraffic({ transactions: size.transactions, personas: rig.personas, batchSize: size.batchSize, seed: options.seed ?? 45, unknownAccount: 1 });
    const client = createPosClient({ url: rig.ingressUrl, token: INGRESS_TOKEN });
    await probe.set(`${rig.prefix}:probe`, '1');
    const owner = probe.slots[keySlot(rig.prefix)]?.[0];
    const master = cluster.servers.find((s) => `127.0.0.1:${s.port}` === owner);
    if (!master) throw new Error(`no server is the master of the deployment's slot (${owner ?? 'unknown'})`);
    const r = rig;
    const third = Math.floor(traffic.figures.transactions / 3);
    const failover = (async () => {
      const deadline = Date.now() + size.timeoutMs;
      while (r.sim.control.ledger().length < third && Date.now() < deadline) await sleep(100);
      options.log?.(`redis-failover: SIGKILL of the slot's master (port ${master.port})`);
      master.process.kill('SIGKILL');
    })();
    await postAll(client, traffic, size.paceMs, () => undefined);
    await failover;
    return await finish('redis-failover', options.size, started, { rig, traffic, client, timeoutMs: size.timeoutMs, extra: { clusterMasters: 3, replicasPerMaster: 1, failovers: 1 } });
  } finally {
    probe.disconnect();
    await rig?.close({ keepKeys: true });
    await cluster.stop();
  }
}

export const RUNNERS: Record<ScenarioName, (options: ScenarioOptions) => Promise<ScenarioReport>> = {
  chaos: runChaos,
  'redis-restart': runRedisRestart,
  'redis-cluster': runRedisCluster,
  'redis-failover': runRedisFailover,
};

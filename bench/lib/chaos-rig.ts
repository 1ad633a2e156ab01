import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { createEventStream, type EventStream, type ResultEvent } from '../../src/lib/events.ts';
import { createKeys } from '../../src/lib/keys.ts';
import { createRedis, quitRedis, type RedisClient } from '../../src/lib/redis.ts';
import { freePort } from '../../src/lib/redis-locator.ts';
import { createSimulator, type FaultRule, type Simulator } from '../../src/simulator/index.ts';
import type { Persona } from './chaos-traffic.ts';
import { spawnAiqSync, type ManagedProcess } from './chaos-processes.ts';

/**
 * A deployment for one scenario: the simulator in this process, `aiq-sync worker` and
 * `aiq-sync ingress` as separate processes on a fresh key prefix, and a connection that
 * watches the result events and the points queue.
 */

export const INGRESS_TOKEN = 'chaos-pos-token';
const API_KEY = 'chaos-key';
const UID = '1234';

/** Output patterns that are a violation wherever they appear. */
export const WATCHED = {
  crossslot: /CROSSSLOT/,
  fatal: /"level":60|Uncaught|UnhandledPromiseRejection|unhandled rejection/i,
} as const;

/** Every adjustPoints fault kind of the simulator, at rates a bad day could bring. */
export function adjustPointsFaults(scale = 1): FaultRule[] {
  return [
    { route: 'adjustPoints', kind: 'error5xx', probability: 0.05 * scale, status: 503 },
    { route: 'adjustPoints', kind: 'applyThenDrop', probability: 0.04 * scale },
    // Applied at once, answered after the client gave up (AIQ_TIMEOUT_MS is 1 000).
    { route: 'adjustPoints', kind: 'applyThenLate', probability: 0.03 * scale, latencyMs: 1_500 },
    { route: 'adjustPoints', kind: 'latency', probability: 0.1 * scale, latencyMs: 300 },
    { route: 'adjustPoints', kind: 'latency', probability: 0.05 * scale, latencyMs: 1_300 },
  ];
}

export interface RigOptions {
  redisUrl: string;
  cluster?: boolean;
  faults: FaultRule[];
  personas: number;
  workers: number;
  seed?: number;
  /** Extra or overriding environment for the workers. */
  workerEnv?: Record<string, string>;
  /** Extra environment for the workers and the ingress. */
  env?: Record<string, string>;
}

export interface Rig {
  sim: Simulator;
  prefix: string;
  personas: Persona[];
  ingressUrl: string;
  /** The workers running now (a killed one is replaced at its index). */
  workers: ManagedProcess[];
  ingress: ManagedProcess | undefined;
  events: EventStream;
  points: Queue;
  /** Environment of the worker processes (for CLI commands against the same deployment). */
  workerEnv: Record<string, string>;
  counters: { kills: number; workerRestarts: number; ingressRestarts: number };
  /** SIGKILLs worker `index` and starts a replacement. */
  killWorker(index: number): Promise<void>;
  startIngress(): Promise<void>;
  /**
   * Stops the ingress (SIGTERM: a graceful drain; SIGKILL: a crash, possibly between a request's
   * ledger write and its queue add) and starts a new one on the same port.
   */
  restartIngress(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Every process this rig started, stopped ones included. */
  processes(): ManagedProcess[];
  /** Sums of the watched patterns over every process's output, and the processes that died on their own. */
  health(): { matches: Record<string, number>; crashed: string[] };
  close(options?: { keepKeys?: boolean }): Promise<void>;
}

async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One slot per prefix (its hash tag), so one DEL per page works on a Cluster node too.
      if (keys.length > 0) await node.del(...keys);
    } while (cursor !== '0');
  }
}

export async function createRig(options: RigOptions): Promise<Rig> {
  const sim = await createSimulator({ apiKey: API_KEY, uid: UID, randomSeed: options.seed ?? 7, faults: options.faults });
  const personas: Persona[] = Array.from({ length: options.personas }, (_, i) => {
    const phone = `41555${String(10_000 + i).padStart(5, '0')}`;
    return { phone, contactID: sim.control.addPersona({ mobilePhone: phone, loyaltyPoints: 0 }).contactID };
  });
  const prefix = `{chaos-${randomUUID()}}`;
  const ingressPort = await freePort();
  const ingressUrl = `http://127.0.0.1:${ingressPort}`;
  const common: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    REDIS_CLUSTER: options.cluster ? '1' : '0',
    SYNC_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const workerEnv: Record<string, string> = {
    ...common,
    AIQ_BASE_URL: sim.url,
    AIQ_API_KEY: API_KEY,
    AIQ_UID: UID,
    AIQ_RATE_LIMITS: '200/s',
    AIQ_TIMEOUT_MS: '1000',
    WORKER_CONCURRENCY: '16',
    WORKER_LOCK_DURATION_MS: '3000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    WORKER_SHUTDOWN_TIMEOUT_MS: '2000',
    WORKER_WATCHDOG_INTERVAL_MS: '5000',
    IDEMPOTENCY_LEASE_MS: '2000',
    // Long enough for a return to outwait its sale's retries; a poisoned job never waits on it.
    CONTACT_RETRY_HOURS: '0.1',
    ...options.workerEnv,
  };
  const ingressEnv: Record<string, string> = { ...common, INGRESS_TOKENS: INGRESS_TOKEN, INGRESS_PORT: String(ingressPort) };

  const observer = createRedis({ url: options.redisUrl, cluster: options.cluster ?? false }, { role: 'worker', connectionName: 'chaos:observer' });
  observer.on('error', () => undefined);
  const events = createEventStream({ redis: observer, keys: createKeys(prefix) });
  const points = new Queue('points', { connection: observer, prefix });
  points.on('error', () => undefined);

  const all: ManagedProcess[] = [];
  const counters = { kills: 0, workerRestarts: 0, ingressRestarts: 0 };
  let generation = 0;
  const spawnWorker = (index: number) => {
    const p = spawnAiqSync(`worker-${index}.${generation++}`, ['worker', '--queues', 'points'], workerEnv, { watch: WATCHED });
    all.push(p);
    return p;
  };
  const workers = Array.from({ length: options.workers }, (_, i) => spawnWorker(i));

  const rig: Rig = {
    sim,
    prefix,
    personas,
    ingressUrl,
    workers,
    ingress: undefined,
    events,
    points,
    workerEnv,
    counters,
    async killWorker(index) {
      const victim = workers[index];
      if (!victim) return;
      await victim.stop('SIGKILL');
      counters.kills += 1;
      workers[index] = spawnWorker(index);
      counters.workerRestarts += 1;
    },
    async startIngress() {
      const p = spawnAiqSync(`ingress.${generation++}`, ['ingress'], ingressEnv, { watch: WATCHED });
      all.push(p);
      rig.ingress = p;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const up = await fetch(`${ingressUrl}/healthz`).then((r) => r.ok, () => false);
        if (up) return;
        if (p.crashed() || Date.now() > deadline) throw new Error(`the ingress did not start:\n${p.tail()}`);
        await sleep(100);
      }
    },
    async restartIngress(signal) {
      await rig.ingress?.stop(signal);
      counters.ingressRestarts += 1;
      await rig.startIngress();
    },
    processes: () => [...all],
    health() {
      const matches: Record<string, number> = {};
      for (const p of all) for (const [k, n] of Object.entries(p.matches())) matches[k] = (matches[k] ?? 0) + n;
      return { matches, crashed: all.filter((p) => p.crashed()).map((p) => `${p.name}:\n${p.tail(15)}`) };
    },
    async close(closeOptions = {}) {
      await Promise.allSettled(all.map((p) => p.stop('SIGKILL')));
      await sim.close();
      await points.close().catch(() => undefined);
      if (!closeOptions.keepKeys) await deletePrefix(observer, prefix).catch(() => undefined);
      await quitRedis(observer);
    },
  };
  return rig;
}

/** Terminal events so far, by key (points queue). */
export function terminalKeys(events: readonly ResultEvent[]): Set<string> {
  return new Set(events.filter((e) => e.queue === 'points').map((e) => e.key));
}

/** Polls the event stream until every key has a terminal event; returns the events either way. */
export async function waitForTerminal(rig: Rig, keys: Iterable<string>, timeoutMs: number): Promise<ResultEvent[]> {
  const wanted = [...keys];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await rig.events.readAll();
    const done = terminalKeys(events);
    if (wanted.every((k) => done.has(k)) || Date.now() > deadline) return events;
    await sleep(500);
  }
}

/**
 * Waits until the points queue is idle and AIQ has seen no request for `quietMs` (longer than
 * the settle window), so an application that would come late is in the simulator's ledger
 * before the check.
 */
export async function waitForQuiet(rig: Rig, quietMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = rig.sim.control.stats().requests;
  let since = Date.now();
  for (;;) {
    const counts = await rig.points.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'waiting-children');
    const busy = Object.values(counts).reduce((a, b) => a + b, 0) > 0;
    const requests = rig.sim.control.stats().requests;
    if (busy || requests !== last) {
      last = requests;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return true;
    }
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

// `node --import tsx bench/soak.ts [--minutes 30] [--limits 20/s] [--load 0.6] [--out FILE]`
//
// Runs the pipeline for a long while at its rate budget with AIQ faults on (the ingress and two
// workers as processes, the simulator in this process), samples the resident memory of every
// process every 10 s, and checks that memory stays flat: the median of the last quarter of the
// run within +20 % of the median of the second quarter (the first quarter is warm-up). At the end
// it also checks the run like the chaos scenarios (each transaction applied exactly once).
// `--load` is the share of the budget posted as transactions: a transaction costs about 1.35
// requests with the faults on (reconciliations, retries, look-ups), so 0.6 keeps the budget busy
// without a backlog that grows for ever.
// Writes bench/results/soak-<date>.json and exits 1 when memory grew or a promise was broken.
import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseRateLimits } from '../src/lib/config.ts';
import { createRedis, quitRedis } from '../src/lib/redis.ts';
import { locateRedis } from '../src/lib/redis-locator.ts';
import { adjustPointsFaults, createRig, INGRESS_TOKEN, waitForQuiet, waitForTerminal } from './lib/chaos-rig.ts';
import { createTraffic, type Expectation } from './lib/chaos-traffic.ts';
import { verifyRun } from './lib/chaos-verify.ts';
import { createPosClient } from './lib/pos-client.ts';
import { rssKiB } from './lib/chaos-processes.ts';

const SAMPLE_EVERY_MS = 10_000;
const CHUNK_MS = 10_000;
const MAX_GROWTH = 0.2;

function usage(message: string): never {
  process.stderr.write(`soak: ${message}\nusage: node --import tsx bench/soak.ts [--minutes N] [--limits 20/s] [--load 0.6] [--out FILE]\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    limits: { type: 'string', default: process.env.AIQ_RATE_LIMITS ?? '20/s' },
    load: { type: 'string', default: '0.6' },
    out: { type: 'string' },
  },
  strict: true,
});
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) usage('--minutes must be a positive number');
const load = Number(values.load);
if (!Number.isFinite(load) || load <= 0 || load > 2) usage('--load must be a number in (0, 2]');
let windows;
try {
  windows = parseRateLimits(values.limits);
} catch (err) {
  usage(`--limits: ${(err as Error).message}`);
}
// What the budget sustains: the tightest window's rate.
const budgetPerS = Math.min(...windows.map((w) => (w.limit * 1000) / w.windowMs));
const txPerS = budgetPerS * load;
const log = (line: string) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Sample {
  /** Seconds since the start. */
  t: number;
  /** Resident set size per process, KiB. */
  rssKiB: Record<string, number>;
  redisUsedMemory: number;
  /** Jobs waiting, delayed or active in the points queue. */
  backlog: number;
  applied: number;
}

const redisLocated = await locateRedis({ url: process.env.REDIS_URL, path: process.env.PATH });
const rig = await createRig({
  redisUrl: redisLocated.url,
  faults: adjustPointsFaults(),
  personas: 200,
  workers: 2,
  seed: 11,
  workerEnv: { AIQ_RATE_LIMITS: values.limits, WORKER_CONCURRENCY: '16' },
});
rig.sim.control.setLimits(windows);
const info = createRedis({ url: redisLocated.url, cluster: false }, { role: 'worker', connectionName: 'soak:info' });
info.on('error', () => undefined);
const samples: Sample[] = [];
const expected = new Map<string, Expectation>();
let ok = false;
const outPath = values.out ?? `bench/results/soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
try {
  await rig.startIngress();
  const client = createPosClient({ url: rig.ingressUrl, token: INGRESS_TOKEN });
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  log(`soak: ${minutes} min at ${values.limits} (${budgetPerS}/s), posting ${txPerS.toFixed(1)} transactions/s, faults on`);

  const sampler = (async () => {
    while (Date.now() < endAt) {
      const rss: Record<string, number> = {};
      const procs = [['ingress', rig.ingress?.pid], ...rig.workers.map((w, i) => [`worker-${i}`, w.pid] as const), ['soak (simulator, client)', process.pid]] as const;
      for (const [name, pid] of procs) {
        const kib = pid === undefined ? undefined : await rssKiB(pid);
        if (kib !== undefined) rss[name] = kib;
      }
      const memory = /used_memory:(\d+)/.exec(await info.info('memory'))?.[1];
      const counts = await rig.points.getJobCounts('wait', 'delayed', 'active', 'prioritized');
      const sample: Sample = {
        t: Math.round((Date.now() - started) / 1000),
        rssKiB: rss,
        redisUsedMemory: Number(memory ?? 0),
        backlog: Object.values(counts).reduce((a, b) => a + b, 0),
        applied: rig.sim.control.ledger().length,
      };
      samples.push(sample);
      log(`t=${sample.t}s rss MiB ${Object.entries(rss).map(([k, v]) => `${k}=${(v / 1024).toFixed(0)}`).join(' ')} backlog=${sample.backlog} applied=${sample.applied}`);
      await sleep(SAMPLE_EVERY_MS);
    }
  })();

  for (let chunk = 0; Date.now() < endAt; chunk += 1) {
    const chunkStart = Date.now();
    const traffic = createTraffic({
      transactions: Math.max(20, Math.round((txPerS * CHUNK_MS) / 1000)),
      personas: rig.personas,
      batchSize: 20,
      seed: 1000 + chunk,
      source: `soak-${chunk}`,
      unknownAccount: chunk % 6 === 0 ? 1 : 0,
    });
    for (const [k, v] of traffic.expected) expected.set(k, v);
    const gap = CHUNK_MS / traffic.batches.length;
    for (const [i, batch] of traffic.batches.entries()) {
      await client.post(batch);
      const next = chunkStart + (i + 1) * gap;
      if (next > Date.now()) await sleep(next - Date.now());
    }
  }
  await sampler;
  log(`soak: posting stopped after ${expected.size} transactions; draining`);
  const events = await waitForTerminal(rig, expected.keys(), 10 * 60_000);
  await waitForQuiet(rig, 2_500, 120_000);
  const verdict = verifyRun({ expected, accepted: client.accepted, ledger: rig.sim.control.ledger(), events });

  // Memory: last quarter against the second quarter, per process of ours.
  const quarter = Math.floor(samples.length / 4);
  const memory: Record<string, { q2MedianMiB: number; q4MedianMiB: number; growth: number; flat: boolean; checked: boolean }> = {};
  const names = new Set(samples.flatMap((s) => Object.keys(s.rssKiB)));
  for (const name of names) {
    const series = (from: number, to: number) => samples.slice(from, to).map((s) => s.rssKiB[name]).filter((v): v is number => v !== undefined);
    const q2 = median(series(quarter, 2 * quarter));
    const q4 = median(series(samples.length - quarter, samples.length));
    const growth = q4 / q2 - 1;
    // The soak process holds the simulator, whose ledger grows with every write by design.
    const checked = !name.startsWith('soak');
    memory[name] = { q2MedianMiB: Math.round(q2 / 102.4) / 10, q4MedianMiB: Math.round(q4 / 102.4) / 10, growth: Math.round(growth * 1000) / 1000, flat: growth <= MAX_GROWTH, checked };
  }
  const flat = quarter >= 1 && Object.values(memory).every((m) => !m.checked || m.flat);
  const health = rig.health();
  const violations = [
    ...verdict.violations,
    ...Object.entries(health.matches).filter(([, n]) => n > 0).map(([k, n]) => `${n} output line(s) matching ${k}`),
    ...health.crashed.map((c) => `a process died on its own: ${c}`),
    ...(quarter >= 1 ? [] : ['too few samples to judge memory (run at least 1 minute)']),
    ...Object.entries(memory).filter(([, m]) => m.checked && !m.flat).map(([k, m]) => `${k}: memory grew ${(m.growth * 100).toFixed(1)} % (${m.q2MedianMiB} → ${m.q4MedianMiB} MiB)`),
  ];
  ok = violations.length === 0 && flat;
  const stats = rig.sim.control.stats();
  const result = {
    ok,
    startedAt: new Date(started).toISOString(),
    minutes,
    limits: values.limits,
    postedPerS: txPerS,
    sampleEveryMs: SAMPLE_EVERY_MS,
    memory,
    figures: {
      transactions: expected.size,
      aiqRequests: stats.requests,
      aiq429: stats.rateLimited,
      aiq5xx: Object.entries(stats.byStatus).filter(([s]) => s.startsWith('5')).reduce((a, [, n]) => a + n, 0),
      aiqDropped: stats.byStatus.dropped ?? 0,
      ...verdict.figures,
      redisUsedMemoryStartMiB: Math.round((samples[0]?.redisUsedMemory ?? 0) / 1_048_576),
      redisUsedMemoryEndMiB: Math.round((samples[samples.length - 1]?.redisUsedMemory ?? 0) / 1_048_576),
      maxBacklog: Math.max(0, ...samples.map((s) => s.backlog)),
    },
    violations,
    samples,
  };
  await mkdir('bench/results', { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  const { samples: _omit, ...summary } = result;
  process.stdout.write(`${JSON.stringify({ ...summary, file: outPath }, null, 2)}\n`);
} finally {
  await quitRedis(info);
  await rig.close();
  await redisLocated.stop();
}
process.exitCode = ok ? 0 : 1;

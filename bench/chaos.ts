// `npm run chaos [-- --size small|full] [--scenario chaos,redis-restart,redis-cluster,redis-failover]`
// Runs the reliability scenarios (the same code as the e2e tests), prints a JSON summary on
// stdout and exits 1 when any promise was broken (2 on bad flags).
import { parseArgs } from 'node:util';
import { locateRedis } from '../src/lib/redis-locator.ts';
import { RUNNERS, SCENARIOS, type ScenarioName, type ScenarioReport, type Size } from './lib/chaos-scenarios.ts';

function usage(message: string): never {
  process.stderr.write(`chaos: ${message}\nusage: npm run chaos -- [--size small|full] [--scenario ${SCENARIOS.join(',')}] [--seed N]\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'full' },
    scenario: { type: 'string', multiple: true },
    seed: { type: 'string' },
  },
  strict: true,
});
const size = values.size as Size;
if (size !== 'small' && size !== 'full') usage(`--size must be small or full (got "${values.size}")`);
const names = (values.scenario ?? [SCENARIOS.join(',')]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
const unknown = names.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
if (unknown.length > 0) usage(`unknown scenario(s) ${unknown.join(', ')}`);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed)) usage('--seed must be a whole number');

const redis = await locateRedis({ url: process.env.REDIS_URL, path: process.env.PATH });
const log = (line: string) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`);
const reports: ScenarioReport[] = [];
const errors: Array<{ scenario: string; error: string }> = [];
try {
  for (const name of names as ScenarioName[]) {
    log(`${name} (${size}) starting`);
    try {
      const report = await RUNNERS[name]({ size, redisUrl: redis.url, log, ...(seed === undefined ? {} : { seed }) });
      reports.push(report);
      log(`${name}: ${report.ok ? 'held' : `${report.violations.length} violation(s)`} in ${Math.round(report.durationMs / 1000)} s`);
    } catch (err) {
      errors.push({ scenario: name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      log(`${name}: could not run: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
} finally {
  await redis.stop();
}
const ok = errors.length === 0 && reports.every((r) => r.ok);
process.stdout.write(`${JSON.stringify({ ok, size, at: new Date().toISOString(), reports, errors }, null, 2)}\n`);
process.exitCode = ok ? 0 : 1;
